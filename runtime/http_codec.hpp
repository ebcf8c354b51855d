#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace expd::runtime {

/// Bounds that keep one connection's memory small whatever a client sends.
struct http_limits {
  std::size_t max_header_bytes = 16 * 1024; ///< request line + headers
  std::size_t max_body_bytes = 1024 * 1024; ///< after de-chunking
};

/// One complete HTTP/1.x request.
struct http_request {
  std::string method; ///< "GET", "POST", ...
  std::string path;   ///< "/v1/assign", percent-encoding left as sent
  std::string query;  ///< after '?', without it; empty when absent
  std::vector<std::pair<std::string, std::string>> headers; ///< names lower-cased
  std::string body;
  bool keep_alive = true; ///< HTTP/1.1 default, HTTP/1.0 only with keep-alive

  /// The value of header `name` (lower-case), or nullptr.
  const std::string* header(std::string_view name) const;
};

/// Why a byte stream is not a request we accept. After an error the connection
/// answers `status` and closes: the stream position is no longer trustworthy.
struct http_error {
  int status = 400;    ///< 400 malformed, 413 body too large, 431 headers too large,
                       ///< 501 a transfer coding other than chunked
  std::string message; ///< for the JSON error body
};

/// Incremental HTTP/1.1 request parser over nodejs http-parser, read as strictly as
/// RFC 9112 allows (no obs-fold, chunked the only transfer coding, chunked bodies
/// decoded by a strict decoder of its own): framing that two parsers could read two
/// ways is an error. Feed it bytes as they arrive; it yields complete requests,
/// including pipelined ones, in order.
class http_request_parser {
public:
  explicit http_request_parser(http_limits limits = {});
  ~http_request_parser();
  http_request_parser(http_request_parser&&) noexcept;
  http_request_parser& operator=(http_request_parser&&) noexcept;

  /// Consumes `data`. Complete requests are appended to `out`. Returns false on a
  /// protocol or limit error, after which `error()` says what to answer and the
  /// parser accepts nothing more.
  bool feed(std::string_view data, std::vector<http_request>& out);

  const http_error& error() const noexcept;

  /// True while a request has started but not finished (used for slow-client
  /// deadlines: an idle keep-alive connection is not a slow one).
  bool mid_request() const noexcept;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// One response. Content-Length is set except on 1xx, 204 and 304 (which carry no
/// body); bodies are never chunked.
struct http_response {
  int status = 200;
  std::string_view content_type = "application/json"; ///< not owned: a literal or an asset's
  std::string body;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  bool keep_alive = true;
};

/// Appends the wire form of `response` to `out`.
void append_http_response(std::string& out, const http_response& response);

/// The standard reason phrase for `status` ("OK", "Not Found", ...).
std::string_view http_reason(int status);

} // namespace expd::runtime

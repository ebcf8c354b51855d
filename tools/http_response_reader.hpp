#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

// The HTTP/1.1 response reader of expctl load: incremental over whatever a read()
// returned, it keeps the status line and headers only until they are parsed and counts
// body bytes without copying them. Framing: Content-Length, or the body runs to the
// close (1xx are skipped, 204 and 304 have none); Transfer-Encoding is refused (expd
// does not send it). Keep-alive as HTTP/1.1 defines it, "Connection: close" ends it.
namespace expd::tools {

class http_response_reader {
public:
  enum class result { need_more, complete, malformed };

  /// Reads from `data`; `*used` is how many bytes of it belong to this response (the
  /// rest is the start of another, which a client that does not pipeline never gets).
  result feed(const char* data, std::size_t size, std::size_t* used);

  /// The peer closed: completes a response whose body runs to the close; otherwise
  /// malformed when a response had begun, need_more when none had.
  result feed_eof();

  /// Ready for the next response on the same connection.
  void reset();

  /// Whether any byte of a response has arrived since reset().
  bool started() const noexcept {
    return started_;
  }
  int status() const noexcept {
    return status_;
  }
  bool keep_alive() const noexcept {
    return keep_alive_;
  }
  /// Why the last result was malformed.
  const std::string& error() const noexcept {
    return error_;
  }

  static constexpr std::size_t max_head_bytes = 64 * 1024;

private:
  result parse_head(const char* head, std::size_t size);
  result fail(std::string why);

  std::string head_; // a head that arrived in pieces, until its blank line
  bool started_ = false;
  bool in_body_ = false;
  bool body_to_close_ = false;
  std::uint64_t body_left_ = 0;
  int status_ = 0;
  bool keep_alive_ = true;
  std::string error_;
};

} // namespace expd::tools

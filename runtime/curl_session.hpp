#pragma once

#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace expd::runtime {

/// One HTTP request as the S3 store and the MLflow client send it.
struct curl_request {
  std::string method; ///< GET, PUT, POST, DELETE, ...
  std::string url;
  std::vector<std::string> headers;    ///< "Name: value" lines
  std::optional<std::string_view> body; ///< nullopt: none (not even Content-Length: 0)
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{120000}; ///< the whole request, body included
  bool path_as_is = false; ///< send "/./" and "/../" unfolded (a signed path)
};

struct curl_reply {
  long status = 0;
  std::string body;
};

/// A libcurl easy handle kept between requests, so the connection stays open. Blocking;
/// not thread-safe.
class curl_session {
public:
  /// Throws std::runtime_error when curl cannot make a handle.
  curl_session();
  ~curl_session();
  curl_session(const curl_session&) = delete;
  curl_session& operator=(const curl_session&) = delete;

  /// The answer, whatever its status; nullopt when none came, with curl's reason in
  /// `error` (refused, reset, timed out, bad URL).
  std::optional<curl_reply> perform(const curl_request& request, std::string& error);

  /// Sleeps before try `attempt` (2, 3, ...): `backoff` doubled per try, with jitter, so
  /// clients that failed together retry apart.
  void wait_before_try(int attempt, std::chrono::milliseconds backoff);

private:
  void* curl_; ///< CURL*
  std::minstd_rand jitter_;
};

} // namespace expd::runtime

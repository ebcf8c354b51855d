#pragma once

#include <chrono>

#include "core/sigv4.hpp"
#include "runtime/curl_session.hpp"
#include "runtime/object_store.hpp"

namespace expd::runtime {

struct s3_config {
  std::string bucket;
  std::string endpoint; ///< "http://127.0.0.1:59000"; on AWS "https://s3.<region>.amazonaws.com"
  std::string region = "us-east-1";
  core::sigv4_credentials credentials;
  int max_keys = 1000; ///< keys per ListObjectsV2 page (S3's own maximum)
  int attempts = 4;    ///< tries per request when the connection fails or S3 answers 5xx
  std::chrono::milliseconds backoff{200}; ///< before the second try; doubles, with jitter
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{120000}; ///< one whole request, body included
};

/// Reads `s3://bucket?endpoint=URL&region=R` (both optional: AWS itself and us-east-1)
/// and the credentials in AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
/// Throws object_store_error naming what is wrong or missing.
s3_config s3_config_from_url(const std::string& url);

/// Objects in one S3 bucket, path-style (endpoint/bucket/key), each request signed with
/// SigV4 and its body hashed into the signature. Keeps one connection open between
/// requests; not thread-safe.
class s3_object_store final : public object_store {
public:
  explicit s3_object_store(s3_config config);
  ~s3_object_store() override;
  s3_object_store(const s3_object_store&) = delete;
  s3_object_store& operator=(const s3_object_store&) = delete;

  void put(const std::string& key, std::string_view body) override;
  std::optional<std::string> get(const std::string& key) override;
  std::vector<std::string> list(const std::string& prefix) override;
  void remove(const std::string& key) override;
  std::string describe() const override;

private:
  struct reply {
    long status = 0;
    std::string body;
  };

  /// Sends one request, again after transport errors and 5xx while tries are left.
  /// Throws object_store_error when none got an answer below 500.
  reply send(const std::string& method, const std::string& key,
             const std::vector<std::pair<std::string, std::string>>& query, std::string_view body,
             const std::string& what);
  /// Throws object_store_error with S3's error code and message.
  [[noreturn]] void fail(const std::string& what, const reply& r) const;

  s3_config config_;
  std::string host_; ///< the Host header, signed and sent: "127.0.0.1:59000"
  curl_session curl_;
};

} // namespace expd::runtime

#pragma once

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace expd::runtime {

struct object_store_error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Where event archives go: a bucket of objects named by '/'-separated keys. Blocking;
/// one instance per thread, held by a detached actor.
class object_store {
public:
  virtual ~object_store() = default;
  /// Stores `body` under `key` ("events/date=2025-01-01/hour=10/part-....ndjson.zst");
  /// durable when it returns. Throws object_store_error.
  virtual void put(const std::string& key, std::string_view body) = 0;
  /// Stores the bytes of the file at `local_path` under `key`, as put() does, and
  /// removes the file (a dataset too large to hold twice). The default reads it whole.
  virtual void put_file(const std::string& key, const std::string& local_path);
  /// The object's bytes, or nullopt when absent.
  virtual std::optional<std::string> get(const std::string& key) = 0;
  /// Keys under `prefix`, sorted (all pages).
  virtual std::vector<std::string> list(const std::string& prefix) = 0;
  virtual void remove(const std::string& key) = 0; // absent key is not an error
  /// For logs and /health: "file:///abs/path" or "s3://bucket (http://127.0.0.1:PORT)".
  virtual std::string describe() const = 0;
};

/// Throws object_store_error unless `key` is one both stores hold the same way: 1 to 1024
/// bytes, '/'-separated segments that are neither empty, "." nor "..", no leading or
/// trailing '/', no control characters. A key then never leaves the local folder, and
/// S3's XML listings can carry it.
void check_object_key(const std::string& key);

/// `file:///abs/dir` (or a plain absolute path) -> local folder;
/// `s3://bucket?endpoint=http://127.0.0.1:9000&region=us-east-1` -> S3 with path-style
/// requests; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (and
/// AWS_SESSION_TOKEN if set). Throws object_store_error with a clear message on a bad URL
/// or missing credentials.
std::unique_ptr<object_store> open_object_store(const std::string& url);

} // namespace expd::runtime

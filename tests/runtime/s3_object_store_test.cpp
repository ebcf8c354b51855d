// The S3 store's URL, credentials and retries; talking to a real S3 server is in
// tests/integration/s3_object_store_test.cpp.
#include "runtime/s3_object_store.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

using namespace expd::runtime;

namespace {

// Sets the AWS credential variables for one test and puts back what was there.
class aws_environment {
public:
  aws_environment(const char* key, const char* secret, const char* token = nullptr) {
    for (auto* name : names) {
      auto* value = std::getenv(name);
      saved_.emplace_back(value != nullptr, value != nullptr ? value : "");
    }
    set(names[0], key);
    set(names[1], secret);
    set(names[2], token);
  }
  ~aws_environment() {
    for (std::size_t i = 0; i < saved_.size(); ++i)
      set(names[i], saved_[i].first ? saved_[i].second.c_str() : nullptr);
  }

private:
  static constexpr const char* names[]
    = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"};
  static void set(const char* name, const char* value) {
    if (value != nullptr)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  std::vector<std::pair<bool, std::string>> saved_;
};

std::string message_of(const std::string& url) {
  try {
    open_object_store(url);
  } catch (const object_store_error& e) {
    return e.what();
  }
  return "(no error)";
}

} // namespace

TEST(s3_object_store, url_names_bucket_endpoint_and_region) {
  aws_environment env{"AKID", "secret", "token"};
  auto c = s3_config_from_url("s3://expd-archive?endpoint=http://127.0.0.1:59000&region=eu-west-1");
  EXPECT_EQ(c.bucket, "expd-archive");
  EXPECT_EQ(c.endpoint, "http://127.0.0.1:59000");
  EXPECT_EQ(c.region, "eu-west-1");
  EXPECT_EQ(c.credentials.access_key_id, "AKID");
  EXPECT_EQ(c.credentials.secret_access_key, "secret");
  EXPECT_EQ(c.credentials.session_token, "token");
  // Without an endpoint: AWS itself, in the region (us-east-1 unless given).
  EXPECT_EQ(s3_config_from_url("s3://my.bucket-1").endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(s3_config_from_url("s3://my.bucket-1?region=ap-south-1").endpoint,
            "https://s3.ap-south-1.amazonaws.com");
  EXPECT_EQ(s3_config_from_url("s3://b12?endpoint=http%3A%2F%2Fminio%3A9000%2F").endpoint,
            "http://minio:9000");
  EXPECT_EQ(open_object_store("s3://expd-archive?endpoint=http://127.0.0.1:59000")->describe(),
            "s3://expd-archive (http://127.0.0.1:59000)");
}

TEST(s3_object_store, bad_urls_say_what_is_wrong) {
  aws_environment env{"AKID", "secret"};
  EXPECT_NE(message_of("s3://").find("not a bucket name"), std::string::npos);
  EXPECT_NE(message_of("s3://Upper_Case").find("not a bucket name"), std::string::npos);
  EXPECT_NE(message_of("s3://bucket/some/path").find("names a bucket, not a path"),
            std::string::npos);
  EXPECT_NE(message_of("s3://bucket?endpont=http://x").find("unknown parameter 'endpont'"),
            std::string::npos);
  EXPECT_NE(message_of("s3://bucket?region=").find("needs a value"), std::string::npos);
  EXPECT_NE(message_of("s3://bucket?endpoint=ftp://x").find("is not http(s)://host[:port]"),
            std::string::npos);
  EXPECT_NE(message_of("s3://bucket?endpoint=http://x/path").find("is not http(s)://host[:port]"),
            std::string::npos);
  EXPECT_NE(
    message_of("s3://bucket?endpoint=http://user:pw@x").find("is not http(s)://host[:port]"),
    std::string::npos);
}

TEST(s3_object_store, missing_credentials_are_named) {
  aws_environment env{nullptr, "secret"};
  auto message = message_of("s3://bucket?endpoint=http://127.0.0.1:9");
  EXPECT_NE(message.find("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set"),
            std::string::npos)
    << message;
}

TEST(s3_object_store, connection_failures_are_retried_then_reported) {
  s3_config c;
  c.bucket = "expd-archive";
  c.endpoint = "http://127.0.0.1:1"; // tcpmux: nothing listens there
  c.connect_timeout = std::chrono::milliseconds{500};
  c.credentials = {"AKID", "secret", ""};
  c.attempts = 3;
  c.backoff = std::chrono::milliseconds{20};
  s3_object_store store{c};
  auto start = std::chrono::steady_clock::now();
  try {
    store.put("k", "v");
    FAIL() << "put to a closed port succeeded";
  } catch (const object_store_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("PUT k failed after 3 attempts"), std::string::npos) << message;
    EXPECT_NE(message.find(c.endpoint), std::string::npos) << message;
  }
  // Two waits: 10-20 ms, then 20-40 ms.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds{30});
  EXPECT_THROW(store.get("../k"), object_store_error) << "keys are checked before any request";
}

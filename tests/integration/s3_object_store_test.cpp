// The S3 object store against a real S3-compatible server: the moto server that
// deploy/servers.sh starts, which checks every request's SigV4 signature.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/s3_object_store.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd::runtime;

namespace {

std::string test_s3_url() {
  return expd::testing::required_env("EXPD_TEST_S3_URL", "the S3 test server (moto)");
}

std::string error_of(const std::function<void()>& call) {
  try {
    call();
  } catch (const object_store_error& e) {
    return e.what();
  }
  return "(no error)";
}

// Each test writes under a prefix of its own in the shared bucket and removes it after.
class s3_object_store_test : public ::testing::Test {
protected:
  void SetUp() override {
    config_ = s3_config_from_url(test_s3_url());
    store_ = std::make_unique<s3_object_store>(config_);
    static int counter = 0;
    prefix_ = "it/" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "/";
  }
  void TearDown() override {
    if (store_)
      for (auto& key : store_->list(prefix_))
        store_->remove(key);
  }

  s3_config config_;
  std::unique_ptr<s3_object_store> store_;
  std::string prefix_;
};

} // namespace

TEST_F(s3_object_store_test, put_get_overwrite_remove) {
  // Opened the way expd opens it: URL plus credentials from the environment.
  auto store = open_object_store(test_s3_url());
  EXPECT_EQ(store->describe(), "s3://" + config_.bucket + " (" + config_.endpoint + ")");
  auto key = prefix_ + "events/date=2025-01-01/hour=10/part-0001.ndjson.zst";
  std::string binary(1 << 20, '\0');
  for (std::size_t i = 0; i < binary.size(); ++i)
    binary[i] = static_cast<char>(i * 7919 % 251);
  store->put(key, binary);
  EXPECT_EQ(store->get(key), binary);
  store->put(key, "second version");
  EXPECT_EQ(store->get(key), "second version");
  store->put(prefix_ + "empty", "");
  EXPECT_EQ(store->get(prefix_ + "empty"), "");
  store->remove(key);
  EXPECT_EQ(store->get(key), std::nullopt);
  store->remove(key);
  store->remove(prefix_ + "never/written");
  EXPECT_EQ(store->list(prefix_), std::vector<std::string>{prefix_ + "empty"});
}

TEST_F(s3_object_store_test, keys_that_need_encoding_round_trip) {
  // Encoded once in the path ('/' kept), listed back through XML entities.
  std::vector<std::string> keys{
    "date=2025-01-01/hour=10/part 1.ndjson",  "ünïcödé/ユーザー=1",      "a+b&c=d", "100%/~tilde",
    "quotes \"double\" 'single' <angle>.txt", "punct;,:@$!()*[]{}^`|\\#"};
  for (auto& key : keys)
    key = prefix_ + key;
  for (auto& key : keys)
    store_->put(key, "body of " + key);
  for (auto& key : keys)
    EXPECT_EQ(store_->get(key), "body of " + key) << key;
  auto sorted = keys;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(store_->list(prefix_), sorted);
  EXPECT_EQ(store_->list(prefix_ + "date="), std::vector<std::string>{keys[0]});
}

TEST_F(s3_object_store_test, list_pages_through_more_than_a_thousand_keys) {
  // 1001 keys: S3's (and the store's) largest page holds 1000, so this takes two.
  std::vector<std::string> keys;
  for (int i = 1000; i >= 0; --i) {
    char name[16];
    std::snprintf(name, sizeof(name), "k%04d", i);
    keys.push_back(prefix_ + "many/" + name);
    store_->put(keys.back(), name);
  }
  store_->put(prefix_ + "manyX", "outside the folder");
  std::sort(keys.begin(), keys.end());
  EXPECT_EQ(store_->list(prefix_ + "many/"), keys);
  // Small pages: many continuation tokens.
  auto small = config_;
  small.max_keys = 37;
  s3_object_store paged{small};
  EXPECT_EQ(paged.list(prefix_ + "many/"), keys);
  EXPECT_EQ(paged.list(prefix_ + "many/k09").size(), 100u);
}

TEST_F(s3_object_store_test, wrong_secret_is_refused) {
  auto forged = config_;
  forged.credentials.secret_access_key += "x";
  s3_object_store bad{forged};
  auto key = prefix_ + "forged";
  auto message = error_of([&] { bad.put(key, "should not be stored"); });
  EXPECT_NE(message.find("HTTP 403 SignatureDoesNotMatch"), std::string::npos) << message;
  EXPECT_EQ(store_->get(key), std::nullopt) << "the server stored a request it should refuse";
  store_->put(key, "stored with the right key");
  EXPECT_NE(error_of([&] { bad.get(key); }).find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_NE(error_of([&] { bad.list(prefix_); }).find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_NE(error_of([&] { bad.remove(key); }).find("SignatureDoesNotMatch"), std::string::npos);
  EXPECT_EQ(store_->get(key), "stored with the right key");

  auto unknown = config_;
  unknown.credentials.access_key_id = "AKIAUNKNOWNEXAMPLE00";
  s3_object_store stranger{unknown};
  message = error_of([&] { stranger.get(key); });
  EXPECT_NE(message.find("HTTP 403 InvalidAccessKeyId"), std::string::npos) << message;
}

TEST_F(s3_object_store_test, missing_bucket_is_an_error_not_an_absent_object) {
  auto elsewhere = config_;
  elsewhere.bucket = "expd-no-such-bucket";
  s3_object_store store{elsewhere};
  EXPECT_NE(error_of([&] { store.get("k"); }).find("NoSuchBucket"), std::string::npos);
  EXPECT_NE(error_of([&] { store.put("k", "v"); }).find("NoSuchBucket"), std::string::npos);
  EXPECT_NE(error_of([&] { store.list(""); }).find("NoSuchBucket"), std::string::npos);
}

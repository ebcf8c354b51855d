// The MLflow client's parts that need no server: tracking URIs and how log_batch splits a
// batch to fit MLflow's limits (tests/mlflow/ runs it against a real server).
#include <gtest/gtest.h>

#include <string>

#include "runtime/mlflow_client.hpp"

using namespace expd::runtime;

namespace {

std::vector<mlflow_metric> metrics(int count) {
  std::vector<mlflow_metric> out;
  for (int i = 0; i < count; ++i)
    out.push_back({"loss", 1.0 / (i + 1), 1'700'000'000'000 + i, i});
  return out;
}

mlflow_tags numbered(const std::string& prefix, int count, std::size_t value_size = 1) {
  mlflow_tags out;
  for (int i = 0; i < count; ++i)
    out[prefix + std::to_string(1000 + i)] = std::string(value_size, 'v');
  return out;
}

} // namespace

TEST(mlflow_client, tracking_uri_must_be_http) {
  EXPECT_EQ(mlflow_config_from_uri("http://127.0.0.1:55000/").tracking_uri, "http://127.0.0.1:55000");
  EXPECT_EQ(mlflow_config_from_uri("https://mlflow.example/prefix").tracking_uri,
            "https://mlflow.example/prefix");
  for (auto bad : {"", "127.0.0.1:55000", "file:///tmp/mlruns", "sqlite:///mlflow.db", "http://",
                   "http://user@host", "databricks"})
    EXPECT_THROW(mlflow_config_from_uri(bad), mlflow_error) << bad;
}

TEST(mlflow_client, metrics_split_at_a_thousand_in_order) {
  auto parts = mlflow_client::split_batch(metrics(2500), {}, {});
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].metrics.size(), 1000u);
  EXPECT_EQ(parts[1].metrics.size(), 1000u);
  EXPECT_EQ(parts[2].metrics.size(), 500u);
  std::int64_t step = 0;
  for (auto& part : parts)
    for (auto& m : part.metrics)
      EXPECT_EQ(m.step, step++);
}

TEST(mlflow_client, params_and_tags_split_at_a_hundred_and_share_the_entity_limit) {
  auto parts = mlflow_client::split_batch(metrics(950), numbered("p", 150), numbered("t", 30));
  // 950 metrics and 50 params fill the first part (1,000 entities); the other 100 params
  // and the tags make the second.
  ASSERT_EQ(parts.size(), 2u);
  EXPECT_EQ(parts[0].metrics.size(), 950u);
  EXPECT_EQ(parts[0].params.size(), 50u);
  EXPECT_EQ(parts[0].tags.size(), 0u);
  EXPECT_EQ(parts[1].params.size(), 100u);
  EXPECT_EQ(parts[1].tags.size(), 30u);
  EXPECT_EQ(parts[1].params.front().first, "p1050");
}

TEST(mlflow_client, large_values_split_by_bytes) {
  // 100 params of 6,000 bytes (MLflow's longest value) are 600 kB: two of them in one
  // part would not pass the byte cap once 90 tags of 8,000 bytes join.
  auto parts = mlflow_client::split_batch({}, numbered("p", 100, 6000), numbered("t", 90, 8000));
  std::size_t params = 0, tags = 0;
  for (auto& part : parts) {
    std::size_t bytes = 0;
    for (auto& [key, value] : part.params)
      bytes += key.size() + value.size();
    for (auto& [key, value] : part.tags)
      bytes += key.size() + value.size();
    EXPECT_LE(bytes, mlflow_batch_limits{}.bytes);
    EXPECT_LE(part.params.size(), 100u);
    EXPECT_LE(part.tags.size(), 100u);
    params += part.params.size();
    tags += part.tags.size();
  }
  EXPECT_EQ(params, 100u);
  EXPECT_EQ(tags, 90u);
  EXPECT_EQ(parts.size(), 2u);
}

TEST(mlflow_client, an_empty_batch_sends_nothing) {
  EXPECT_TRUE(mlflow_client::split_batch({}, {}, {}).empty());
}

TEST(mlflow_client, artifacts_need_the_proxy) {
  mlflow_client client(mlflow_config_from_uri("http://127.0.0.1:1"));
  EXPECT_THROW(client.upload_artifact("file:///tmp/mlruns/0/abc/artifacts", "x", "y"), mlflow_error);
  EXPECT_THROW(client.download_artifact("s3://bucket/0/abc/artifacts", "x"), mlflow_error);
}

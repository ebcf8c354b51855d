#include <gtest/gtest.h>

#include <string>

#include "core/bucketing.hpp"
#include "core/dataset_build.hpp"
#include "core/field_error.hpp"

using namespace expd::core;

namespace {

// The field a body is refused for, or "" when it is taken.
std::string refused_field(const std::string& body) {
  try {
    parse_dataset_build_request(body);
    return "";
  } catch (const field_error& e) {
    return e.field();
  }
}

TEST(DatasetBuildRequest, TakesDatesAndDateTimes) {
  auto r = parse_dataset_build_request(R"({"name":"planner","from":"2025-01-06","to":"2025-01-13T12:30:00+02:00"})");
  EXPECT_EQ(r.name, "planner");
  EXPECT_EQ(format_rfc3339(r.from), "2025-01-06T00:00:00.000000Z");
  EXPECT_EQ(format_rfc3339(r.to), "2025-01-13T10:30:00.000000Z");
  EXPECT_DOUBLE_EQ(r.validation, 0.1);
  EXPECT_DOUBLE_EQ(
    parse_dataset_build_request(R"({"name":"planner","from":"2025-01-06","to":"2025-01-07","validation":0})").validation,
    0);
}

TEST(DatasetBuildRequest, NamesTheFieldAtFault) {
  EXPECT_EQ(refused_field("not json"), "body");
  EXPECT_EQ(refused_field("[]"), "body");
  EXPECT_EQ(refused_field(R"({"from":"2025-01-06","to":"2025-01-07"})"), "name");
  EXPECT_EQ(refused_field(R"({"name":"recipes","from":"2025-01-06","to":"2025-01-07"})"), "name");
  EXPECT_EQ(refused_field(R"({"name":"planner","to":"2025-01-07"})"), "from");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"yesterday","to":"2025-01-07"})"), "from");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-02-30","to":"2025-03-07"})"), "from");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-06","to":7})"), "to");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-07","to":"2025-01-07"})"), "to");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-08","to":"2025-01-07"})"), "to");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-01","to":"2025-04-04"})"), "to"); // 93 days
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-01","to":"2025-04-03"})"), "");   // 92 days
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-06","to":"2025-01-07","validation":1})"),
            "validation");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-06","to":"2025-01-07","validation":-0.1})"),
            "validation");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-06","to":"2025-01-07","validation":"0.1"})"),
            "validation");
  EXPECT_EQ(refused_field(R"({"name":"planner","from":"2025-01-06","to":"2025-01-07","split":0.1})"), "split");
}

TEST(DatasetSplit, IsTheValidationBucketRange) {
  int validation = 0;
  for (int i = 0; i < 2000; ++i) {
    const std::string unit = "hh-" + std::to_string(i);
    const auto split = dataset_split(unit, 0.1);
    EXPECT_EQ(split == "validation", bucket_of("validation", unit) < 1000) << unit;
    validation += split == "validation";
    EXPECT_EQ(dataset_split(unit, 0), "train");
  }
  EXPECT_GT(validation, 140);
  EXPECT_LT(validation, 260);
}

TEST(DatasetVersion, TakesTheDayThenTheNextFreeSuffix) {
  EXPECT_EQ(utc_day(*parse_rfc3339("2025-01-13T23:59:59.999999Z")), "2025-01-13");
  EXPECT_EQ(utc_day(*parse_rfc3339("1969-12-31T23:00:00Z")), "1969-12-31");
  EXPECT_EQ(next_dataset_version("2025-01-13", {}), "2025-01-13");
  EXPECT_EQ(next_dataset_version("2025-01-13", {"2025-01-12"}), "2025-01-13");
  EXPECT_EQ(next_dataset_version("2025-01-13", {"2025-01-13"}), "2025-01-13.2");
  EXPECT_EQ(next_dataset_version("2025-01-13", {"2025-01-13", "2025-01-13.2", "2025-01-13.3"}), "2025-01-13.4");
  EXPECT_EQ(next_dataset_version("2025-01-13", {"2025-01-13", "2025-01-13.3"}), "2025-01-13.2");
  for (const char* ok : {"2025-01-13", "2025-01-13.2", "2025-01-13.17"})
    EXPECT_TRUE(valid_dataset_version(ok)) << ok;
  for (const char* bad : {"", "2025-01-1", "2025-13-01", "2025-01-13.", "2025-01-13.1", "2025-01-13.02",
                          "2025-01-13.x", "2025-01-13/..", "../../etc"})
    EXPECT_FALSE(valid_dataset_version(bad)) << bad;
}

TEST(DatasetLayout, KeysAndWindow) {
  EXPECT_EQ(dataset_data_key("planner", "2025-01-13"), "datasets/planner/2025-01-13/training.parquet");
  EXPECT_EQ(dataset_manifest_key("planner", "2025-01-13.2"), "datasets/planner/2025-01-13.2/manifest.json");
  const auto from = *parse_rfc3339("2025-01-06T00:00:00Z");
  const auto to = *parse_rfc3339("2025-01-13T00:00:00Z");
  EXPECT_EQ(bind_window("a >= :'from' AND a < :'to' OR b >= :'from'", from, to),
            "a >= '2025-01-06T00:00:00.000000Z'::timestamptz AND a < '2025-01-13T00:00:00.000000Z'::timestamptz"
            " OR b >= '2025-01-06T00:00:00.000000Z'::timestamptz");
  EXPECT_THROW(bind_window("a >= :'from'", from, to), std::invalid_argument);
}

TEST(DatasetManifest, SaysWhatAndWhereFrom) {
  dataset_build_request r{"planner", *parse_rfc3339("2025-01-06T00:00:00Z"), *parse_rfc3339("2025-01-13T00:00:00Z"),
                          0.2};
  dataset_contents c{10, 7, 3, 2, 1234, "0123456789abcdef", {{"input", "string"}, {"timestamp", "timestamp[us, tz=UTC]"}}};
  auto m = dataset_manifest(r, "2025-01-13.2", dataset_data_key("planner", "2025-01-13.2"), c, "feedbeef",
                            *parse_rfc3339("2025-01-13T08:00:00Z"));
  EXPECT_EQ(m["dataset_version"], "planner/2025-01-13.2");
  EXPECT_EQ(m["file"], "datasets/planner/2025-01-13.2/training.parquet");
  EXPECT_EQ(m["rows"], 10);
  EXPECT_EQ(m["skipped_rows"], 2);
  EXPECT_EQ(m["split"]["train"], 7);
  EXPECT_EQ(m["split"]["validation"], 3);
  EXPECT_DOUBLE_EQ(m["split"]["validation_fraction"].get<double>(), 0.2);
  EXPECT_EQ(m["content_hash"], "0123456789abcdef");
  EXPECT_EQ(m["source"]["from"], "2025-01-06T00:00:00.000000Z");
  EXPECT_EQ(m["source"]["query_hash"], "feedbeef");
  EXPECT_EQ(m["schema"][1]["type"], "timestamp[us, tz=UTC]");
  EXPECT_EQ(m["built_at"], "2025-01-13T08:00:00.000000Z");
}

} // namespace

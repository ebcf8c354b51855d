// Datasets from events (docs/lifecycle.md, "Datasets from events"): the planner
// domain seeded from the synthetic corpus, its events sent through POST /v1/events to a
// real expd on a real PostgreSQL, POST /admin/v1/datasets, and the Parquet file read
// back by pandas, its manifest and exp.datasets row, and the MLflow run read back by
// MLflow's Python client, each compared with what this test computes on its own from
// the corpus and the events it sent.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <unistd.h>
#include <xxhash.h>

#include "core/bucketing.hpp"
#include "core/dataset_build.hpp"
#include "core/rfc3339.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/event_helpers.hpp"
#include "tests/integration/expd_process.hpp"

namespace expd::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr core::unix_micros day_micros = 24LL * 3600 * 1000000;

std::string run_ok(const std::string& command) {
  auto r = run_command(command + " 2>&1");
  EXPECT_EQ(r.status, 0) << command << "\n" << r.out;
  return r.out;
}

std::string python() {
  return std::string{EXPD_SOURCE_DIR} + "/var/venv/bin/python";
}

// The last line of a Python helper's output (warnings may come before it), as JSON.
json python_read(const std::string& verb, const std::string& argument) {
  auto out = run_ok(python() + " " + EXPD_SOURCE_DIR + "/tests/integration/dataset_read.py " + verb + " '" +
                    argument + "'");
  auto start = out.rfind('\n', out.size() - 2);
  auto parsed = json::parse(out.substr(start == std::string::npos ? 0 : start + 1), nullptr, false);
  EXPECT_TRUE(parsed.is_object()) << out;
  return parsed;
}

std::vector<json> lines_of(const fs::path& file) {
  std::vector<json> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);)
    if (!line.empty())
      out.push_back(json::parse(line));
  return out;
}

std::string xxh3_hex(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  const auto all = bytes.str();
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(XXH3_64bits(all.data(), all.size())));
  return hex;
}

// The rows the build must answer, worked out from the corpus and the events sent: a
// plan_generated in the window whose plan_accepted (the same request_id) is in it and
// says accepted, with the corpus's own input and target, in time order.
struct expected_row {
  std::string timestamp, request_id, household_id, input, target, split, policy_version_id;
};

class dataset_build : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() / ("expd-dataset-test-" + std::to_string(::getpid()) + "-" +
                                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir / "store");
    // Eight days ago at midnight: 160 examples about an hour apart end in the past, and
    // the node takes events two weeks old.
    const auto now = runtime::now_micros();
    start = now - now % day_micros - 8 * day_micros;
    run_ok(std::string{EXPD_CORPUS_BINARY} + " --format=domain --rows=" + std::to_string(rows) +
           " --seed=5 --start=" + core::format_rfc3339(start) + " --out=" + (dir / "domain").string());
    run_ok(std::string{EXPD_CORPUS_BINARY} + " --format=jsonl --rows=" + std::to_string(rows) + " --seed=5 > " +
           (dir / "corpus.jsonl").string());
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -f " + EXPD_SOURCE_DIR +
           "/sql/domain/planner_schema.sql");
    run_ok("psql '" + db.url() + "' -X -q -v ON_ERROR_STOP=1 -v dir=" + (dir / "domain").string() + " -f " +
           EXPD_SOURCE_DIR + "/sql/domain/planner_seed.sql");
    node = std::make_unique<expd_process>(
      db, std::vector<std::string>{"--datasets=" + (dir / "store").string(), "--archive=off", "--event-max-past-hours=336",
                                   "--mlflow=" + required_env("MLFLOW_TRACKING_URI", "MLflow")});
    prepare(*node);
    events = lines_of(dir / "domain" / "events.ndjson");
    for (std::size_t i = 0; i < events.size(); i += 50) {
      json batch = json::array();
      for (std::size_t j = i; j < std::min(events.size(), i + 50); ++j)
        batch.push_back(events[j]);
      auto reply = post(*node, json{{"events", batch}});
      ASSERT_EQ(reply.status, 200) << reply.body;
      ASSERT_EQ(reply.json()["accepted"], batch.size()) << reply.body.substr(0, 600);
    }
    ASSERT_TRUE(eventually([&] { return stored(db) == std::to_string(events.size()); })) << stored(db);
  }

  void TearDown() override {
    node.reset();
    fs::remove_all(dir);
  }

  std::vector<expected_row> expected(core::unix_micros from, core::unix_micros to, double validation) {
    std::map<std::string, json> corpus;
    for (auto& e : lines_of(dir / "corpus.jsonl"))
      corpus["req-" + e["id"].get<std::string>()] = e;
    auto in_window = [&](const json& e) {
      auto t = *core::parse_rfc3339(e["timestamp"].get<std::string>());
      return t >= from && t < to;
    };
    std::set<std::string> accepted;
    for (auto& e : events)
      if (e["event_type"] == "plan_accepted" && in_window(e) && e["metrics"]["accepted"] == true)
        accepted.insert(e["context"]["request_id"]);
    std::vector<expected_row> out;
    for (auto& e : events) {
      if (e["event_type"] != "plan_generated" || !in_window(e))
        continue;
      const std::string request = e["context"]["request_id"];
      if (!accepted.count(request))
        continue;
      const std::string household = e["unit_id"];
      auto& example = corpus.at(request);
      out.push_back({core::format_rfc3339(*core::parse_rfc3339(e["timestamp"].get<std::string>())), request,
                     household, example["input"], example["target"],
                     core::bucket_of("validation", household) < core::bucket_width(validation) ? "validation"
                                                                                             : "train",
                     example["policy_version_id"]});
    }
    std::sort(out.begin(), out.end(), [](auto& a, auto& b) {
      return std::tie(a.timestamp, a.request_id) < std::tie(b.timestamp, b.request_id);
    });
    return out;
  }

  http_reply build(const json& body) const {
    return node->request("POST", "/admin/v1/datasets", body.dump(), true);
  }

  // Every file under the store, relative to it.
  std::vector<std::string> stored_files() const {
    std::vector<std::string> out;
    for (auto& entry : fs::recursive_directory_iterator(dir / "store"))
      if (entry.is_regular_file())
        out.push_back(fs::relative(entry.path(), dir / "store").string());
    std::sort(out.begin(), out.end());
    return out;
  }

  static constexpr int rows = 160;
  scratch_database db;
  fs::path dir;
  core::unix_micros start = 0;
  std::unique_ptr<expd_process> node;
  std::vector<json> events;
};

TEST_F(dataset_build, builds_the_joined_window_into_parquet_a_manifest_a_row_and_an_mlflow_run) {
  const auto from = start + day_micros, to = start + 3 * day_micros;
  const auto want = expected(from, to, 0.25);
  ASSERT_GT(want.size(), 20u);
  ASSERT_LT(want.size(), events.size() / 2); // the window and the answers leave rows out

  auto reply = build({{"name", "planner"}, {"from", core::utc_day(from)}, {"to", core::format_rfc3339(to)},
                      {"validation", 0.25}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto manifest = reply.json();
  const std::string version = manifest["version"];
  EXPECT_EQ(version, core::utc_day(*core::parse_rfc3339(manifest["built_at"].get<std::string>())));
  const auto folder = dir / "store" / "datasets" / "planner" / version;
  EXPECT_EQ(stored_files(), (std::vector<std::string>{"datasets/planner/" + version + "/manifest.json",
                                                      "datasets/planner/" + version + "/training.parquet"}));
  EXPECT_EQ(manifest["uri"], "file://" + (folder / "training.parquet").string());

  // The rows, as pandas reads them.
  auto file = python_read("parquet", (folder / "training.parquet").string());
  EXPECT_EQ(file["types"], (json{{"input", "string"}, {"target", "string"}, {"split", "string"},
                                 {"household_id", "string"}, {"timestamp", "timestamp[us, tz=UTC]"},
                                 {"policy_version_id", "string"}, {"request_id", "string"},
                                 {"generated_event_id", "string"}, {"accepted_event_id", "string"}}));
  ASSERT_EQ(file["rows"].size(), want.size());
  std::map<std::string, std::string> event_ids;
  for (auto& e : events)
    event_ids[e["context"]["request_id"].get<std::string>() + "/" + e["event_type"].get<std::string>()] =
      e["event_id"];
  std::size_t train = 0;
  for (std::size_t i = 0; i < want.size(); ++i) {
    const auto& row = file["rows"][i];
    const auto& w = want[i];
    EXPECT_EQ(row["request_id"], w.request_id) << i;
    EXPECT_EQ(row["input"], w.input) << i;
    EXPECT_EQ(row["target"], w.target) << i;
    EXPECT_EQ(row["split"], w.split) << i;
    EXPECT_EQ(row["household_id"], w.household_id) << i;
    EXPECT_EQ(row["timestamp"], w.timestamp) << i;
    EXPECT_EQ(row["policy_version_id"], w.policy_version_id) << i;
    EXPECT_EQ(row["generated_event_id"], event_ids[w.request_id + "/plan_generated"]) << i;
    EXPECT_EQ(row["accepted_event_id"], event_ids[w.request_id + "/plan_accepted"]) << i;
    train += w.split == "train";
  }
  ASSERT_GT(train, 0u);
  ASSERT_LT(train, want.size());

  // The manifest: in the answer, beside the file and in exp.datasets.
  EXPECT_EQ(manifest["dataset_version"], "planner/" + version);
  EXPECT_EQ(manifest["rows"], want.size());
  EXPECT_EQ(manifest["split"]["train"], train);
  EXPECT_EQ(manifest["split"]["validation"], want.size() - train);
  EXPECT_EQ(manifest["content_hash"], xxh3_hex(folder / "training.parquet"));
  EXPECT_EQ(manifest["bytes"], fs::file_size(folder / "training.parquet"));
  EXPECT_EQ(manifest["source"]["from"], core::format_rfc3339(from));
  EXPECT_EQ(manifest["source"]["to"], core::format_rfc3339(to));
  EXPECT_EQ(manifest["schema"].size(), 9u);
  EXPECT_TRUE(manifest["created"].get<bool>());
  auto beside = json::parse(read_file((folder / "manifest.json").string()));
  for (const char* key : {"uri", "created", "mlflow_run_id"})
    manifest.erase(key);
  EXPECT_EQ(beside, manifest);
  EXPECT_EQ(db.scalar("SELECT content_hash || ' ' || rows || ' ' || data_uri FROM exp.datasets WHERE name = "
                      "'planner' AND version = '" + version + "'"),
            beside["content_hash"].get<std::string>() + " " + std::to_string(want.size()) + " file://" +
              (folder / "training.parquet").string());

  // GET answers the same, with the MLflow run the version was logged to.
  auto shown = node->request("GET", "/admin/v1/datasets/planner/" + version, "", true);
  ASSERT_EQ(shown.status, 200) << shown.body;
  const std::string run_id = shown.json()["mlflow_run_id"];
  ASSERT_FALSE(run_id.empty()) << shown.body;
  auto listed = node->request("GET", "/admin/v1/datasets", "", true);
  ASSERT_EQ(listed.status, 200);
  ASSERT_EQ(listed.json()["datasets"].size(), 1u);
  EXPECT_EQ(listed.json()["datasets"][0]["version"], version);

  auto run = python_read("mlflow", run_id);
  EXPECT_EQ(run["status"], "FINISHED");
  EXPECT_EQ(run["tags"]["dataset_version"], "planner/" + version);
  EXPECT_EQ(run["tags"]["policy_id"], "planner_policy");
  EXPECT_EQ(run["params"]["rows"], std::to_string(want.size()));
  ASSERT_EQ(run["inputs"].size(), 1u);
  EXPECT_EQ(run["inputs"][0]["name"], "planner");
  EXPECT_EQ(run["inputs"][0]["digest"], beside["content_hash"]);
  // MLflow keeps one dataset per name and digest in an experiment: the same rows built
  // by an earlier run of this test keep that run's source; the run's param is this one's.
  EXPECT_EQ(run["params"]["uri"], "file://" + (folder / "training.parquet").string());
  const std::string source = run["inputs"][0]["source"]["uri"];
  const std::string key = "/datasets/planner/" + version + "/training.parquet";
  EXPECT_EQ(source.substr(source.size() - std::min(source.size(), key.size())), key);
  EXPECT_EQ(run["inputs"][0]["profile"]["rows"], want.size());
  EXPECT_EQ(run["inputs"][0]["tags"]["mlflow.data.context"], "training");

  // Training takes the folder: expd-tokenize reads it as a text dataset.
  const auto bin = fs::path(EXPD_CORPUS_BINARY).parent_path();
  run_ok(std::string{EXPD_SOURCE_DIR} + "/tools/tiny-tokenizer.sh --vocab 384 --rows 400 --corpus-bin " +
         EXPD_CORPUS_BINARY + " " + (dir / "tokenizer").string());
  auto tokenized = run_ok((bin / "expd-tokenize").string() + " --dataset " + folder.string() + " --tokenizer " +
                          (dir / "tokenizer").string() + " --max-length 512 --out " + (dir / "tokens.parquet").string());
  EXPECT_EQ(json::parse(tokenized.substr(tokenized.rfind('{')))["rows"], want.size()) << tokenized;
}

TEST_F(dataset_build, the_same_rows_again_answer_the_stored_version_and_other_rows_take_the_next) {
  const json body{{"name", "planner"}, {"from", core::utc_day(start)}, {"to", core::utc_day(start + 2 * day_micros)}};
  auto first = build(body);
  ASSERT_EQ(first.status, 201) << first.body;
  const auto files = stored_files();
  // Again, through expctl: the stored version answers and nothing is written.
  const auto expctl = (fs::path(EXPD_CORPUS_BINARY).parent_path() / "expctl").string() +
                      " --server=http://127.0.0.1:" + std::to_string(node->port()) + " --token=" +
                      expd_process::admin_token + " -o json dataset ";
  auto again = json::parse(run_ok(expctl + "build planner --from " + body["from"].get<std::string>() + " --to " +
                                  body["to"].get<std::string>()));
  EXPECT_EQ(again["version"], first.json()["version"]);
  EXPECT_FALSE(again["created"].get<bool>());
  EXPECT_EQ(stored_files(), files);
  auto shown = json::parse(run_ok(expctl + "show planner/" + first.json()["version"].get<std::string>()));
  EXPECT_EQ(shown["content_hash"], first.json()["content_hash"]);

  json other = body;
  other["validation"] = 0.5;
  auto second = build(other);
  ASSERT_EQ(second.status, 201) << second.body;
  EXPECT_EQ(second.json()["version"], first.json()["version"].get<std::string>() + ".2");
  EXPECT_NE(second.json()["content_hash"], first.json()["content_hash"]);
  EXPECT_EQ(first.json()["content_hash"],
            json::parse(read_file((dir / "store" / first.json()["file"].get<std::string>())
                                    .parent_path()
                                    .append("manifest.json")
                                    .string()))["content_hash"]);
  EXPECT_EQ(stored_files().size(), 4u);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.datasets"), "2");
  EXPECT_EQ(json::parse(run_ok(expctl + "list"))["datasets"].size(), 2u);
}

TEST_F(dataset_build, a_window_without_events_is_refused_and_writes_nothing) {
  auto reply = build({{"name", "planner"}, {"from", core::utc_day(start - 9 * day_micros)},
                      {"to", core::utc_day(start - 8 * day_micros)}});
  ASSERT_EQ(reply.status, 422) << reply.body;
  auto error = reply.json()["error"];
  EXPECT_EQ(error["code"], "empty_dataset");
  EXPECT_EQ(error["field"], "from");
  EXPECT_NE(error["message"].get<std::string>().find(core::format_rfc3339(start - 9 * day_micros)), std::string::npos)
    << reply.body;
  EXPECT_EQ(reply.json()["window"]["to"], core::format_rfc3339(start - 8 * day_micros)) << reply.body;
  EXPECT_TRUE(stored_files().empty());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.datasets"), "0");
}

TEST_F(dataset_build, bad_requests_name_the_field_and_build_nothing) {
  const auto day = core::utc_day(start);
  const auto next = core::utc_day(start + day_micros);
  const std::vector<std::pair<json, std::string>> bodies{
    {json{{"from", day}, {"to", next}}, "name"},
    {json{{"name", "recipes"}, {"from", day}, {"to", next}}, "name"},
    {json{{"name", "planner"}, {"to", next}}, "from"},
    {json{{"name", "planner"}, {"from", "last week"}, {"to", next}}, "from"},
    {json{{"name", "planner"}, {"from", next}, {"to", day}}, "to"},
    {json{{"name", "planner"}, {"from", day}, {"to", day}}, "to"},
    {json{{"name", "planner"}, {"from", "2025-01-01"}, {"to", "2025-06-01"}}, "to"},
    {json{{"name", "planner"}, {"from", day}, {"to", next}, {"validation", 1.5}}, "validation"},
    {json{{"name", "planner"}, {"from", day}, {"to", next}, {"rows", 3}}, "rows"},
  };
  for (const auto& [body, field] : bodies) {
    auto reply = build(body);
    EXPECT_EQ(reply.status, 400) << body.dump() << " " << reply.body;
    EXPECT_EQ(reply.json()["error"]["field"], field) << body.dump() << " " << reply.body;
  }
  auto not_json = node->request("POST", "/admin/v1/datasets", "{\"name\":", true);
  EXPECT_EQ(not_json.status, 400) << not_json.body;
  EXPECT_EQ(node->request("POST", "/admin/v1/datasets", json{{"name", "planner"}}.dump(), false).status, 401);
  EXPECT_EQ(node->request("DELETE", "/admin/v1/datasets", "", true).status, 405);
  auto unknown = node->request("GET", "/admin/v1/datasets/recipes/" + day, "", true);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.json()["error"]["field"], "name");
  auto bad_version = node->request("GET", "/admin/v1/datasets/planner/..", "", true);
  EXPECT_EQ(bad_version.status, 400);
  EXPECT_EQ(bad_version.json()["error"]["field"], "version");
  auto missing = node->request("GET", "/admin/v1/datasets/planner/" + day, "", true);
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["error"]["field"], "version");
  EXPECT_TRUE(stored_files().empty());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.datasets"), "0");
}

} // namespace
} // namespace expd::testing

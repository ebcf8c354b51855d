#include "tests/integration/event_helpers.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <fstream>

#include "core/rfc3339.hpp"
#include "core/sigv4.hpp"
#include "runtime/wall_clock.hpp"

namespace expd::testing {

using nlohmann::json;

namespace {

std::string decompress(const std::string& body) {
  auto size = ZSTD_getFrameContentSize(body.data(), body.size());
  EXPECT_NE(size, ZSTD_CONTENTSIZE_ERROR);
  std::string out(static_cast<std::size_t>(size), '\0');
  auto n = ZSTD_decompress(out.data(), out.size(), body.data(), body.size());
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

} // namespace

std::string now_text(std::int64_t offset_seconds) {
  return core::format_rfc3339(runtime::now_micros() + offset_seconds * 1000000);
}

const json& event_types() {
  static const json types = json::parse(R"({"event_types":[
  {"name":"plan_generated","metrics":{"latency_ms":{"type":"number","min":0}}},
  {"name":"plan_accepted","metrics":{"accepted":{"type":"boolean"}}}]})");
  return types;
}

// A running experiment and the event types; returns the ids events refer to.
ids prepare(const expd_process& node) {
  EXPECT_EQ(node.apply(spec_example()).status, 200);
  EXPECT_EQ(node.request("POST", "/admin/v1/event-types/apply", event_types().dump(), true).status, 200);
  auto list = node.request("GET", "/admin/v1/experiments", "", true).json();
  auto& e = list["experiments"][0];
  return {e["id"], e["variants"][0]["id"], e["variants"][1]["id"]};
}

json event(const ids& x, const std::string& unit, double latency) {
  return {{"event_type", "plan_generated"},
          {"unit_type", "user"},
          {"unit_id", unit},
          {"experiments", {{{"experiment_id", x.experiment}, {"variant_id", x.control}}}},
          {"context", {{"policy_version_id", "uuid-v1"}}},
          {"metrics", {{"latency_ms", latency}}},
          {"timestamp", now_text()}};
}

http_reply post(const expd_process& node, const json& body) {
  return node.request("POST", "/v1/events", body.dump());
}

std::string stored(const scratch_database& db) {
  return db.scalar("SELECT count(*) FROM exp.events");
}

std::string spool_id(const expd_process& node) {
  std::ifstream in(node.spool_dir() + "/spool.id");
  std::string id;
  in >> id;
  return id;
}


std::map<std::string, json> archived(runtime::object_store& store, const std::string& spool) {
  std::map<std::string, json> events;
  for (auto& key : store.list("events/_manifest/" + spool + "-")) {
    auto manifest = json::parse(*store.get(key));
    std::size_t listed = 0;
    for (auto& file : manifest["files"]) {
      auto body = store.get(file["key"].get<std::string>());
      EXPECT_TRUE(body) << file;
      if (!body)
        continue;
      EXPECT_EQ(core::sha256_hex(*body), file["sha256"]);
      EXPECT_EQ(file["key"].get<std::string>().find("events/date="), 0u);
      auto text = decompress(*body);
      std::size_t pos = 0, lines = 0;
      while (pos < text.size()) {
        auto end = text.find('\n', pos);
        auto e = json::parse(text.substr(pos, end - pos));
        EXPECT_TRUE(events.emplace(e["event_id"].get<std::string>(), e).second)
          << "archived twice: " << e["event_id"];
        pos = end + 1;
        ++lines;
      }
      EXPECT_EQ(lines, file["events"].get<std::size_t>());
      listed += lines;
    }
    EXPECT_EQ(listed, manifest["events"].get<std::size_t>());
  }
  return events;
}

std::map<std::string, json> table(const scratch_database& db) {
  auto rows = json::parse(db.scalar(
    "SELECT COALESCE(json_agg(json_build_object('event_id', event_id, 'event_type', event_type,"
    " 'unit_id', unit_id, 'metrics', metrics, 'context', context,"
    " 'timestamp', to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))),"
    " '[]') FROM exp.events"));
  std::map<std::string, json> out;
  for (auto& r : rows)
    out.emplace(r["event_id"].get<std::string>(), r);
  return out;
}

void expect_archive_equals_table(runtime::object_store& store, const std::string& spool,
                                 const scratch_database& db) {
  auto want = table(db);
  std::map<std::string, json> got;
  EXPECT_TRUE(eventually([&] {
    got = archived(store, spool);
    return got.size() == want.size();
  })) << got.size() << " archived of " << want.size();
  for (auto& [id, row] : want) {
    auto it = got.find(id);
    ASSERT_NE(it, got.end()) << "not archived: " << id;
    for (const char* field : {"event_type", "unit_id", "timestamp", "metrics", "context"})
      EXPECT_EQ(it->second[field], row[field]) << id << " " << field;
  }
}


} // namespace expd::testing

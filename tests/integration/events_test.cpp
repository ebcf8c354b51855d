// POST /v1/events end to end against the real PostgreSQL: validation per event,
// duplicates, the database going away, the node killed mid-load, a full spool.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <set>
#include <thread>

#include "runtime/object_store.hpp"
#include "runtime/random_uuid.hpp"
#include "tests/integration/event_helpers.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

TEST(events, one_event_in_the_spec_shape_is_stored_and_can_be_read_back) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  auto reply = post(node, event(x, "user-123"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["accepted"], 1);
  EXPECT_TRUE(reply.json()["rejected"].empty());
  ASSERT_TRUE(eventually([&] { return stored(db) == "1"; })) << stored(db);
  EXPECT_EQ(db.scalar("SELECT (metrics->>'latency_ms')::float8 = 450 FROM exp.events"), "t");
  EXPECT_EQ(db.scalar("SELECT variant_ids[1]::text FROM exp.events"), x.control);

  auto page = node.request("GET", "/v1/events?unit_id=user-123", "", true).json();
  ASSERT_EQ(page["events"].size(), 1u);
  EXPECT_EQ(page["events"][0]["event_type"], "plan_generated");
  EXPECT_EQ(page["events"][0]["experiments"][0]["variant_id"], x.control);
  EXPECT_EQ(page["events"][0]["metrics"]["latency_ms"], 450);
  EXPECT_TRUE(page["next"].is_null());
  auto by_exp = node.request("GET", "/v1/events?experiment_id=" + x.experiment, "", true).json();
  EXPECT_EQ(by_exp["events"].size(), 1u);
}

TEST(events, an_event_without_experiments_gets_the_variants_its_unit_holds) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  ASSERT_EQ(node.set_status("planner_policy_exp", "running").status, 200);
  auto assigned = node.request("POST", "/v1/assign",
                               R"({"unit_type":"user","unit_id":"assigned-1"})").json();
  ASSERT_EQ(assigned["assignments"].size(), 1u) << assigned;
  auto variant = assigned["assignments"][0]["variant_id"].get<std::string>();

  auto bare = event(x, "assigned-1");
  bare.erase("experiments");
  auto never = event(x, "never-assigned");
  never.erase("experiments");
  auto explicitly_none = event(x, "assigned-1");
  explicitly_none["experiments"] = json::array();
  auto reply = post(node, {{"events", {bare, never, explicitly_none}}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["accepted"], 3);
  ASSERT_TRUE(eventually([&] { return stored(db) == "3"; })) << stored(db);
  EXPECT_EQ(db.scalar("SELECT string_agg(unit_id || ':' || cardinality(experiment_ids) || ':'"
                      " || COALESCE(variant_ids[1]::text, '-'), ' ' ORDER BY unit_id,"
                      " cardinality(experiment_ids)) FROM exp.events"),
            "assigned-1:0:- assigned-1:1:" + variant + " never-assigned:0:-");
  EXPECT_NE(node.request("GET", "/metrics").body.find("expd_events_attached_total 1"),
            std::string::npos);
}

TEST(events, a_batch_keeps_the_good_events_and_names_each_bad_one) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  auto wrong_variant = event(x, "u2");
  wrong_variant["experiments"][0]["variant_id"] = "00000000-0000-4000-8000-000000000000";
  auto bad_metric = event(x, "u4");
  bad_metric["metrics"] = {{"latency_ms", "slow"}};
  auto old = event(x, "u5");
  old["timestamp"] = "2001-01-01T00:00:00Z";
  json batch = {{"events", {event(x, "u1"), wrong_variant, event(x, "u3"), bad_metric, old,
                            event(x, "u6")}}};
  auto reply = post(node, batch);
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto doc = reply.json();
  EXPECT_EQ(doc["accepted"], 3);
  ASSERT_EQ(doc["rejected"].size(), 3u);
  EXPECT_EQ(doc["rejected"][0]["index"], 1);
  EXPECT_EQ(doc["rejected"][0]["field"], "experiments[0].variant_id");
  EXPECT_EQ(doc["rejected"][1]["index"], 3);
  EXPECT_EQ(doc["rejected"][1]["field"], "metrics.latency_ms");
  EXPECT_EQ(doc["rejected"][2]["index"], 4);
  EXPECT_EQ(doc["rejected"][2]["field"], "timestamp");
  EXPECT_TRUE(eventually([&] { return stored(db) == "3"; })) << stored(db);
  EXPECT_EQ(db.scalar("SELECT string_agg(unit_id, ',' ORDER BY unit_id) FROM exp.events"),
            "u1,u3,u6");
}

TEST(events, a_retried_event_id_is_stored_once) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  auto e = event(x, "retry-unit");
  e["event_id"] = expd::runtime::random_uuid().str();
  EXPECT_EQ(post(node, e).status, 200);
  ASSERT_TRUE(eventually([&] { return stored(db) == "1"; }));
  EXPECT_EQ(post(node, e).status, 200);                        // a later retry
  EXPECT_EQ(post(node, {{"events", {e, e, event(x, "other")}}}).status, 200); // and in a batch
  ASSERT_TRUE(eventually([&] { return stored(db) == "2"; })) << stored(db);
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  EXPECT_EQ(stored(db), "2");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.ingest_skipped"), "3");
  EXPECT_NE(node.request("GET", "/metrics").body.find("expd_events_duplicates_total 3"),
            std::string::npos);
}

TEST(events, bad_requests_get_a_json_error_naming_the_field) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  struct bad_case {
    std::string body;
    int status;
    std::string field;
  };
  auto unknown_type = event(x, "u");
  unknown_type["event_type"] = "no_such_type";
  std::vector<bad_case> cases{
    {"{not json", 400, "body"},
    {"[1,2,3]", 400, "body"},
    {"", 400, "body"},
    {R"({"events":[]})", 400, "events"},
    {R"({"events":{}})", 400, "events"},
    {R"({"events":[{}],"extra":1})", 400, "events"},
    {unknown_type.dump(), 400, "event_type"},
    {json{{"events", json::array({unknown_type})}}.dump(), 400, "events[0].event_type"},
    {std::string(40, '[') + std::string(40, ']'), 400, "body"},
  };
  json many = json::array();
  for (int i = 0; i < 1001; ++i)
    many.push_back(event(x, "m"));
  cases.push_back({json{{"events", many}}.dump(), 413, "events"});
  for (auto& c : cases) {
    auto reply = node.request("POST", "/v1/events", c.body);
    EXPECT_EQ(reply.status, c.status) << c.body.substr(0, 80) << " -> " << reply.body;
    EXPECT_EQ(reply.json()["error"]["field"], c.field) << reply.body;
  }
  // Every event refused: the error, plus what a partial accept lists.
  auto refused = node.request("POST", "/v1/events",
                              json{{"events", json::array({unknown_type, unknown_type})}}.dump());
  auto body = refused.json();
  EXPECT_EQ(body["error"]["code"], "invalid_event") << refused.body;
  EXPECT_EQ(body["accepted"], 0) << refused.body;
  ASSERT_EQ(body["rejected"].size(), 2u) << refused.body;
  EXPECT_EQ(body["rejected"][1]["index"], 1);
  EXPECT_EQ(body["rejected"][1]["field"], "event_type");
  EXPECT_EQ(body.size(), 3u) << refused.body;
  auto huge = node.request("POST", "/v1/events", std::string(10 * 1024 * 1024, ' '));
  EXPECT_EQ(huge.status, 413);
  EXPECT_EQ(node.request("GET", "/v1/events?limit=5", "", true).status, 400);
  EXPECT_EQ(node.request("GET", "/v1/events?unit_id=a&limit=x", "", true).json()["error"]["field"], "limit");
  EXPECT_EQ(node.request("PUT", "/v1/events", "{}").status, 405);
  EXPECT_EQ(node.request("POST", "/v1/events", "{}", false, "text/plain").status, 415);
  EXPECT_EQ(node.request("POST", "/admin/v1/event-types/apply", R"({"event_types":[{"name":""}]})", true)
              .status,
            422);
  EXPECT_EQ(node.request("POST", "/admin/v1/event-types/apply", event_types().dump()).status, 401);
  std::this_thread::sleep_for(std::chrono::milliseconds{300});
  EXPECT_EQ(stored(db), "0"); // nothing partial
  EXPECT_EQ(post(node, event(x, "still-fine")).status, 200);
}

TEST(events, postgres_away_the_service_keeps_accepting_and_the_spool_drains_in_order) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  ASSERT_EQ(post(node, event(x, "before")).status, 200);
  ASSERT_TRUE(eventually([&] { return stored(db) == "1"; }));
  db.allow_connections(false);
  int acked = 0;
  for (int i = 0; i < 50; ++i) {
    json batch = {{"events", json::array()}};
    for (int j = 0; j < 10; ++j)
      batch["events"].push_back(event(x, "away-" + std::to_string(i * 10 + j), i * 10 + j));
    auto reply = post(node, batch);
    ASSERT_EQ(reply.status, 200) << reply.body;
    acked += reply.json()["accepted"].get<int>();
  }
  EXPECT_EQ(acked, 500);
  db.allow_connections(true);
  EXPECT_TRUE(eventually([&] { return stored(db) == "501"; })) << stored(db);
  // In order: the loader's batches follow the spool, so arrival order is load order.
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM exp.events"), "501");
}

TEST(events, killed_mid_load_every_acknowledged_event_is_stored_once) {
  scratch_database db;
  auto node = std::make_unique<expd_process>(db, std::vector<std::string>{"--archive-interval-ms=100"});
  auto x = prepare(*node);
  std::vector<json> sent;
  std::atomic<bool> stop{false};
  std::set<std::string> acked;
  std::vector<std::string> unanswered;
  std::thread client([&] {
    for (int i = 0; !stop; ++i) {
      json batch = {{"events", json::array()}};
      std::vector<std::string> ids;
      for (int j = 0; j < 20; ++j) {
        auto e = event(x, "k" + std::to_string(i));
        e["event_id"] = expd::runtime::random_uuid().str();
        ids.push_back(e["event_id"]);
        sent.push_back(e);
        batch["events"].push_back(e);
      }
      auto reply = post(*node, batch);
      for (auto& id : ids)
        (reply.status == 200 ? acked.insert(id), void() : unanswered.push_back(id));
      if (reply.status != 200)
        break;
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds{1500});
  node->kill();
  stop = true;
  client.join();
  ASSERT_GT(acked.size(), 100u);
  node->start();
  ASSERT_TRUE(eventually([&] {
    return std::stoul(stored(db)) >= acked.size();
  })) << stored(db) << " of " << acked.size();
  // The client retries what it never heard back about, as clients do.
  for (auto& e : sent) {
    if (acked.count(e["event_id"]) == 0) {
      ASSERT_EQ(post(*node, e).status, 200);
    }
  }
  ASSERT_TRUE(eventually([&] { return stored(db) == std::to_string(sent.size()); }))
    << stored(db) << " of " << sent.size();
  EXPECT_EQ(db.scalar("SELECT count(DISTINCT event_id) FROM exp.events"),
            std::to_string(sent.size()));
  // Killed mid-chunk or not, the archive ends up equal to the table.
  auto store = expd::runtime::open_object_store(node->archive_dir());
  expect_archive_equals_table(*store, spool_id(*node), db);
}

TEST(events, a_full_spool_answers_503_with_retry_after_and_recovers) {
  scratch_database db;
  expd_process node{db, {"--spool-max-mb=4", "--archive-interval-ms=100"}};
  auto x = prepare(node);
  db.allow_connections(false);
  json batch = {{"events", json::array()}};
  for (int j = 0; j < 100; ++j) {
    auto e = event(x, "full");
    e["context"]["padding"] = std::string(2000, 'p');
    batch["events"].push_back(e);
  }
  int acked = 0;
  http_reply refused;
  for (int i = 0; i < 100 && refused.status == 0; ++i) {
    auto reply = post(node, batch);
    if (reply.status == 200)
      acked += 100;
    else
      refused = reply;
  }
  ASSERT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.headers.find("Retry-After: 5"), std::string::npos) << refused.headers;
  EXPECT_EQ(refused.json()["error"]["code"], "spool_full");
  db.allow_connections(true);
  EXPECT_TRUE(eventually([&] { return stored(db) == std::to_string(acked); })) << stored(db);
  EXPECT_TRUE(eventually([&] { return post(node, batch).status == 200; }));
}

TEST(events, the_archive_read_back_equals_the_table) {
  scratch_database db;
  expd_process node{db, {"--archive-interval-ms=200"}};
  auto x = prepare(node);
  for (int batch = 0; batch < 6; ++batch) {
    json body = {{"events", json::array()}};
    for (int j = 0; j < 50; ++j) {
      auto e = event(x, "a" + std::to_string(j), j);
      e["timestamp"] = now_text(-3600 * (j % 3)); // three hours, three folders
      e["context"] = {{"note", "tab\there \"quoted\" \u00e9"}};
      body["events"].push_back(e);
    }
    auto retried = body["events"][0];
    retried["event_id"] = expd::runtime::random_uuid().str();
    body["events"].push_back(retried);
    body["events"].push_back(retried); // a duplicate: in the table once, so in the archive once
    ASSERT_EQ(post(node, body).status, 200);
  }
  ASSERT_TRUE(eventually([&] { return stored(db) == "306"; })) << stored(db);
  auto store = expd::runtime::open_object_store(node.archive_dir());
  expect_archive_equals_table(*store, spool_id(node), db);
  EXPECT_GE(store->list("events/date=").size(), 3u);
}

TEST(events, archiving_to_s3_is_a_configuration_change) {
  auto url = required_env("EXPD_TEST_S3_URL", "the S3 test server (moto)");
  scratch_database db;
  expd_process node{db, {"--archive=" + url, "--archive-interval-ms=200"}};
  auto x = prepare(node);
  json body = {{"events", json::array()}};
  for (int j = 0; j < 40; ++j)
    body["events"].push_back(event(x, "s3-" + std::to_string(j), j));
  ASSERT_EQ(post(node, body).status, 200);
  ASSERT_TRUE(eventually([&] { return stored(db) == "40"; }));
  auto store = expd::runtime::open_object_store(url);
  expect_archive_equals_table(*store, spool_id(node), db);
}

// Partitions of exp.events are made ahead and never on the loader's path: a reader's
// long query can make a partition wait, never the events.
#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "runtime/event_store.hpp"
#include "runtime/migrations.hpp"
#include "runtime/wall_clock.hpp"
#include "tests/integration/event_helpers.hpp"

using namespace expd;
using namespace expd::testing;
using nlohmann::json;

namespace {

constexpr core::unix_micros day = 86400LL * 1000000;

std::string partition_of(core::unix_micros t) {
  auto h = core::utc_hour_of(t);
  char name[32];
  std::snprintf(name, sizeof(name), "events_%04d%02d%02d", h.year, h.month, h.day);
  return name;
}

std::string exists(const scratch_database& db, const std::string& table) {
  return db.scalar("SELECT to_regclass('exp." + table + "') IS NOT NULL");
}

} // namespace

TEST(event_partitions, the_window_is_made_at_start_from_the_oldest_day_accepted_to_a_week_ahead) {
  scratch_database db;
  expd_process node{db, {"--event-max-past-hours=48"}};
  auto now = runtime::now_micros();
  for (int d = -2; d <= 7; ++d)
    EXPECT_EQ(exists(db, partition_of(now + d * day)), "t") << d;
  EXPECT_EQ(exists(db, partition_of(now + 9 * day)), "f");
  EXPECT_EQ(exists(db, partition_of(now - 4 * day)), "f");
  EXPECT_NE(node.request("GET", "/metrics").body.find("expd_event_partitions_missing 0"),
            std::string::npos);
}

// Before: the loader made a missing day's partition itself with CREATE TABLE ...
// PARTITION OF, whose lock on exp.events queued behind the reader, and loading stopped
// until the reader ended.
TEST(event_partitions, a_long_reader_never_stalls_the_loader) {
  scratch_database db;
  expd_process node{db};
  auto x = prepare(node);
  auto three_days_ago = runtime::now_micros() - 3 * day;
  db.scalar("DROP TABLE exp." + partition_of(three_days_ago));
  pqxx::connection reader{db.url()};
  pqxx::work reading{reader};
  reading.exec("SELECT count(*) FROM exp.events");
  auto e = event(x, "old-one");
  e["timestamp"] = core::format_rfc3339(three_days_ago);
  ASSERT_EQ(post(node, e).status, 200);
  ASSERT_EQ(post(node, event(x, "new-one")).status, 200);
  EXPECT_TRUE(eventually([&] { return stored(db) == "2"; }, 100)) << stored(db);
  EXPECT_NE(node.request("GET", "/metrics").body.find("expd_event_loader_lag_events 0"),
            std::string::npos);
  reading.abort();
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.events_default"), "1");
}

TEST(event_partitions, a_day_whose_lock_a_reader_holds_waits_for_the_next_pass_not_longer) {
  scratch_database db;
  runtime::migrate(db.url());
  pqxx::connection reader{db.url()};
  pqxx::work reading{reader};
  reading.exec("SELECT count(*) FROM exp.events"); // holds exp.events_default too
  runtime::event_store store{db.url()};
  auto now = runtime::now_micros();
  auto pass = store.prepare_partitions(now, now + 2 * day, std::chrono::milliseconds{200});
  EXPECT_EQ(pass.created, 0);
  EXPECT_EQ(pass.waited, 3);
  reading.abort();
  pass = store.prepare_partitions(now, now + 2 * day, std::chrono::milliseconds{200});
  EXPECT_EQ(pass.created, 3);
  EXPECT_EQ(pass.waited, 0);
  EXPECT_EQ(exists(db, partition_of(now + 2 * day)), "t");
  // Made ahead, the partitions have the table's indexes and take events.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = '" + partition_of(now)
                      + "'"),
            db.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'events_default'"));
}

TEST(event_partitions, events_already_in_the_default_partition_keep_their_day_there) {
  scratch_database db;
  runtime::migrate(db.url());
  db.scalar("INSERT INTO exp.events (event_id, occurred_at, received_at, event_type, unit_type,"
            " unit_id) VALUES (gen_random_uuid(), now(), now(), 'x', 'user', 'u')");
  runtime::event_store store{db.url()};
  auto now = runtime::now_micros();
  auto pass = store.prepare_partitions(now, now, std::chrono::milliseconds{200});
  EXPECT_EQ(pass.created, 0);
  EXPECT_EQ(pass.in_default, 1);
  EXPECT_EQ(exists(db, partition_of(now)), "f");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.events"), "1");
}

TEST(event_partitions, the_read_only_role_has_a_statement_timeout) {
  scratch_database db;
  runtime::migrate(db.url());
  EXPECT_NE(db.scalar("SELECT array_to_string(rolconfig, ',') FROM pg_roles"
                      " WHERE rolname = 'expd_readonly'")
              .find("statement_timeout=60s"),
            std::string::npos);
}

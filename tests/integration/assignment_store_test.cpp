// runtime::assignment_store against a real PostgreSQL: rows it refuses are dead-lettered
// and never hold back the rest; an unreachable database keeps every row for a retry.
#include <gtest/gtest.h>

#include <memory>
#include <set>

#include "core/shard_ring.hpp"
#include "runtime/assignment_store.hpp"
#include "runtime/migrations.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace expd::testing;

namespace {

const auto experiment = *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b");
const auto variant = *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5c");
const auto salt = std::make_shared<const std::string>("exp");

core::assignment_record row(std::string unit_id, core::uuid variant_id = variant) {
  return {experiment, variant_id, "user", std::move(unit_id), salt};
}

void create_experiment(const scratch_database& db) {
  runtime::migrate(db.url());
  db.scalar("INSERT INTO exp.experiments (id, name, unit_type, status, salt) VALUES ('"
            + experiment.str() + "', 'exp', 'user', 'running', 'exp')");
  db.scalar("INSERT INTO exp.variants (id, experiment_id, name, position, allocation) VALUES ('"
            + variant.str() + "', '" + experiment.str() + "', 'a', 0, 1)");
}

} // namespace

// Issue 10, defect 1: one refused row used to fail its whole batch on every retry.
TEST(assignment_store, dead_letters_the_rows_postgresql_refuses_and_stores_the_rest) {
  scratch_database db;
  create_experiment(db);
  runtime::assignment_store store{db.url()};
  auto unknown_variant = *core::uuid::parse("00000000-0000-0000-0000-0000000000ff");
  assignment_batch rows{row("u0"),
                        row(std::string{"\0x", 2}),   // text holds no NUL
                        row("u2"),
                        row("a\xff"),                  // nor invalid UTF-8
                        row("u4"),
                        row("u5", unknown_variant),    // a foreign key that does not hold
                        row("u6")};
  auto result = store.write(rows);
  EXPECT_EQ(result.failure, "");
  EXPECT_EQ(result.settled, rows.size());
  ASSERT_EQ(result.refused.size(), 3u);
  EXPECT_EQ(result.refused[0].index, 1u);
  EXPECT_EQ(result.refused[1].index, 3u);
  EXPECT_EQ(result.refused[2].index, 5u);
  EXPECT_NE(result.refused[0].error.find("0x00"), std::string::npos) << result.refused[0].error;
  EXPECT_EQ(db.scalar("SELECT string_agg(unit_id, ',' ORDER BY unit_id) FROM exp.assignments"),
            "u0,u2,u4,u6");
  EXPECT_EQ(db.scalar("SELECT string_agg(encode(unit_id, 'hex'), ',' ORDER BY id)"
                      " FROM exp.assignment_dead_letters"),
            "0078,61ff,7535");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignment_dead_letters WHERE experiment_id = '"
                      + experiment.str() + "' AND unit_type = 'user'::bytea AND salt = 'exp'::bytea"
                      " AND error <> '' AND dead_lettered_at IS NOT NULL"),
            "3");
  EXPECT_EQ(db.scalar("SELECT variant_id FROM exp.assignment_dead_letters ORDER BY id DESC LIMIT 1"),
            unknown_variant.str());

  // The store stays usable: the next batch is written whole.
  result = store.write({row("u7"), row("u8")});
  EXPECT_EQ(result.settled, 2u);
  EXPECT_TRUE(result.refused.empty());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), "6");
}

TEST(assignment_store, an_unreachable_database_is_a_failure_not_a_refusal) {
  scratch_database db;
  create_experiment(db);
  runtime::assignment_store store{db.url()};
  ASSERT_EQ(store.write({row("u0")}).settled, 1u);
  db.allow_connections(false);
  auto result = store.write({row("u1"), row(std::string{"\0x", 2}), row("u2")});
  EXPECT_NE(result.failure, "");
  EXPECT_EQ(result.settled, 0u);
  EXPECT_TRUE(result.refused.empty());
  db.allow_connections(true);
  result = store.write({row("u1"), row(std::string{"\0x", 2}), row("u2")});
  EXPECT_EQ(result.failure, "");
  EXPECT_EQ(result.settled, 3u);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments"), "3");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignment_dead_letters"), "1");
}

// A node that gains ring slots loads the sticky rows of those slots only, including
// rows stored before exp.assignments had a slot column.
TEST(assignment_store, rows_carry_their_ring_slot_and_load_by_slot) {
  scratch_database db;
  create_experiment(db);
  runtime::assignment_store store{db.url()};
  assignment_batch rows;
  for (int i = 0; i < 200; ++i)
    rows.push_back(row("user-" + std::to_string(i)));
  ASSERT_EQ(store.write(rows).failure, "");
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.assignments WHERE slot IS NULL"), "0");
  EXPECT_EQ(db.scalar("SELECT slot FROM exp.assignments WHERE unit_id = 'user-123'"), "2731");
  db.scalar("UPDATE exp.assignments SET slot = NULL WHERE unit_id LIKE 'user-1%'");
  std::vector<std::uint32_t> slots;
  for (std::uint32_t s = 0; s < core::ring_slots; s += 3)
    slots.push_back(s);
  std::set<std::string> loaded;
  store.for_each_served(
    17, [&](assignment_batch&& batch) {
      for (auto& r : batch)
        loaded.insert(r.unit_id);
    },
    &slots);
  std::set<std::string> expected;
  for (auto& r : rows)
    if (core::slot_of(r.unit_id) % 3 == 0)
      expected.insert(r.unit_id);
  EXPECT_EQ(loaded, expected);
  EXPECT_GT(expected.size(), 40u);
}

// What an event of a unit whose slot is moving gets attached (ingestion asks
// PostgreSQL then): the unit's variant of each listed experiment that runs or is
// paused, under its current salt, and nothing of a unit of another type or id.
TEST(assignment_store, held_answers_each_units_stored_variants_in_order) {
  scratch_database db;
  create_experiment(db);
  const auto other = *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a60");
  const auto other_variant = *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a61");
  db.scalar("INSERT INTO exp.experiments (id, name, unit_type, status, salt) VALUES ('"
            + other.str() + "', 'other', 'user', 'running', 'other')");
  db.scalar("INSERT INTO exp.variants (id, experiment_id, name, position, allocation) VALUES ('"
            + other_variant.str() + "', '" + other.str() + "', 'b', 0, 1)");
  runtime::assignment_store store{db.url()};
  auto other_salt = std::make_shared<const std::string>("other");
  // A hostile id travels as data: quotes, braces, a backslash, non-ASCII.
  std::string odd = "u\"{1,2}\\ é";
  ASSERT_EQ(store.write({row("u1"), row(odd), {other, other_variant, "user", "u1", other_salt}})
              .failure,
            "");
  std::vector<std::pair<std::string, std::string>> units{
    {"user", "u1"}, {"user", "nobody"}, {"device", "u1"}, {"user", odd}};
  auto held = store.held(units, {experiment, other});
  ASSERT_EQ(held.size(), 4u);
  // By experiment id, as PostgreSQL orders uuids.
  EXPECT_EQ(held[0], (std::vector<std::pair<core::uuid, core::uuid>>{{experiment, variant},
                                                                     {other, other_variant}}));
  EXPECT_TRUE(held[1].empty());
  EXPECT_TRUE(held[2].empty());
  ASSERT_EQ(held[3].size(), 1u);
  EXPECT_EQ(held[3][0], std::make_pair(experiment, variant));
  // Only the experiments asked about, only running or paused ones, only the current salt.
  EXPECT_EQ(store.held(units, {other})[0].size(), 1u);
  db.scalar("UPDATE exp.experiments SET status = 'stopped' WHERE id = '" + other.str() + "'");
  EXPECT_EQ(store.held(units, {experiment, other})[0].size(), 1u);
  db.scalar("UPDATE exp.experiments SET salt = 'exp2' WHERE id = '" + experiment.str() + "'");
  EXPECT_TRUE(store.held(units, {experiment, other})[0].empty());
  EXPECT_TRUE(store.held({}, {experiment}).empty());
  EXPECT_EQ(store.held(units, {}).size(), 4u);
}

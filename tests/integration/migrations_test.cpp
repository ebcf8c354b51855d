// Migrations: applied once, recorded, safe to run twice, and history is append-only.
#include <gtest/gtest.h>

#include "runtime/migrations.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace expd::testing;

TEST(migrations, apply_once_and_are_safe_to_run_twice) {
  scratch_database db;
  auto first = runtime::migrate(db.url());
  ASSERT_EQ(first.size(), runtime::embedded_migrations().size());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.schema_migrations"),
            std::to_string(first.size()));
  EXPECT_EQ(db.scalar("SELECT to_regclass('exp.assignments') IS NOT NULL"), "t");
  EXPECT_TRUE(runtime::migrate(db.url()).empty());
}

TEST(migrations, a_changed_migration_is_refused) {
  scratch_database db;
  runtime::migrate(db.url());
  auto changed = runtime::embedded_migrations();
  changed[0].sql += "\n-- edited after the fact";
  EXPECT_THROW(runtime::migrate(db.url(), changed), std::runtime_error);
}

TEST(migrations, new_ones_apply_in_order_after_old_ones) {
  scratch_database db;
  auto list = runtime::embedded_migrations();
  auto last = list.back();
  list.pop_back();
  runtime::migrate(db.url(), list);
  list.push_back(last);
  auto applied = runtime::migrate(db.url(), list);
  ASSERT_EQ(applied.size(), 1u);
  EXPECT_EQ(applied[0], last.version);
}

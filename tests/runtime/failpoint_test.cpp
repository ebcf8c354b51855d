#include <gtest/gtest.h>

#include <csignal>

#include "runtime/failpoint.hpp"

using namespace expd::runtime;

TEST(failpoint, unknown_names_and_bad_counts_are_refused) {
  EXPECT_THROW(failpoints::arm("spool.after_sink"), std::invalid_argument);
  EXPECT_THROW(failpoints::arm("spool.after_sync@0"), std::invalid_argument);
  EXPECT_THROW(failpoints::arm("spool.after_sync@x"), std::invalid_argument);
  EXPECT_THROW(failpoints::arm("spool.after_sync@3x"), std::invalid_argument);
  EXPECT_THROW(failpoints::arm("spool.after_sync,,"), std::invalid_argument);
  EXPECT_FALSE(failpoints::any_armed);
}

TEST(failpoint, an_unarmed_point_does_nothing) {
  for (auto name : failpoints::names())
    failpoint(name);
  SUCCEED();
}

TEST(failpoint, an_armed_point_kills_the_process_on_its_nth_pass) {
  EXPECT_EXIT(
    {
      failpoints::arm("loader.after_commit@3,archiver.after_data");
      failpoint("loader.after_commit");
      failpoint("loader.after_commit");
      failpoint("spool.after_sync"); // not armed: passes
      std::_Exit(0);
    },
    ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
    {
      failpoints::arm("loader.after_commit@3");
      for (int i = 0; i < 3; ++i)
        failpoint("loader.after_commit");
      std::_Exit(0);
    },
    ::testing::KilledBySignal(SIGKILL), "");
  EXPECT_EXIT(
    {
      failpoints::arm("spool.after_write,archiver.after_manifest");
      failpoint("archiver.after_manifest");
      std::_Exit(0);
    },
    ::testing::KilledBySignal(SIGKILL), "");
}

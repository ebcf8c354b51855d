#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include <unistd.h>

#include "runtime/assignment_journal.hpp"

using namespace expd;
namespace fs = std::filesystem;

namespace {

class assignment_journal_test : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::temp_directory_path()
           / ("expd_journal_test_" + std::to_string(::getpid()) + "_"
              + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
  }
  void TearDown() override {
    fs::remove_all(root);
  }

  static core::assignment_record row(std::string unit_id) {
    static const auto salt = std::make_shared<const std::string>("exp");
    return {*core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"),
            *core::uuid::parse("0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5c"), "user",
            std::move(unit_id), salt};
  }

  // Every unit id the journals under root hold, in the order read.
  std::vector<std::string> replay(std::uint64_t& unreadable) const {
    std::vector<std::string> units;
    runtime::read_assignment_journals(root, 2, [&](assignment_batch&& batch) {
      EXPECT_LE(batch.size(), 2u);
      for (auto& r : batch) {
        EXPECT_EQ(*r.salt, "exp");
        units.push_back(r.unit_id);
      }
    }, unreadable);
    return units;
  }

  fs::path root;
};

} // namespace

TEST_F(assignment_journal_test, what_a_process_left_is_read_back_from_every_shard) {
  {
    // Three shards wrote; the next run may have another shard count.
    runtime::assignment_journal a{root, 0}, b{root, 1}, c{root, 2};
    assignment_batch rows{row("u1"), row("u2"), row("u3")};
    EXPECT_EQ(a.write(rows.data(), 2), 2u);
    EXPECT_EQ(a.write(rows.data() + 2, 1), 3u);
    EXPECT_EQ(b.write(rows.data(), 2), 2u);
  }
  std::uint64_t unreadable = 0;
  EXPECT_EQ(replay(unreadable), (std::vector<std::string>{"u1", "u2", "u3", "u1", "u2"}));
  EXPECT_EQ(unreadable, 0u);
  runtime::remove_assignment_journals(root);
  EXPECT_TRUE(replay(unreadable).empty());
  EXPECT_TRUE(fs::exists(root));
}

TEST_F(assignment_journal_test, released_segments_are_not_read_again) {
  std::uint64_t last = 0;
  {
    runtime::assignment_journal journal{root, 0};
    // 1 KiB ids: a 4 MiB segment holds about 4000, so 6000 rows take two.
    for (int i = 0; i < 6000; ++i) {
      auto r = row(std::to_string(i) + std::string(1000, 'x'));
      last = journal.write(&r, 1);
    }
    journal.release_through(last);
  }
  std::uint64_t unreadable = 0;
  auto units = replay(unreadable);
  // The segment being written stays; everything before it is gone.
  ASSERT_FALSE(units.empty());
  EXPECT_LT(units.size(), 6000u);
  EXPECT_EQ(units.back(), std::to_string(last - 1) + std::string(1000, 'x'));
}

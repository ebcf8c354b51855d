#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <csignal>

#include <sys/resource.h>
#include <unistd.h>

#include "core/spool_record.hpp"
#include "runtime/spool.hpp"

using namespace expd::runtime;
namespace fs = std::filesystem;

namespace {

class spool_test : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path()
          / ("expd_spool_test_" + std::to_string(::getpid()) + "_"
             + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
  }
  void TearDown() override {
    fs::remove_all(dir);
  }
  spool_config config(std::uint64_t max_bytes = 1ULL << 30) const {
    return {dir, 1024 * 1024, max_bytes, true};
  }
  std::vector<std::pair<std::uint64_t, std::string>> read_all(std::uint64_t after,
                                                              std::uint64_t through) {
    spool_reader reader{dir};
    std::vector<std::pair<std::uint64_t, std::string>> out;
    reader.read(after, through, SIZE_MAX,
                [&](std::uint64_t seq, std::string_view p) { out.emplace_back(seq, p); });
    return out;
  }
  fs::path dir;
};

std::string payload(std::uint64_t i) {
  return "event-" + std::to_string(i) + std::string(i % 300, 'x');
}

} // namespace

TEST_F(spool_test, records_survive_a_reopen_and_numbering_continues) {
  expd::core::uuid id;
  {
    spool s{config()};
    id = s.id();
    EXPECT_EQ(s.last_seq(), 0u);
    for (std::uint64_t i = 1; i <= 100; ++i)
      EXPECT_EQ(s.append(payload(i)), i);
    s.commit();
  }
  spool s{config()};
  EXPECT_EQ(s.id(), id);
  EXPECT_EQ(s.last_seq(), 100u);
  EXPECT_EQ(s.append("next"), 101u);
  s.commit();
  auto all = read_all(0, 101);
  ASSERT_EQ(all.size(), 101u);
  for (std::uint64_t i = 1; i <= 100; ++i)
    EXPECT_EQ(all[i - 1], std::make_pair(i, payload(i)));
  EXPECT_EQ(all[100].second, "next");
}

TEST_F(spool_test, uncommitted_records_are_not_on_disk) {
  {
    spool s{config()};
    s.append("kept");
    s.commit();
    s.append("lost: never committed, never acknowledged");
  }
  spool s{config()};
  EXPECT_EQ(s.last_seq(), 1u);
}

TEST_F(spool_test, a_torn_tail_is_cut_at_recovery_and_overwritten) {
  {
    spool s{config()};
    for (int i = 0; i < 10; ++i)
      s.append(payload(static_cast<std::uint64_t>(i)));
    s.commit();
  }
  // Tear the last record: scribble over its last bytes as a crash mid-write would.
  auto seg = spool_segments(dir).back().second;
  {
    spool_reader reader{dir};
    std::uint64_t end = expd::core::segment_header_bytes;
    reader.read(0, 10, SIZE_MAX, [&](std::uint64_t, std::string_view p) { end += 16 + p.size(); });
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(end - 3));
    f.write("\xff\xff\xff", 3);
  }
  spool s{config()};
  EXPECT_EQ(s.last_seq(), 9u);
  EXPECT_EQ(s.append("replacement"), 10u);
  s.commit();
  auto all = read_all(8, 10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].second, "replacement");
}

// Found by tests/fuzz (spool_recovery): recovery stopped at a torn record but left the
// whole frames behind it on disk, so an append of the torn record's size ended exactly
// where they began, and the next recovery took them back as records 4 and 5.
TEST_F(spool_test, records_behind_a_torn_one_do_not_come_back_after_the_next_append) {
  {
    spool s{config()};
    for (int i = 1; i <= 5; ++i)
      s.append("record-" + std::to_string(i)); // all of one size
    s.commit();
  }
  {
    // Scribble over the last byte of record 3's payload (frames of 24 bytes after the
    // segment's header).
    std::fstream f(spool_segments(dir).back().second, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(expd::core::segment_header_bytes + 3 * 24 - 1));
    f.write("!", 1);
  }
  {
    spool s{config()};
    ASSERT_EQ(s.last_seq(), 2u);
    EXPECT_EQ(s.append("record-X"), 3u); // the size of the torn one
    s.commit();
  }
  spool s{config()};
  EXPECT_EQ(s.last_seq(), 3u);
  auto all = read_all(0, s.last_seq());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].second, "record-X");
}

TEST_F(spool_test, segments_roll_over_and_readers_follow) {
  spool s{config()};
  std::string big(100 * 1024, 'b');
  for (int i = 0; i < 40; ++i) // ~4 MB: four or more 1 MiB segments
    s.append(big + std::to_string(i));
  s.commit();
  EXPECT_GE(spool_segments(dir).size(), 4u);
  EXPECT_EQ(s.disk_bytes(), spool_segments(dir).size() * 1024 * 1024);
  auto all = read_all(0, 40);
  ASSERT_EQ(all.size(), 40u);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(all[static_cast<std::size_t>(i)].second, big + std::to_string(i));
  // A reader continues across segments in small steps.
  spool_reader reader{dir};
  std::uint64_t at = 0;
  while (at < 40)
    reader.read(at, 40, 3, [&](std::uint64_t seq, std::string_view) { EXPECT_EQ(seq, ++at); });
}

TEST_F(spool_test, released_segments_are_deleted_but_the_current_one_stays) {
  spool s{config()};
  std::string big(200 * 1024, 'r');
  for (int i = 0; i < 20; ++i)
    s.append(big);
  s.commit();
  auto before = spool_segments(dir).size();
  ASSERT_GE(before, 3u);
  s.release_through(20);
  auto after = spool_segments(dir);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_LE(after[0].first, 20u);
  // Still readable from where consumers stand, and numbering survives a reopen.
  s.append("21");
  s.commit();
  EXPECT_EQ(read_all(20, 21).at(0).second, "21");
}

TEST_F(spool_test, full_past_the_limit) {
  spool s{config(2 * 1024 * 1024)};
  EXPECT_FALSE(s.full());
  std::string big(300 * 1024, 'f');
  for (int i = 0; i < 8; ++i)
    s.append(big);
  s.commit();
  EXPECT_TRUE(s.full());
  s.release_through(s.last_seq());
  EXPECT_FALSE(s.full());
}

TEST_F(spool_test, a_reader_asked_for_a_released_record_says_so) {
  spool s{config()};
  std::string big(400 * 1024, 'g');
  for (int i = 0; i < 10; ++i)
    s.append(big);
  s.commit();
  s.release_through(10);
  spool_reader reader{dir};
  EXPECT_THROW(reader.read(0, 10, 10, [](std::uint64_t, std::string_view) {}), spool_error);
}

TEST_F(spool_test, a_damaged_id_file_is_an_error_not_a_new_spool) {
  { spool s{config()}; }
  std::ofstream(dir / "spool.id", std::ios::trunc) << "not-a-uuid\n";
  EXPECT_THROW(spool{config()}, spool_error);
}

TEST_F(spool_test, records_too_large_are_refused) {
  spool s{config()};
  EXPECT_THROW(s.append(std::string(2 * 1024 * 1024, 'z')), spool_error);
  EXPECT_EQ(s.append("fine"), 1u);
}

TEST_F(spool_test, a_reader_that_ran_ahead_of_the_writer_sees_later_records) {
  // The reader's buffer holds the zeros past the last commit; records written there
  // later must be read, not taken as the end (the loader follows the writer this way).
  spool s{config()};
  spool_reader reader{dir};
  std::uint64_t at = 0;
  std::string big(50 * 1024, 'w');
  for (int round = 0; round < 60; ++round) { // ~3 MB: crosses segment boundaries
    for (int i = 0; i < 1 + round % 3; ++i)
      s.append(big + std::to_string(round));
    s.commit();
    reader.read(at, s.last_seq(), SIZE_MAX, [&](std::uint64_t seq, std::string_view p) {
      EXPECT_EQ(seq, at + 1);
      EXPECT_EQ(p, big + std::to_string(round));
      at = seq;
    });
    ASSERT_EQ(at, s.last_seq()) << "round " << round;
  }
}

TEST_F(spool_test, readers_learn_where_the_spool_now_starts) {
  spool s{config()};
  spool_reader reader{dir};
  EXPECT_EQ(reader.first_available(), 1u);
  std::string big(300 * 1024, 'a');
  for (int i = 0; i < 12; ++i)
    s.append(big);
  s.commit();
  s.release_through(8);
  auto first = reader.first_available();
  EXPECT_GT(first, 1u);
  EXPECT_LE(first, 9u);
  std::uint64_t seen = 0;
  reader.read(first - 1, 12, SIZE_MAX, [&](std::uint64_t seq, std::string_view) { seen = seq; });
  EXPECT_EQ(seen, 12u);
}

namespace {

// Caps the size of files this process may write (RLIMIT_FSIZE) for the scope: writes
// and preallocation past the cap fail with EFBIG, as on a full disk, without privileges.
class file_size_cap {
public:
  explicit file_size_cap(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = std::signal(SIGXFSZ, SIG_IGN); // else the kernel kills the process
    rlimit cap{bytes, saved_.rlim_max};
    ::setrlimit(RLIMIT_FSIZE, &cap);
  }
  ~file_size_cap() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    std::signal(SIGXFSZ, old_handler_);
  }

private:
  rlimit saved_{};
  void (*old_handler_)(int) = nullptr;
};

// Appends and commits `n` records; returns the number of the last.
std::uint64_t commit_records(spool& s, std::uint64_t n) {
  for (std::uint64_t i = 1; i <= n; ++i)
    s.append(payload(i));
  s.commit();
  return s.last_seq();
}

// After a rollback to `committed`: the readers see exactly the committed records, and
// the next record takes the number after them.
void expect_goes_on_from(spool& s, std::uint64_t committed, const fs::path& dir) {
  EXPECT_EQ(s.last_seq(), committed);
  EXPECT_EQ(s.append("next"), committed + 1);
  s.commit();
  spool_reader reader{dir};
  std::vector<std::string> seen;
  reader.read(0, committed + 1, SIZE_MAX, [&](std::uint64_t, std::string_view p) { seen.emplace_back(p); });
  ASSERT_EQ(seen.size(), committed + 1);
  EXPECT_EQ(seen.back(), "next");
}

} // namespace

// A commit that cannot write (here: past the file size cap) leaves nothing of its
// records behind: not for readers, not after a reopen, not under their numbers.
TEST_F(spool_test, a_failed_commit_is_rolled_back_and_its_numbers_reused) {
  spool s{config()};
  auto committed = commit_records(s, 10);
  {
    // Records fill the segment past 512 KiB; the write of the group fails there.
    file_size_cap cap{512 * 1024};
    for (std::uint64_t i = 11; i <= 3000; ++i)
      s.append(payload(i));
    EXPECT_THROW(s.commit(), spool_error);
  }
  // Rolled back once the cap is gone: zeroing would write past it, which zeroing
  // preallocated space on a full disk does not need.
  s.rollback();
  expect_goes_on_from(s, committed, dir);
}

// A group that spans a rollover and then fails to commit: the new segment goes, the
// old one's tail is zeroed, and a reopen finds exactly the committed records.
TEST_F(spool_test, a_failed_commit_across_a_rollover_is_rolled_back) {
  std::uint64_t committed = 0;
  {
    spool s{config()};
    committed = commit_records(s, 100);
    std::string big(1000, 'y');
    while (s.disk_bytes() < 2 * 1024 * 1024)
      s.append(big);
    for (int k = 0; k < 700; ++k) // ~700 KB into the new segment, past the cap below
      s.append(big);
    {
      file_size_cap cap{512 * 1024};
      EXPECT_THROW(s.commit(), spool_error);
    }
    s.rollback();
    EXPECT_EQ(s.last_seq(), committed);
    EXPECT_EQ(s.disk_bytes(), 1024u * 1024);
    EXPECT_EQ(read_all(0, committed).size(), committed);
  }
  spool s{config()};
  EXPECT_EQ(s.last_seq(), committed);
  EXPECT_EQ(s.append("next"), committed + 1);
}

// An append whose rollover cannot write the old segment's tail (as on a full disk)
// throws; rolled back, the spool goes on from its last commit.
TEST_F(spool_test, an_append_that_fails_at_a_rollover_is_rolled_back) {
  spool s{config()};
  auto committed = commit_records(s, 100);
  {
    file_size_cap cap{512 * 1024};
    std::string big(1000, 'y');
    bool threw = false;
    for (int k = 0; k < 5000 && !threw; ++k) {
      try {
        s.append(big);
      } catch (const spool_error&) {
        threw = true;
      }
    }
    ASSERT_TRUE(threw);
  }
  s.rollback();
  expect_goes_on_from(s, committed, dir);
}

// When even the undo cannot write, the spool takes nothing more until a restart, which
// recovers whatever is on disk.
TEST_F(spool_test, a_rollback_that_cannot_write_leaves_the_spool_refusing_appends) {
  spool s{config()};
  s.append(payload(1));
  s.commit();
  file_size_cap cap{512 * 1024};
  std::string big(1000, 'y');
  for (int k = 0; k < 700; ++k)
    s.append(big);
  EXPECT_THROW(s.commit(), spool_error);
  EXPECT_THROW(s.rollback(), spool_error);
  EXPECT_THROW(s.append("more"), spool_error);
}

// A smaller --spool-max-mb gives smaller segments; the segments already written keep
// their own size, so recovery finds every record and numbering goes on from there.
TEST_F(spool_test, a_new_segment_size_reads_old_segments_as_they_were_written) {
  auto sized = [&](std::uint64_t segment) { return spool_config{dir, segment, 1ULL << 30, true}; };
  std::string big(1000, 'm');
  {
    spool s{sized(4 << 20)};
    for (int i = 1; i <= 3000; ++i) // ~3 MB, all in the first 4 MiB segment
      s.append(big + std::to_string(i));
    s.commit();
  }
  {
    spool s{sized(1 << 20)};
    EXPECT_EQ(s.last_seq(), 3000u);
    EXPECT_EQ(s.disk_bytes(), (4u << 20) + (1u << 20));
    for (int i = 3001; i <= 5000; ++i) // past the old segment's end: new 1 MiB ones
      EXPECT_EQ(s.append(big + std::to_string(i)), static_cast<std::uint64_t>(i));
    s.commit();
  }
  spool s{sized(8 << 20)};
  EXPECT_EQ(s.last_seq(), 5000u);
  auto all = read_all(0, 5000);
  ASSERT_EQ(all.size(), 5000u);
  for (std::uint64_t i = 1; i <= 5000; ++i)
    ASSERT_EQ(all[i - 1], std::make_pair(i, big + std::to_string(i)));
  // Each restart with another size starts a segment of that size at once.
  auto segments = spool_segments(dir);
  ASSERT_GE(segments.size(), 4u);
  EXPECT_EQ(segments[1].first, 3001u);
  EXPECT_EQ(segments.back().first, 5001u);
  EXPECT_EQ(fs::file_size(segments.front().second), 4u << 20);
  EXPECT_EQ(fs::file_size(segments[1].second), 1u << 20);
  EXPECT_EQ(fs::file_size(segments.back().second), 8u << 20);
  std::uint64_t sum = 0;
  for (auto& [_, path] : segments)
    sum += fs::file_size(path);
  EXPECT_EQ(s.disk_bytes(), sum);
}

// A segment written before segments had headers: frames from its first byte.
TEST_F(spool_test, a_headless_segment_is_read_from_its_first_byte) {
  fs::create_directories(dir);
  std::string frames;
  for (std::uint64_t i = 1; i <= 20; ++i)
    expd::core::append_frame(frames, i, payload(i));
  frames.resize(2 << 20, '\0');
  std::ofstream(dir / "00000000000000000001.seg", std::ios::binary) << frames;
  spool s{config()};
  EXPECT_EQ(s.last_seq(), 20u);
  EXPECT_EQ(s.append("after"), 21u);
  s.commit();
  auto all = read_all(0, 21);
  ASSERT_EQ(all.size(), 21u);
  EXPECT_EQ(all[19], std::make_pair(std::uint64_t{20}, payload(20)));
  EXPECT_EQ(all[20].second, "after");
}

TEST_F(spool_test, a_damaged_segment_header_is_an_error_not_an_empty_spool) {
  {
    spool s{config()};
    s.append("kept");
    s.commit();
  }
  auto seg = spool_segments(dir).back().second;
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(9);
    f.write("\x7f", 1);
  }
  EXPECT_THROW(spool{config()}, spool_error);
  EXPECT_THROW(read_all(0, 1), spool_error);
}

// A crash while a segment was being made leaves its temporary file, never a segment
// without a header.
TEST_F(spool_test, a_half_made_segment_is_removed_at_recovery) {
  {
    spool s{config()};
    s.append("kept");
    s.commit();
  }
  std::ofstream(dir / "00000000000000000002.seg.tmp") << "partial";
  spool s{config()};
  EXPECT_EQ(s.last_seq(), 1u);
  EXPECT_FALSE(fs::exists(dir / "00000000000000000002.seg.tmp"));
}

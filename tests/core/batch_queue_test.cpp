#include <gtest/gtest.h>

#include "core/batch_queue.hpp"

using expd::core::batch_policy;
using expd::core::batch_queue;
using std::chrono::microseconds;
using tickets = std::vector<std::uint64_t>;

namespace {

batch_queue::clock::time_point at(std::int64_t us) {
  return batch_queue::clock::time_point{microseconds{us}};
}

batch_policy policy(std::uint32_t batch, std::uint32_t queue, std::uint64_t tokens,
                    std::int64_t wait_us) {
  batch_policy p;
  p.max_batch = batch;
  p.max_queue = queue;
  p.max_batch_tokens = tokens;
  p.max_wait = microseconds{wait_us};
  return p;
}

} // namespace

TEST(batch_queue, the_oldest_waits_its_bound_for_company) {
  batch_queue q{policy(4, 16, 1000, 500)};
  EXPECT_FALSE(q.due());
  EXPECT_TRUE(q.take().empty());
  ASSERT_TRUE(q.push(1, 10, at(100)));
  EXPECT_EQ(q.due(), at(600));
  ASSERT_TRUE(q.push(2, 10, at(300)));
  EXPECT_EQ(q.due(), at(600)) << "the oldest's bound, not the newest's";
  EXPECT_EQ(q.take(), (tickets{1, 2}));
  EXPECT_FALSE(q.due());
}

TEST(batch_queue, a_full_batch_is_due_at_once) {
  batch_queue q{policy(3, 16, 1000, 500)};
  for (std::uint64_t t = 1; t <= 3; ++t)
    ASSERT_TRUE(q.push(t, 10, at(100 + static_cast<std::int64_t>(t))));
  EXPECT_EQ(q.due(), at(101));
  q.push(4, 10, at(200));
  EXPECT_EQ(q.take(), (tickets{1, 2, 3}));
  // The one left starts its own wait.
  EXPECT_EQ(q.due(), at(700));
  EXPECT_EQ(q.take(), (tickets{4}));
}

TEST(batch_queue, the_token_budget_counts_rows_times_the_longest) {
  // 100 tokens: 3 rows of 30, or 2 rows when one is 50 long (2 x 50), not 3 (3 x 50).
  batch_queue q{policy(8, 16, 100, 500)};
  q.push(1, 30, at(0));
  q.push(2, 30, at(1));
  q.push(3, 30, at(2));
  EXPECT_EQ(q.due(), at(500)) << "all three fit: they may wait for more";
  q.push(4, 30, at(3));
  EXPECT_EQ(q.due(), at(0)) << "the fourth does not fit: the batch cannot grow";
  EXPECT_EQ(q.take(), (tickets{1, 2, 3}));
  q.push(5, 50, at(4));
  q.push(6, 10, at(5));
  EXPECT_EQ(q.take(), (tickets{4, 5})) << "2 x 50; 6 would make it 3 x 50";
  EXPECT_EQ(q.take(), (tickets{6}));
}

TEST(batch_queue, a_request_over_the_budget_alone_still_goes) {
  batch_queue q{policy(8, 16, 100, 500)};
  q.push(1, 150, at(0));
  q.push(2, 10, at(1));
  EXPECT_EQ(q.take(), (tickets{1}));
  EXPECT_EQ(q.take(), (tickets{2}));
}

TEST(batch_queue, a_full_queue_refuses) {
  batch_queue q{policy(8, 2, 1000, 500)};
  EXPECT_TRUE(q.push(1, 10, at(0)));
  EXPECT_FALSE(q.full());
  EXPECT_TRUE(q.push(2, 10, at(0)));
  EXPECT_TRUE(q.full());
  EXPECT_FALSE(q.push(3, 10, at(0)));
  EXPECT_EQ(q.size(), 2u);
  EXPECT_EQ(q.take(), (tickets{1, 2}));
  EXPECT_TRUE(q.push(3, 10, at(1)));
}

#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/training_record.hpp"
#include "core/training_schedule.hpp"

using namespace expd::core;

namespace {

using S = training_status;

rank_outcome failed(bool retriable, std::string error = "rank lost") {
  return {rank_result::failed, retriable, std::move(error)};
}

const rank_outcome ok{rank_result::succeeded, false, ""};

} // namespace

TEST(training_schedule, status_names_round_trip) {
  for (auto s : {S::queued, S::running, S::succeeded, S::failed, S::cancelled})
    EXPECT_EQ(parse_training_status(to_string(s)), s);
  EXPECT_FALSE(parse_training_status("done"));
  EXPECT_FALSE(is_final(S::queued));
  EXPECT_FALSE(is_final(S::running));
  EXPECT_TRUE(is_final(S::cancelled));
}

TEST(training_schedule, a_final_job_stays_so) {
  for (auto from : {S::succeeded, S::failed, S::cancelled})
    for (auto to : {S::queued, S::running, S::succeeded, S::failed, S::cancelled})
      EXPECT_FALSE(transition_allowed(from, to)) << to_string(from) << " -> " << to_string(to);
  EXPECT_TRUE(transition_allowed(S::queued, S::running));
  EXPECT_TRUE(transition_allowed(S::queued, S::cancelled));
  EXPECT_FALSE(transition_allowed(S::queued, S::succeeded));
  EXPECT_FALSE(transition_allowed(S::queued, S::queued));
  EXPECT_TRUE(transition_allowed(S::running, S::queued));
  EXPECT_TRUE(transition_allowed(S::running, S::failed));
  EXPECT_FALSE(transition_allowed(S::running, S::running));
}

TEST(training_schedule, no_worker_means_every_job_waits_and_says_so) {
  auto plan = plan_dispatch({{"a", 1}, {"b", 2}}, {}, 0);
  EXPECT_TRUE(plan.starts.empty());
  ASSERT_EQ(plan.waiting.size(), 2u);
  EXPECT_EQ(plan.waiting[0].reason, "no trainer worker is registered on this node");
}

TEST(training_schedule, jobs_start_oldest_first_one_per_worker) {
  auto plan = plan_dispatch({{"a", 1}, {"b", 1}, {"c", 1}}, {3, 5}, 4);
  ASSERT_EQ(plan.starts.size(), 2u);
  EXPECT_EQ(plan.starts[0].id, "a");
  EXPECT_EQ(plan.starts[0].workers, std::vector<std::size_t>{3});
  EXPECT_EQ(plan.starts[1].id, "b");
  EXPECT_EQ(plan.starts[1].workers, std::vector<std::size_t>{5});
  ASSERT_EQ(plan.waiting.size(), 1u);
  EXPECT_EQ(plan.waiting[0].id, "c");
  EXPECT_EQ(plan.waiting[0].reason, "waiting for 1 idle trainer workers (0 idle)");
}

TEST(training_schedule, a_job_wider_than_the_node_waits_without_holding_up_the_others) {
  auto plan = plan_dispatch({{"wide", 3}, {"narrow", 2}}, {0, 1}, 2);
  ASSERT_EQ(plan.starts.size(), 1u);
  EXPECT_EQ(plan.starts[0].id, "narrow");
  EXPECT_EQ(plan.starts[0].workers, (std::vector<std::size_t>{0, 1}));
  ASSERT_EQ(plan.waiting.size(), 1u);
  EXPECT_EQ(plan.waiting[0].reason, "needs 3 ranks; this node has 2 trainer workers registered");
}

TEST(training_schedule, a_job_that_fits_later_holds_up_the_younger_ones) {
  auto plan = plan_dispatch({{"two", 2}, {"one", 1}}, {7}, 2);
  EXPECT_TRUE(plan.starts.empty());
  ASSERT_EQ(plan.waiting.size(), 2u);
  EXPECT_EQ(plan.waiting[0].reason, "waiting for 2 idle trainer workers (1 idle)");
  EXPECT_EQ(plan.waiting[1].reason, "waiting behind job two");
}

TEST(training_schedule, success_and_cancel) {
  EXPECT_EQ(after_outcomes({ok, ok}, false, 1, 3).status, S::succeeded);
  EXPECT_EQ(after_outcomes({ok, ok}, false, 1, 3).failures, 1u);
  EXPECT_EQ(after_outcomes({ok, {rank_result::cancelled, false, ""}}, false, 0, 3).status,
            S::cancelled);
  // Asked for: cancelled, whatever the ranks said on their way out.
  EXPECT_EQ(after_outcomes({failed(true)}, true, 0, 3).status, S::cancelled);
  EXPECT_EQ(after_outcomes({ok}, true, 0, 3).status, S::cancelled);
}

TEST(training_schedule, a_retriable_failure_is_queued_again_up_to_max_failures) {
  auto first = after_outcomes({ok, failed(true, "rank 1 lost")}, false, 0, 2);
  EXPECT_EQ(first.status, S::queued);
  EXPECT_EQ(first.failures, 1u);
  EXPECT_EQ(first.error, "rank 1 lost");
  EXPECT_EQ(after_outcomes({failed(true)}, false, 1, 2).status, S::queued);
  auto last = after_outcomes({failed(true)}, false, 2, 2);
  EXPECT_EQ(last.status, S::failed);
  EXPECT_EQ(last.failures, 3u);
  EXPECT_EQ(after_outcomes({failed(true)}, false, 0, 0).status, S::failed);
}

TEST(training_schedule, a_failure_of_the_job_itself_is_not_retried) {
  auto next = after_outcomes({failed(true), failed(false, "dataset: no such file")}, false, 0, 3);
  EXPECT_EQ(next.status, S::failed);
  EXPECT_EQ(next.error, "rank lost"); // the first failing rank's
}

TEST(training_schedule, eta_from_the_pace_so_far) {
  // 100 tokens per step, 50 tokens/s: 2 s per step, 8 steps left.
  EXPECT_DOUBLE_EQ(*training_eta_seconds(2, 10, 200, 50), 16.0);
  EXPECT_DOUBLE_EQ(*training_eta_seconds(10, 10, 1000, 50), 0.0);
  EXPECT_FALSE(training_eta_seconds(0, 10, 0, 50));
  EXPECT_FALSE(training_eta_seconds(2, 0, 200, 50)); // epochs: the total is not known yet
  EXPECT_FALSE(training_eta_seconds(2, 10, 200, 0));
}

TEST(training_record, json_shows_the_figures_and_hides_eta_once_final) {
  training_record r;
  r.id = "id";
  r.name = "job";
  r.spec = {{"name", "job"}};
  r.status = S::running;
  r.step = 2;
  r.total_steps = 10;
  r.tokens = 200;
  r.tokens_per_second = 50;
  r.created_at = "2026-12-01T00:00:00.000000Z";
  auto j = training_record_json(r);
  EXPECT_EQ(j["status"], "running");
  EXPECT_EQ(j["eta_seconds"], 16.0);
  EXPECT_EQ(j["spec"]["name"], "job");
  EXPECT_TRUE(j["loss"].is_null());
  EXPECT_TRUE(j["started_at"].is_null());
  EXPECT_FALSE(training_summary_json(r).contains("spec"));
  r.status = S::succeeded;
  EXPECT_TRUE(training_record_json(r)["eta_seconds"].is_null());
}

TEST(training_record, log_query) {
  auto q = parse_training_log_query("after=5&limit=20");
  EXPECT_EQ(q.after, 5u);
  EXPECT_EQ(q.limit, 20u);
  EXPECT_EQ(parse_training_log_query("").limit, 1000u);
  auto field_of = [](const char* query) {
    try {
      parse_training_log_query(query);
    } catch (const field_error& e) {
      return e.field();
    }
    return std::string{"(accepted)"};
  };
  EXPECT_EQ(field_of("after=-1"), "after");
  EXPECT_EQ(field_of("after=x"), "after");
  EXPECT_EQ(field_of("limit=0"), "limit");
  EXPECT_EQ(field_of("limit=10001"), "limit");
  EXPECT_NE(field_of("since=3"), "(accepted)");
}

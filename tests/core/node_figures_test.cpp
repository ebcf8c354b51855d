// The figures a node publishes with its lease renewal (GET /v1/cluster's stats).
#include "core/node_figures.hpp"

#include <gtest/gtest.h>

using namespace expd::core;

TEST(node_figures, http_requests_count_every_endpoint_and_assign_requests_only_assign) {
  node_totals t;
  add_sample(t, "expd_http_requests_total", "endpoint=\"assign\",code=\"200\"", 7);
  add_sample(t, "expd_http_requests_total", "endpoint=\"assign\",code=\"503\"", 2);
  add_sample(t, "expd_http_requests_total", "endpoint=\"health\",code=\"200\"", 5);
  add_sample(t, "expd_http_requests_total", "endpoint=\"assignx\",code=\"200\"", 100);
  add_sample(t, "expd_http_request_duration_seconds", "endpoint=\"assign\"", 40);
  EXPECT_EQ(t.http_requests, 114);
  EXPECT_EQ(t.assign_requests, 9);
}

TEST(node_figures, queue_depths_sum_over_shards_and_counters_become_rates) {
  node_totals before, after;
  add_sample(before, "expd_events_accepted_total", "", 100);
  add_sample(before, "expd_assignments_total", "experiment=\"a\"", 10);
  add_sample(after, "expd_events_accepted_total", "", 300);
  add_sample(after, "expd_assignments_total", "experiment=\"a\"", 20);
  add_sample(after, "expd_assignments_total", "experiment=\"b\"", 10);
  add_sample(after, "expd_shard_pending_writes", "shard=\"0\"", 3);
  add_sample(after, "expd_shard_pending_writes", "shard=\"1\"", 4);
  add_sample(after, "expd_writer_queue_depth", "", 5);
  add_sample(after, "expd_spool_unloaded_events", "", 6);
  add_sample(after, "expd_event_loader_lag_events", "", 8);
  add_sample(after, "expd_spool_unarchived_events", "", 9);
  auto f = node_figures(before, after, 2.0);
  EXPECT_EQ(f["window_seconds"], 2.0);
  EXPECT_EQ(f["events_accepted_per_second"], 100.0);
  EXPECT_EQ(f["assign_per_second"], 10.0);
  EXPECT_EQ(f["http_requests_per_second"], 0.0);
  EXPECT_EQ(f["pending_writes"], 7.0);
  EXPECT_EQ(f["writer_queue"], 5.0);
  EXPECT_EQ(f["spool_backlog"], 6.0);
  EXPECT_EQ(f["loader_queue"], 8.0);
  EXPECT_EQ(f["archive_backlog"], 9.0);
}

TEST(node_figures, a_counter_that_went_down_counts_from_zero_and_no_interval_gives_no_rate) {
  node_totals before, after;
  add_sample(before, "expd_http_requests_total", "endpoint=\"events\",code=\"200\"", 50);
  add_sample(after, "expd_http_requests_total", "endpoint=\"events\",code=\"200\"", 4);
  EXPECT_EQ(node_figures(before, after, 1.0)["http_requests_per_second"], 4.0);
  EXPECT_EQ(node_figures(node_totals{}, after, 0)["http_requests_per_second"], 0.0);
  EXPECT_EQ(node_figures(node_totals{}, after, 0)["window_seconds"], 0.0);
}

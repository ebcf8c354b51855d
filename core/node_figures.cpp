#include "core/node_figures.hpp"

namespace expd::core {

namespace {

// `labels` as rendered ("endpoint=\"assign\",code=\"200\""), searched for one pair.
bool has_label(std::string_view labels, std::string_view pair) {
  for (auto at = labels.find(pair); at != std::string_view::npos; at = labels.find(pair, at + 1))
    if ((at == 0 || labels[at - 1] == ',')
        && (at + pair.size() == labels.size() || labels[at + pair.size()] == ','))
      return true;
  return false;
}

double per_second(double before, double after, double seconds) {
  if (seconds <= 0)
    return 0;
  return (after >= before ? after - before : after) / seconds;
}

} // namespace

void add_sample(node_totals& totals, std::string_view name, std::string_view labels,
                double value) {
  struct summed {
    std::string_view name;
    double node_totals::*total;
  };
  static constexpr summed sums[] = {
    {"expd_http_requests_total", &node_totals::http_requests},
    {"expd_assignments_total", &node_totals::assignments},
    {"expd_events_accepted_total", &node_totals::events_accepted},
    {"expd_shard_pending_writes", &node_totals::pending_writes},
    {"expd_writer_queue_depth", &node_totals::writer_queue},
    {"expd_spool_unloaded_events", &node_totals::spool_backlog},
    {"expd_event_loader_lag_events", &node_totals::loader_queue},
    {"expd_spool_unarchived_events", &node_totals::archive_backlog},
  };
  for (auto& sum : sums)
    if (name == sum.name)
      totals.*sum.total += value;
  if (name == "expd_http_requests_total" && has_label(labels, "endpoint=\"assign\""))
    totals.assign_requests += value;
}

nlohmann::json node_figures(const node_totals& before, const node_totals& after,
                            double seconds) {
  return {
    {"window_seconds", seconds > 0 ? seconds : 0.0},
    {"http_requests_per_second", per_second(before.http_requests, after.http_requests, seconds)},
    {"assign_requests_per_second",
     per_second(before.assign_requests, after.assign_requests, seconds)},
    {"assign_per_second", per_second(before.assignments, after.assignments, seconds)},
    {"events_accepted_per_second",
     per_second(before.events_accepted, after.events_accepted, seconds)},
    {"pending_writes", after.pending_writes},
    {"writer_queue", after.writer_queue},
    {"spool_backlog", after.spool_backlog},
    {"loader_queue", after.loader_queue},
    {"archive_backlog", after.archive_backlog},
  };
}

} // namespace expd::core

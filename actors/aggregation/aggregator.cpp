#include "actors/aggregation/aggregator.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <nlohmann/json.hpp>

#include "core/experiment_results.hpp"
#include "core/stopping_rules.hpp"
#include "runtime/log.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using self_ptr = aggregator_actor::stateful_pointer<aggregator_state>;
using runtime::log;
using runtime::log_level;
using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

void schedule(self_ptr self, std::chrono::milliseconds delay) {
  caf::delayed_anon_send(caf::actor_cast<aggregator_actor>(self), delay, atom::tick::value);
}

// Each running experiment with rules, read as its results say now; the registry makes
// the change (and tells the shards), so a rule acts like an operator would.
void apply_stopping_rules(self_ptr self) {
  auto& st = self->state;
  if (!st.cfg.registry)
    return;
  try {
    for (auto& c : st.store->stopping_candidates()) {
      auto agg = st.store->load_experiment(c.id);
      if (!agg)
        continue;
      auto decision = core::decide_stopping(core::experiment_results(*agg), c.rules);
      if (decision.action == core::stop_action::none)
        continue;
      auto status = decision.action == core::stop_action::stop ? "stopped" : "paused";
      auto reason = "stopping rule " + decision.rule + ": " + decision.reason;
      nlohmann::json body{{"status", status}, {"reason", reason}};
      self->request(st.cfg.registry, std::chrono::seconds{30}, atom::set_status::value, c.name, body.dump())
        .then(
          [=](const api_reply& reply) {
            if (reply.status != 200) {
              log(log_level::error, "stopping_rule_refused", {{"experiment", c.name}, {"reply", reply.body}});
              return;
            }
            ++self->state.rule_actions;
            log(log_level::warn, "experiment_stopped_by_rule",
                {{"experiment", c.name}, {"status", status}, {"rule", decision.rule}, {"reason", reason}});
          },
          [=](const caf::error& e) {
            log(log_level::error, "stopping_rule_failed", {{"experiment", c.name}, {"error", to_string(e)}});
          });
    }
  } catch (const std::exception& e) {
    log(log_level::error, "stopping_rules_failed", {{"error", e.what()}});
  }
}

void run_pass(self_ptr self) {
  auto& st = self->state;
  auto start = clock_type::now();
  try {
    auto r = st.store->run_pass();
    if (r.skipped) {
      ++st.passes_skipped;
      return schedule(self, st.cfg.interval);
    }
    st.last_pass_seconds = seconds_since(start);
    ++st.passes;
    st.metric_rows += r.metric_rows;
    st.events_scanned += r.events_scanned;
    st.received_upto = r.received_upto;
    if (st.backoff.count() > 0)
      log(log_level::info, "aggregate_recovered");
    st.backoff = std::chrono::milliseconds{0};
    if (r.experiments > 0)
      log(log_level::info, "aggregate_pass",
          {{"experiments", r.experiments}, {"metric_rows", r.metric_rows},
           {"exposure_rows", r.exposure_rows}, {"events_scanned", r.events_scanned},
           {"unheld_events", r.unheld_events}, {"seconds", st.last_pass_seconds}});
    apply_stopping_rules(self);
    schedule(self, st.cfg.interval);
  } catch (const std::exception& e) {
    ++st.failures;
    st.backoff = std::min(std::max(st.backoff * 2, std::chrono::milliseconds{1000}),
                          std::max(st.cfg.interval, std::chrono::milliseconds{1000}));
    log(log_level::error, "aggregate_pass_failed",
        {{"error", e.what()}, {"retry_ms", st.backoff.count()}});
    schedule(self, st.backoff);
  }
}

caf::expected<api_reply> recompute(self_ptr self, core::aggregate_window w) {
  auto& st = self->state;
  auto start = clock_type::now();
  try {
    auto r = st.store->recompute(w);
    ++st.recomputes;
    st.metric_rows += r.metric_rows;
    st.events_scanned += r.events_scanned;
    auto seconds = seconds_since(start);
    log(log_level::info, "aggregate_recompute",
        {{"experiments", r.experiments}, {"metric_rows", r.metric_rows},
         {"exposure_rows", r.exposure_rows}, {"events_scanned", r.events_scanned},
         {"unheld_events", r.unheld_events}, {"seconds", seconds}});
    auto window = r.window.value_or(w);
    nlohmann::json body = {{"from", core::format_rfc3339(window.from)},
                           {"to", core::format_rfc3339(window.to)},
                           {"experiments", r.experiments},
                           {"metric_rows", r.metric_rows},
                           {"exposure_rows", r.exposure_rows},
                           {"events_scanned", r.events_scanned},
                           {"unheld_events", r.unheld_events},
                           {"seconds", seconds}};
    apply_stopping_rules(self);
    return api_reply{200, body.dump()};
  } catch (const std::exception& e) {
    ++st.failures;
    log(log_level::error, "aggregate_recompute_failed", {{"error", e.what()}});
    return make_error(ec::unavailable, "", "the recompute failed; retry");
  }
}

} // namespace

aggregator_actor::behavior_type
aggregator(aggregator_actor::stateful_pointer<aggregator_state> self, aggregator_config cfg) {
  auto& st = self->state;
  st.store = std::make_unique<runtime::aggregate_store>(cfg.pg_url, cfg.store);
  st.cfg = std::move(cfg);
  if (st.cfg.interval.count() > 0)
    schedule(self, std::chrono::milliseconds{0});
  return {
    [=](atom::tick) { run_pass(self); },
    [=](atom::aggregate, core::unix_micros from,
        core::unix_micros to) -> caf::result<api_reply> {
      return recompute(self, {from, to});
    },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      double lag = 0;
      if (st.received_upto)
        lag = std::max<double>(0, (runtime::now_micros() - *st.received_upto) / 1e6);
      return {"aggregator",
              {{"expd_aggregate_passes_total", "counter", "Periodic aggregation passes.", "",
                static_cast<double>(st.passes)},
               {"expd_aggregate_passes_skipped_total", "counter",
                "Periodic passes skipped because another node's pass was running.", "",
                static_cast<double>(st.passes_skipped)},
               {"expd_aggregate_recomputes_total", "counter",
                "On-demand recomputes (POST /admin/v1/aggregate).", "",
                static_cast<double>(st.recomputes)},
               {"expd_aggregate_failures_total", "counter", "Failed passes and recomputes.", "",
                static_cast<double>(st.failures)},
               {"expd_aggregate_rows_total", "counter", "Rows written to exp.metric_aggregates.",
                "", static_cast<double>(st.metric_rows)},
               {"expd_aggregate_events_scanned_total", "counter",
                "Event rows passes and recomputes streamed out of PostgreSQL.", "",
                static_cast<double>(st.events_scanned)},
               {"expd_aggregate_last_pass_seconds", "gauge", "Duration of the last periodic pass.",
                "", st.last_pass_seconds},
               {"expd_aggregate_rule_actions_total", "counter",
                "Experiments a stopping rule paused or stopped.", "", static_cast<double>(st.rule_actions)},
               {"expd_aggregate_lag_seconds", "gauge",
                "Age of the newest event (received_at) the aggregates include.", "", lag}}};
    },
  };
}

} // namespace expd

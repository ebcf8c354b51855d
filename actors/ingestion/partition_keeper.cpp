#include "actors/ingestion/partition_keeper.hpp"

#include "actors/wake_once.hpp"
#include "runtime/log.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using self_ptr = partition_keeper_actor::stateful_pointer<partition_keeper_state>;
using runtime::log;
using runtime::log_level;

constexpr core::unix_micros micros_per_hour = 3600LL * 1000000;

void pass(self_ptr self) {
  auto& st = self->state;
  auto delay = st.cfg.interval;
  try {
    auto p = prepare_event_partitions(*st.store, st.cfg, runtime::now_micros());
    st.created += static_cast<std::uint64_t>(p.created);
    st.waits += static_cast<std::uint64_t>(p.waited);
    st.missing = static_cast<std::uint64_t>(p.waited);
    if (p.waited > 0)
      delay = st.cfg.retry;
  } catch (const std::exception& e) {
    ++st.failures;
    delay = st.cfg.retry;
    log(log_level::error, "event_partitions_failed",
        {{"error", e.what()}, {"retry_ms", st.cfg.retry.count()}});
  }
  wake_once<partition_keeper_actor>(self, st.tick_scheduled, delay, atom::tick::value);
}

} // namespace

runtime::event_store::partition_pass prepare_event_partitions(runtime::event_store& store,
                                                              const partition_keeper_config& cfg,
                                                              core::unix_micros now) {
  auto p = store.prepare_partitions(now - cfg.back.count() * micros_per_hour,
                                    now + cfg.ahead.count() * micros_per_hour, cfg.lock_timeout);
  if (p.created > 0 || p.waited > 0 || p.in_default > 0)
    log(p.waited > 0 ? log_level::warn : log_level::info, "event_partitions",
        {{"created", p.created}, {"waited_for_locks", p.waited},
         {"events_in_default", p.in_default}});
  return p;
}

partition_keeper_actor::behavior_type
partition_keeper(partition_keeper_actor::stateful_pointer<partition_keeper_state> self,
                 partition_keeper_config cfg) {
  auto& st = self->state;
  st.store = std::make_unique<runtime::event_store>(cfg.pg_url);
  st.cfg = std::move(cfg);
  wake_once<partition_keeper_actor>(self, st.tick_scheduled, st.cfg.interval, atom::tick::value);
  return {
    [=](atom::tick) {
      self->state.tick_scheduled = false;
      pass(self);
    },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      return {"partition_keeper",
              {{"expd_event_partitions_created_total", "counter",
                "Daily partitions of exp.events made.", "", static_cast<double>(st.created)},
               {"expd_event_partition_lock_waits_total", "counter",
                "Days whose partition waited in vain for its locks (a long reader).", "",
                static_cast<double>(st.waits)},
               {"expd_event_partition_failures_total", "counter",
                "Partition passes that failed (PostgreSQL away).", "",
                static_cast<double>(st.failures)},
               {"expd_event_partitions_missing", "gauge",
                "Days of the window still without their partition after the last pass.", "",
                static_cast<double>(st.missing)}}};
    },
  };
}

} // namespace expd

#include "actors/ingestion/event_loader.hpp"

#include <algorithm>
#include <optional>

#include <caf/actor_cast.hpp>

#include "actors/wake_once.hpp"
#include "runtime/failpoint.hpp"
#include "runtime/log.hpp"

namespace expd {

namespace {

using self_ptr = event_loader_actor::stateful_pointer<event_loader_state>;
using runtime::log;
using runtime::log_level;

void schedule_tick(self_ptr self, std::chrono::milliseconds delay) {
  wake_once<event_loader_actor>(self, self->state.tick_scheduled, delay, atom::tick::value);
}

void fail(self_ptr self, const std::exception& e) {
  auto& st = self->state;
  ++st.failures;
  st.backoff = std::min(std::max(st.backoff * 2, std::chrono::milliseconds{100}),
                        std::chrono::milliseconds{5000});
  log(log_level::error, "event_load_failed",
      {{"error", e.what()}, {"unloaded", st.committed - st.loaded},
       {"retry_ms", st.backoff.count()}});
  schedule_tick(self, st.backoff);
}

void report_loaded(self_ptr self) {
  auto& st = self->state;
  if (st.writer)
    self->send(st.writer, atom::consumed::value, spool_consumer::loader, st.loaded);
  if (st.archiver)
    self->send(st.archiver, atom::spooled::value, st.loaded);
}

// Loads one batch. Returns how long to wait before the next: none after a full batch
// (more is waiting), the linger after a partial one, so a trickle of single events
// is loaded in fewer, larger transactions; nullopt when there was nothing to load.
std::optional<std::chrono::milliseconds> load_batch(self_ptr self) {
  auto& st = self->state;
  if (!st.cursor_known) {
    st.loaded = st.store->loaded_seq(st.cfg.spool_id);
    st.cursor_known = true;
    // What PostgreSQL already holds, told at once: the archiver resumes what an earlier
    // run left unarchived and the spool's gauges are right from the start.
    report_loaded(self);
  }
  if (st.loaded >= st.committed)
    return std::nullopt;
  // Records before the spool's oldest segment were released after loading; a database
  // that has no cursor for them (replaced, or restored from an older backup) cannot
  // get them back, so say so loudly and go on rather than stall.
  if (auto first = st.reader->first_available(); first > st.loaded + 1) {
    log(log_level::error, "event_spool_gap",
        {{"database_cursor", st.loaded}, {"first_in_spool", first},
         {"lost_events", first - 1 - st.loaded}});
    st.loaded = first - 1;
  }
  runtime::event_load_batch batch;
  st.reader->read(st.loaded, st.committed, st.cfg.batch,
                  [&](std::uint64_t seq, std::string_view payload) {
                    batch.seqs.push_back(seq);
                    batch.payloads.emplace_back(payload);
                  });
  if (batch.seqs.empty())
    return std::nullopt;
  auto r = st.store->load(st.cfg.spool_id, batch);
  runtime::failpoint("loader.after_commit");
  if (r.already_loaded) {
    st.cursor_known = false; // someone else moved it: read it again
    return std::chrono::milliseconds{0};
  }
  if (st.backoff.count() > 0)
    log(log_level::info, "event_load_recovered", {{"unloaded", st.committed - batch.seqs.back()}});
  st.backoff = std::chrono::milliseconds{0};
  st.loaded = batch.seqs.back();
  st.stored += r.stored;
  st.skipped += r.skipped.size();
  ++st.batches;
  report_loaded(self);
  return batch.seqs.size() < st.cfg.batch ? st.cfg.linger : std::chrono::milliseconds{0};
}

} // namespace

event_loader_actor::behavior_type
event_loader(event_loader_actor::stateful_pointer<event_loader_state> self,
             event_loader_config cfg, archiver_actor archiver) {
  auto& st = self->state;
  st.store = std::make_unique<runtime::event_store>(cfg.pg_url);
  st.reader = std::make_unique<runtime::spool_reader>(cfg.spool_dir);
  st.cfg = std::move(cfg);
  st.archiver = std::move(archiver);
  return {
    [=](atom::spooled, std::uint64_t seq) {
      auto& st = self->state;
      if (!st.writer && self->current_sender() != nullptr)
        st.writer = caf::actor_cast<spool_writer_actor>(self->current_sender());
      st.committed = std::max(st.committed, seq);
      if (st.backoff.count() == 0)
        schedule_tick(self, std::chrono::milliseconds{0});
    },
    [=](atom::tick) {
      auto& st = self->state;
      st.tick_scheduled = false;
      try {
        if (auto wait = load_batch(self))
          schedule_tick(self, *wait);
      } catch (const std::exception& e) {
        fail(self, e);
      }
    },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      return {"event_loader",
              {{"expd_events_stored_total", "counter", "Events written to exp.events.", "",
                static_cast<double>(st.stored)},
               {"expd_events_duplicates_total", "counter",
                "Events not stored because the table already held them (client retries).", "",
                static_cast<double>(st.skipped)},
               {"expd_event_load_batches_total", "counter", "COPY transactions committed.", "",
                static_cast<double>(st.batches)},
               {"expd_event_load_failures_total", "counter", "Failed loads into PostgreSQL.", "",
                static_cast<double>(st.failures)},
               {"expd_event_loader_lag_events", "gauge",
                "Spooled events not yet in PostgreSQL.", "",
                static_cast<double>(st.committed - std::min(st.loaded, st.committed))}}};
    },
  };
}

} // namespace expd

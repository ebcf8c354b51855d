#include "actors/ingestion/spool_writer.hpp"

#include <algorithm>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include "runtime/log.hpp"

namespace expd {

namespace {

using self_ptr = spool_writer_actor::stateful_pointer<spool_writer_state>;
using runtime::log;
using runtime::log_level;

void commit_waiting(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.waiting.empty())
    return;
  try {
    st.spool->commit();
  } catch (const std::exception& e) {
    // Nothing is acknowledged that is not on disk: the clients hear 503 and retry.
    log(log_level::error, "spool_commit_failed", {{"error", e.what()}});
    for (auto& p : st.waiting)
      p.deliver(caf::make_error(caf::sec::runtime_error, e.what()));
    st.waiting.clear();
    return;
  }
  ++st.commits;
  spool_ack ack{true, st.spool->last_seq()};
  for (auto& p : st.waiting)
    p.deliver(ack);
  st.waiting.clear();
  self->send(st.loader, atom::spooled::value, ack.last_seq);
}

status_record writer_status(self_ptr self) {
  auto& st = self->state;
  auto last = static_cast<double>(st.spool->last_seq());
  return {"spool_writer",
          {{"expd_spool_bytes", "gauge", "Bytes the event spool's segments take on disk.", "",
            static_cast<double>(st.spool->disk_bytes())},
           {"expd_spool_max_bytes", "gauge", "Spool size past which events are refused (503).",
            "", static_cast<double>(st.spool->config().max_bytes)},
           {"expd_spool_last_seq", "gauge", "Number of the last spooled event.", "", last},
           {"expd_spool_unloaded_events", "gauge",
            "Spooled events not yet in PostgreSQL (the loader's queue depth).", "",
            last - static_cast<double>(st.loaded)},
           {"expd_spool_unarchived_events", "gauge",
            "Spooled events not yet in the archive (the archiver's queue depth).", "",
            st.archive_enabled ? last - static_cast<double>(st.archived) : 0.0},
           {"expd_spool_events_total", "counter", "Events appended to the spool.", "",
            static_cast<double>(st.appended)},
           {"expd_spool_commits_total", "counter", "Spool commits (fdatasync groups).", "",
            static_cast<double>(st.commits)},
           {"expd_spool_refused_total", "counter", "Appends refused because the spool was full.",
            "", static_cast<double>(st.refused)}}};
}

} // namespace

spool_writer_actor::behavior_type
spool_writer(spool_writer_actor::stateful_pointer<spool_writer_state> self,
             std::unique_ptr<runtime::spool> spool, event_loader_actor loader,
             bool archive_enabled) {
  auto& st = self->state;
  st.spool = std::move(spool);
  st.loader = std::move(loader);
  st.archive_enabled = archive_enabled;
  // Whatever an earlier run left is waiting for the loader.
  self->send(st.loader, atom::spooled::value, st.spool->last_seq());
  return {
    [=](atom::append, spool_payloads& payloads) -> caf::result<spool_ack> {
      auto& st = self->state;
      if (st.spool->full()) {
        ++st.refused;
        return spool_ack{false, st.spool->last_seq()};
      }
      try {
        for (auto& p : payloads)
          st.spool->append(p);
      } catch (const std::exception& e) {
        log(log_level::error, "spool_append_failed", {{"error", e.what()}});
        return caf::make_error(caf::sec::runtime_error, e.what());
      }
      st.appended += payloads.size();
      st.waiting.push_back(self->make_response_promise<spool_ack>());
      if (!st.flush_scheduled) {
        st.flush_scheduled = true;
        caf::anon_send(caf::actor_cast<spool_writer_actor>(self), atom::flush::value);
      }
      return st.waiting.back();
    },
    [=](atom::flush) { commit_waiting(self); },
    [=](atom::consumed, spool_consumer who, std::uint64_t seq) {
      auto& st = self->state;
      (who == spool_consumer::loader ? st.loaded : st.archived) = seq;
      auto done = st.archive_enabled ? std::min(st.loaded, st.archived) : st.loaded;
      try {
        st.spool->release_through(done);
      } catch (const std::exception& e) {
        log(log_level::warn, "spool_release_failed", {{"error", e.what()}});
      }
    },
    [=](atom::status) -> status_record { return writer_status(self); },
  };
}

} // namespace expd

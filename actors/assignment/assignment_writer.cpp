#include "actors/assignment/assignment_writer.hpp"

#include <algorithm>
#include <thread>

#include "actors/wake_once.hpp"
#include "runtime/log.hpp"

namespace expd {

namespace {

using self_ptr = assignment_writer_actor::stateful_pointer<assignment_writer_state>;
using runtime::log;
using runtime::log_level;

void schedule_tick(self_ptr self, std::chrono::milliseconds delay) {
  wake_once<assignment_writer_actor>(self, self->state.tick_scheduled, delay,
                                     atom::drain::value);
}

// Writes one batch from the front of the queue. Rows PostgreSQL refuses are
// dead-lettered by the store and leave the queue with the stored ones. False when
// PostgreSQL failed; the unsettled rows stay queued for the next try.
bool write_batch(self_ptr self) {
  auto& st = self->state;
  auto n = std::min(st.cfg.batch, st.queue.size());
  assignment_batch batch(st.queue.begin(), st.queue.begin() + static_cast<std::ptrdiff_t>(n));
  auto result = st.store->write(batch);
  st.dead_lettered += result.refused.size();
  st.written += result.settled - result.refused.size();
  st.queue.erase(st.queue.begin(),
                 st.queue.begin() + static_cast<std::ptrdiff_t>(result.settled));
  if (!result.failure.empty()) {
    ++st.failures;
    st.backoff = std::min(std::max(st.backoff * 2, std::chrono::milliseconds{100}),
                          std::chrono::milliseconds{5000});
    log(log_level::error, "assignment_write_failed",
        {{"error", result.failure}, {"queued", st.queue.size()}, {"retry_ms", st.backoff.count()}});
    return false;
  }
  if (st.backoff.count() > 0)
    log(log_level::info, "assignment_write_recovered", {{"queued", st.queue.size()}});
  st.backoff = std::chrono::milliseconds{0};
  return true;
}

// Writes full batches now; a partial one waits for the interval unless `all`.
void write_ready(self_ptr self, bool all) {
  auto& st = self->state;
  while (!st.queue.empty() && (all || st.queue.size() >= st.cfg.batch))
    if (!write_batch(self))
      break;
  if (!st.queue.empty())
    schedule_tick(self, st.backoff.count() > 0 ? st.backoff : st.cfg.interval);
}

status_record writer_status(self_ptr self) {
  auto& st = self->state;
  return {"assignment_writer",
          {{"expd_writer_queue_depth", "gauge",
            "Assignments waiting to be written to PostgreSQL.", "",
            static_cast<double>(st.queue.size())},
           {"expd_writer_rows_written_total", "counter",
            "Assignments written to exp.assignments.", "", static_cast<double>(st.written)},
           {"expd_writer_rows_dropped_total", "counter",
            "Assignments dropped because the queue was full.", "",
            static_cast<double>(st.dropped)},
           {"expd_writer_rows_dead_lettered_total", "counter",
            "Assignments PostgreSQL refused, moved to exp.assignment_dead_letters.", "",
            static_cast<double>(st.dead_lettered)},
           {"expd_writer_failures_total", "counter", "Failed writes to PostgreSQL.", "",
            static_cast<double>(st.failures)}}};
}

} // namespace

assignment_writer_actor::behavior_type
assignment_writer(assignment_writer_actor::stateful_pointer<assignment_writer_state> self,
                  assignment_writer_config cfg) {
  self->state.store = std::make_unique<runtime::assignment_store>(cfg.pg_url);
  self->state.cfg = std::move(cfg);
  return {
    [=](atom::record, assignment_batch& rows) {
      auto& st = self->state;
      st.queue.insert(st.queue.end(), std::make_move_iterator(rows.begin()),
                      std::make_move_iterator(rows.end()));
      // Assignments can be recomputed from their hash, so when PostgreSQL is away
      // for long the oldest are shed rather than memory growing without bound.
      if (st.queue.size() > st.cfg.max_queue) {
        auto excess = st.queue.size() - st.cfg.max_queue;
        st.queue.erase(st.queue.begin(), st.queue.begin() + static_cast<std::ptrdiff_t>(excess));
        st.dropped += excess;
        log(log_level::warn, "assignment_queue_full", {{"dropped", excess}});
      }
      if (st.backoff.count() == 0)
        write_ready(self, false);
    },
    [=](atom::drain) -> std::uint64_t {
      auto& st = self->state;
      st.tick_scheduled = false;
      auto deadline = std::chrono::steady_clock::now() + st.cfg.drain_timeout;
      if (self->current_sender() == nullptr) {
        write_ready(self, true); // the internal tick
        return st.queue.size();
      }
      // A real drain (SIGTERM): keep trying until written or out of time.
      while (!st.queue.empty() && std::chrono::steady_clock::now() < deadline)
        if (!write_batch(self))
          std::this_thread::sleep_for(st.backoff);
      return st.queue.size();
    },
    [=](atom::status) -> status_record { return writer_status(self); },
  };
}

} // namespace expd

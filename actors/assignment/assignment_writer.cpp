#include "actors/assignment/assignment_writer.hpp"

#include <algorithm>
#include <thread>

#include "actors/wake_once.hpp"
#include "runtime/failpoint.hpp"
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

void hold(self_ptr self, const assignment_shard_actor& shard) {
  auto& held = self->state.holding;
  if (std::find(held.begin(), held.end(), shard) == held.end())
    held.push_back(shard);
}

// Takes n rows off the queue's front: stored (or dead-lettered), or else shed. Shards
// whose rows are all stored up to a mark may release their journal that far.
void take_front(self_ptr self, std::size_t n, bool stored) {
  auto& st = self->state;
  st.queue.erase(st.queue.begin(), st.queue.begin() + static_cast<std::ptrdiff_t>(n));
  st.removed += n;
  for (; !st.marks.empty() && st.marks.front().end <= st.removed; st.marks.pop_front()) {
    auto& mark = st.marks.front();
    if (!stored)
      hold(self, mark.shard);
    else if (std::find(st.holding.begin(), st.holding.end(), mark.shard) == st.holding.end())
      self->send(mark.shard, atom::stored::value, mark.seq);
  }
  // A batch shed in part: its shard keeps it too.
  if (!stored && !st.marks.empty())
    hold(self, st.marks.front().shard);
}

// Writes one batch from the front of the queue. Rows PostgreSQL refuses are
// dead-lettered by the store and leave the queue with the stored ones. False when
// PostgreSQL failed; the unsettled rows stay queued for the next try.
bool write_batch(self_ptr self) {
  auto& st = self->state;
  auto n = std::min(st.cfg.batch, st.queue.size());
  assignment_batch batch(st.queue.begin(), st.queue.begin() + static_cast<std::ptrdiff_t>(n));
  auto result = st.store->write(batch);
  if (result.settled > 0)
    runtime::failpoint("writer.after_commit");
  st.dead_lettered += result.refused.size();
  st.written += result.settled - result.refused.size();
  take_front(self, result.settled, true);
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

// Keeps writing until everything queued is stored or `timeout` passed; answers the rows
// still unwritten. Shed rows count: only their journals hold them.
std::uint64_t drain_for(self_ptr self, std::chrono::milliseconds timeout) {
  auto& st = self->state;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!st.queue.empty() && std::chrono::steady_clock::now() < deadline)
    if (!write_batch(self))
      std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(
        st.backoff, std::max<std::chrono::nanoseconds>(deadline - std::chrono::steady_clock::now(),
                                                       std::chrono::nanoseconds{0})));
  return st.queue.size() + st.dropped;
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
            "Assignments shed from memory because the queue was full; their journals keep them"
            " for the next start.", "",
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
    [=](atom::record, assignment_batch& rows, std::uint64_t journal_seq) {
      auto& st = self->state;
      st.queue.insert(st.queue.end(), std::make_move_iterator(rows.begin()),
                      std::make_move_iterator(rows.end()));
      st.queued += rows.size();
      if (journal_seq > 0)
        st.marks.push_back(
          {st.queued, caf::actor_cast<assignment_shard_actor>(self->current_sender()),
           journal_seq});
      // When PostgreSQL is away for long the oldest rows leave memory rather than it
      // growing without bound; they stay in their shard's journal, which the next start
      // writes to PostgreSQL (docs/assignment.md).
      if (st.queue.size() > st.cfg.max_queue) {
        auto excess = st.queue.size() - st.cfg.max_queue;
        take_front(self, excess, false);
        st.dropped += excess;
        log(log_level::warn, "assignment_queue_full", {{"shed", excess}});
      }
      if (st.backoff.count() == 0)
        write_ready(self, false);
    },
    [=](atom::drain) -> std::uint64_t {
      auto& st = self->state;
      st.tick_scheduled = false;
      if (self->current_sender() == nullptr) {
        write_ready(self, true); // the internal tick
        return st.queue.size();
      }
      return drain_for(self, st.cfg.drain_timeout); // SIGTERM, a slot release
    },
    [=](atom::drain, std::int64_t ms) -> std::uint64_t {
      return drain_for(self, std::chrono::milliseconds{ms});
    },
    [=](atom::status) -> status_record { return writer_status(self); },
  };
}

} // namespace expd

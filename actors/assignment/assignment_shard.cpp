#include "actors/assignment/assignment_shard.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/typed_broker.hpp>

#include "actors/wake_once.hpp"
#include "core/field_error.hpp"
#include "runtime/log.hpp"
#include "runtime/prometheus.hpp"

namespace expd {

namespace {

using runtime::log;
using runtime::log_level;

// A held reply or a barrier gives up after this: the client gets a 503 to retry, the
// registry refuses the change.
constexpr std::chrono::milliseconds write_through_timeout{2000};

template <class Self>
void hand_to_writer(Self self) {
  auto& st = self->state;
  if (!st.pending.empty()) {
    self->send(st.writer, atom::record::value, std::move(st.pending), st.journaled);
    st.pending.clear();
  }
}

// Journals pending[from, end) before the reply goes out, in one write for the whole
// request. A write into the page cache takes microseconds, so it stays on this thread
// rather than adding a hop to every reply. When it fails (disk full) the reply still
// goes: the row is in memory and queued for the writer as before the journal existed.
template <class Self>
void journal_fresh(Self self, std::size_t from) {
  auto& st = self->state;
  try {
    st.journaled = st.journal->write(st.pending.data() + from, st.pending.size() - from);
  } catch (const std::exception& e) {
    st.journal_failures += st.pending.size() - from;
    log(log_level::error, "assignment_journal_failed",
        {{"shard", st.index}, {"error", e.what()}, {"rows", st.pending.size() - from}});
  }
}

// Whether this request made a first-time assignment of an experiment under a barrier.
template <class Self>
bool writes_through(Self self, std::size_t from) {
  auto& st = self->state;
  if (st.through.empty())
    return false;
  if (std::chrono::steady_clock::now() >= st.through_until) {
    st.through.clear();
    return false;
  }
  for (auto i = from; i < st.pending.size(); ++i)
    if (st.through.count(st.pending[i].experiment_id))
      return true;
  return false;
}

// Hands everything pending to the writer and answers once the writer has stored all it
// holds. Refused when rows stay unwritten (PostgreSQL away, or rows shed earlier that only
// the journal holds).
template <class Self, class T>
void deliver_once_stored(Self self, caf::typed_response_promise<T> rp, T value,
                         std::chrono::milliseconds timeout) {
  hand_to_writer(self);
  self->request(self->state.writer, timeout + std::chrono::milliseconds{500}, atom::drain::value,
                static_cast<std::int64_t>(timeout.count()))
    .then(
      [rp, value = std::move(value)](std::uint64_t unwritten) mutable {
        if (unwritten == 0)
          rp.deliver(std::move(value));
        else
          rp.deliver(make_error(ec::database_unavailable, "",
                                std::to_string(unwritten)
                                  + " first-time assignments are not stored yet; retry"));
      },
      [rp](caf::error& e) mutable {
        rp.deliver(make_error(ec::database_unavailable, "",
                              "the assignment writer did not store in time: "
                                + caf::to_string(e)));
      });
}

template <class Self>
status_record shard_status(Self self) {
  auto& st = self->state;
  status_record rec{"assignment_shard", {}};
  auto shard = "shard=\"" + std::to_string(st.index) + "\"";
  rec.samples.push_back({"expd_shard_sticky_units", "gauge",
                         "Units with a remembered variant, per shard.", shard,
                         static_cast<double>(st.book.sticky_size())});
  rec.samples.push_back({"expd_shard_pending_writes", "gauge",
                         "First-time assignments not yet handed to the writer.", shard,
                         static_cast<double>(st.pending.size())});
  rec.samples.push_back({"expd_shard_journal_rows_failed_total", "counter",
                         "First-time assignments the shard could not journal, per shard.",
                         shard, static_cast<double>(st.journal_failures)});
  rec.samples.push_back({"expd_shard_written_through_total", "counter",
                         "Replies held until their first-time assignments were stored, under"
                         " a barrier before a bucket move.",
                         shard, static_cast<double>(st.written_through)});
  rec.samples.push_back({"expd_shard_snapshot_version", "gauge",
                         "Version of the experiments snapshot a shard serves.", shard,
                         static_cast<double>(st.book.current()->version())});
  for (auto& exp : st.book.current()->experiments())
    for (auto& var : exp.variants) {
      auto labels = "experiment=\"" + runtime::label_value(exp.name) + "\",variant=\""
                    + runtime::label_value(var.name) + "\"," + shard;
      if (auto it = st.served.find(var.id); it != st.served.end())
        rec.samples.push_back({"expd_assignments_total", "counter",
                               "Assignments answered, per experiment and variant.", labels,
                               static_cast<double>(it->second)});
      if (auto it = st.fresh.find(var.id); it != st.fresh.end())
        rec.samples.push_back({"expd_assignments_new_total", "counter",
                               "First-time assignments, per experiment and variant.", labels,
                               static_cast<double>(it->second)});
    }
  return rec;
}

template <class Self>
assignment_shard_actor::behavior_type
shard_behavior(Self self, std::size_t index, assignment_writer_actor writer,
               core::snapshot_ptr snap, std::unique_ptr<runtime::assignment_journal> journal) {
  auto& st = self->state;
  st.index = index;
  st.writer = std::move(writer);
  st.journal = std::move(journal);
  st.book.install(std::move(snap));
  return {
    [=](atom::assign, const core::assign_request& req) -> caf::result<api_reply> {
      auto& st = self->state;
      auto before = st.pending.size();
      try {
        st.book.assign(req, st.scratch, st.pending);
      } catch (const core::field_error& e) {
        return make_error(ec::unknown_experiment, e.field(), e.what());
      }
      for (auto& a : st.scratch)
        ++st.served[a.var->id];
      for (auto i = before; i < st.pending.size(); ++i)
        ++st.fresh[st.pending[i].variant_id];
      if (st.pending.size() > before)
        journal_fresh(self, before);
      api_reply reply;
      reply.body.reserve(128 + 192 * st.scratch.size());
      core::append_assignments_json(reply.body, st.scratch);
      if (writes_through(self, before)) {
        ++st.written_through;
        auto rp = self->template make_response_promise<api_reply>();
        deliver_once_stored(self, rp, std::move(reply), write_through_timeout);
        return rp;
      }
      if (st.pending.size() >= st.flush_batch) {
        hand_to_writer(self);
      } else if (!st.pending.empty()) {
        wake_once<assignment_shard_actor>(self, st.flush_scheduled, st.flush_interval,
                                          atom::flush::value);
      }
      return reply;
    },
    [=](atom::snapshot, core::snapshot_ptr& snap) {
      // Pushes from the registry and the start-up copy may arrive in either order.
      auto& st = self->state;
      if (snap->version() <= st.book.current()->version())
        return;
      if (snap->version() > st.through_below)
        st.through.clear();
      st.book.install(std::move(snap));
    },
    [=](atom::barrier, const assignment_barrier& b) -> caf::result<bool> {
      auto& st = self->state;
      if (b.experiments.empty()) {
        st.through.clear();
        return true;
      }
      // Already past the change: nothing of the old buckets is assigned from now on.
      if (st.book.current()->version() <= b.snapshot_version) {
        st.through.insert(b.experiments.begin(), b.experiments.end());
        st.through_below = b.snapshot_version;
        st.through_until = std::chrono::steady_clock::now() + std::chrono::milliseconds{b.hold_ms};
      }
      auto rp = self->template make_response_promise<bool>();
      deliver_once_stored(self, rp, true, write_through_timeout);
      return rp;
    },
    [=](atom::remember, const assignment_batch& rows) -> std::uint64_t {
      for (auto& row : rows)
        self->state.book.remember(row);
      return self->state.book.sticky_size();
    },
    [=](atom::held, const unit_refs& units) -> held_variants_list {
      held_variants_list lists(units.size());
      for (std::size_t i = 0; i < units.size(); ++i)
        self->state.book.held_variants(units[i].unit_type, units[i].unit_id, lists[i]);
      return lists;
    },
    [=](atom::flush) -> bool {
      self->state.flush_scheduled = false;
      hand_to_writer(self);
      return true;
    },
    [=](atom::stored, std::uint64_t seq) {
      try {
        self->state.journal->release_through(seq);
      } catch (const std::exception& e) {
        log(log_level::error, "assignment_journal_release_failed",
            {{"shard", self->state.index}, {"error", e.what()}});
      }
    },
    [=](atom::status) -> status_record { return shard_status(self); },
  };
}

template <class>
struct typed_broker_of;

template <class... Sigs>
struct typed_broker_of<caf::detail::type_list<Sigs...>> {
  using type = caf::io::typed_broker<Sigs...>;
};

using shard_broker =
  caf::stateful_actor<assignment_shard_state,
                      typed_broker_of<assignment_shard_actor::signatures>::type>;

} // namespace

assignment_shard_actor::behavior_type
assignment_shard(assignment_shard_actor::stateful_pointer<assignment_shard_state> self,
                 std::size_t index, assignment_writer_actor writer, core::snapshot_ptr snap,
                 std::unique_ptr<runtime::assignment_journal> journal) {
  return shard_behavior(self, index, std::move(writer), std::move(snap), std::move(journal));
}

assignment_shard_actor spawn_assignment_shard(caf::actor_system& sys, shard_thread where,
                                              std::size_t index, assignment_writer_actor writer,
                                              core::snapshot_ptr snap,
                                              std::unique_ptr<runtime::assignment_journal> journal) {
  if (where == shard_thread::scheduler)
    return sys.spawn(assignment_shard, index, std::move(writer), std::move(snap),
                     std::move(journal));
  auto fun = [](shard_broker* self, std::size_t i, assignment_writer_actor w,
                core::snapshot_ptr s, std::unique_ptr<runtime::assignment_journal> j) {
    return shard_behavior(self, i, std::move(w), std::move(s), std::move(j));
  };
  return sys.middleman().spawn_broker(fun, index, std::move(writer), std::move(snap),
                                      std::move(journal));
}

} // namespace expd

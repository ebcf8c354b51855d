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
      if (snap->version() > self->state.book.current()->version())
        self->state.book.install(std::move(snap));
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

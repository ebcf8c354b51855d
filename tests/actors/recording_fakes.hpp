#pragma once

// Fakes of the typed interfaces of messages/actors.hpp that write what they receive
// into one journal, numbered across all of them, so a test can check in which order
// different actors were told things.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "messages/actors.hpp"
#include "messages/shard_router.hpp"

namespace expd::test {

class journal {
public:
  struct entry {
    std::uint64_t seq = 0;
    std::string what; ///< the message: routing, lease, remember, flush, drain, reload
    std::string who;  ///< the fake: entry, ingestion, registry, writer, s0, s1, ...
    std::uint64_t value = 0;   ///< drain: the answer
    std::int64_t observed = 0; ///< drain: what the writer's probe read when asked
    assignment_batch rows;     ///< remember
    std::optional<shard_router> router; ///< routing
    std::string job;         ///< train, cancel: the training job
    std::string resume_from; ///< train: the checkpoint given
    std::uint32_t run = 0;   ///< train: the run number given
  };

  void add(entry e) {
    {
      std::lock_guard<std::mutex> lock{mutex_};
      e.seq = entries_.size() + 1;
      entries_.push_back(std::move(e));
    }
    changed_.notify_all();
  }

  std::vector<entry> entries() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return entries_;
  }

  /// The seq of the newest entry (0: none).
  std::uint64_t last_seq() const {
    std::lock_guard<std::mutex> lock{mutex_};
    return entries_.size();
  }

  /// Waits until `check` holds for the entries (true) or `limit` has passed (false).
  bool wait_until(const std::function<bool(const std::vector<entry>&)>& check,
                  std::chrono::milliseconds limit = std::chrono::seconds{5}) const {
    std::unique_lock<std::mutex> lock{mutex_};
    return changed_.wait_for(lock, limit, [&] { return check(entries_); });
  }

private:
  mutable std::mutex mutex_;
  mutable std::condition_variable changed_;
  std::vector<entry> entries_;
};

using journal_ptr = std::shared_ptr<journal>;

inline api_reply fake_reply(const std::string& who) {
  return {200, R"({"fake":")" + who + "\"}"};
}

inline status_record fake_status(const std::string& who) {
  return {who, {}};
}

/// What a fake shard is and whom it waits for.
struct fake_shard_config {
  std::string name;
  journal_ptr log;
  /// Asked something before remember or flush is written down: whatever was sent to
  /// them before this shard was asked is then in the journal first.
  std::vector<status_actor> heard_first;
  node_entry_control_actor entry_first; ///< the same, for the entry (not a status_actor)
};

/// Answers assign with "name:unit"; writes down remember and flush. Blocks on
/// heard_first and entry_first, so spawn it detached when it has them.
inline assignment_shard_actor::behavior_type fake_shard(assignment_shard_actor::pointer self,
                                                        fake_shard_config cfg) {
  auto after_the_others = [self, cfg](journal::entry e) {
    caf::scoped_actor sync{self->system()};
    for (auto& other : cfg.heard_first)
      sync->request(other, std::chrono::seconds{5}, atom::status::value)
        .receive([](status_record&) {}, [](caf::error&) {});
    if (cfg.entry_first)
      sync->request(cfg.entry_first, std::chrono::seconds{5}, atom::held::value, unit_refs{})
        .receive([](held_variants_list&) {}, [](caf::error&) {});
    e.who = cfg.name;
    cfg.log->add(std::move(e));
  };
  return {
    [cfg](atom::assign, const core::assign_request& req) -> api_reply {
      return {200, cfg.name + ":" + req.unit_id};
    },
    [](atom::snapshot, const core::snapshot_ptr&) {},
    [after_the_others](atom::remember, assignment_batch& rows) -> std::uint64_t {
      auto n = rows.size();
      journal::entry e;
      e.what = "remember";
      e.rows = std::move(rows);
      after_the_others(std::move(e));
      return n;
    },
    [after_the_others](atom::flush) {
      journal::entry e;
      e.what = "flush";
      after_the_others(std::move(e));
      return true;
    },
    [](atom::stored, std::uint64_t) {},
    [](atom::held, const unit_refs& units) { return held_variants_list(units.size()); },
    [cfg](atom::status) { return fake_status(cfg.name); },
    [](atom::barrier, const assignment_barrier&) { return true; },
  };
}

/// Answers drain with `unwritten` (rows still unstored); writes down each drain with
/// what `probe` reads at that moment.
inline assignment_writer_actor::behavior_type
fake_writer(journal_ptr log, std::shared_ptr<std::atomic<std::uint64_t>> unwritten,
            std::function<std::int64_t()> probe) {
  auto drain = [=]() -> std::uint64_t {
    journal::entry e;
    e.what = "drain";
    e.who = "writer";
    e.value = unwritten->load();
    e.observed = probe ? probe() : 0;
    log->add(e);
    return e.value;
  };
  return {
    [](atom::status) { return fake_status("writer"); },
    [](atom::record, const assignment_batch&, std::uint64_t) {},
    [drain](atom::drain) { return drain(); },
    [drain](atom::drain, std::int64_t) { return drain(); },
  };
}

inline void write_down_routing(const journal_ptr& log, const char* who, const shard_router& r) {
  journal::entry e;
  e.what = "routing";
  e.who = who;
  e.router = r;
  log->add(std::move(e));
}

/// A node's entry (as another node reaches it, or as its membership actor steers it):
/// answers assign with "name:unit"; writes down routing and lease.
inline node_entry_control_actor::behavior_type fake_entry(journal_ptr log, std::string name) {
  return {
    [name](atom::assign, const core::assign_request& req) -> api_reply {
      return {200, name + ":" + req.unit_id};
    },
    [](atom::held, const unit_refs& units) { return held_variants_list(units.size()); },
    [](atom::barrier, const assignment_barrier&) { return true; },
    [name](atom::hello, const node_hello&, const caf::actor&) {
      return node_hello{"cluster", name, 1, "test"};
    },
    [log](atom::routing, const shard_router& r) { write_down_routing(log, "entry", r); },
    [log](atom::lease, std::int64_t) {
      journal::entry e;
      e.what = "lease";
      e.who = "entry";
      log->add(std::move(e));
    },
    [](atom::subscribe, const caf::actor&) {},
  };
}

inline ingestion_actor::behavior_type fake_ingestion(journal_ptr log) {
  return {
    [](atom::status) { return fake_status("ingestion"); },
    [](atom::flush) {},
    [](atom::consumed, spool_consumer, std::uint64_t) {},
    [](atom::ingest, const std::string&) { return fake_reply("ingestion"); },
    [](atom::query, const std::string&) { return fake_reply("ingestion"); },
    [](atom::catalog, const core::event_catalog_ptr&) {},
    [log](atom::routing, const shard_router& r) { write_down_routing(log, "ingestion", r); },
  };
}

/// Answers reload with the snapshot version 1 and writes it down.
inline experiment_registry_actor::behavior_type fake_registry(journal_ptr log) {
  return {
    [](atom::status) { return fake_status("registry"); },
    [](atom::apply, const std::string&, bool) { return fake_reply("registry"); },
    [](atom::list) { return fake_reply("registry"); },
    [](atom::set_status, const std::string&, const std::string&) { return fake_reply("registry"); },
    [log](atom::reload) -> std::uint64_t {
      journal::entry e;
      e.what = "reload";
      e.who = "registry";
      log->add(std::move(e));
      return 1;
    },
    [log](atom::routing, const shard_router& r) { write_down_routing(log, "registry", r); },
    [](atom::health) { return fake_reply("registry"); },
    [](atom::subscribe, const assignment_shard_actor&) {},
    [](atom::subscribe, const ingestion_actor&) {},
    [](atom::apply_types, const std::string&, bool) { return fake_reply("registry"); },
    [](atom::list_types) { return fake_reply("registry"); },
    [](atom::apply_groups, const std::string&, bool) { return fake_reply("registry"); },
    [](atom::list_groups) { return fake_reply("registry"); },
    [](atom::drop_group, const std::string&) { return fake_reply("registry"); },
  };
}

inline event_loader_actor::behavior_type fake_loader() {
  return {
    [](atom::status) { return fake_status("loader"); },
    [](atom::spooled, std::uint64_t) {},
    [](atom::tick) {},
  };
}

/// A trainer worker the test drives: what the registry tells it is written down (train
/// with the rank as value and the world size as observed; cancel), and the progress and
/// outcomes the test hands it go to the registry as its own reports.
using fake_trainer_actor = trainer_worker_actor;

inline fake_trainer_actor::behavior_type fake_trainer(fake_trainer_actor::pointer self,
                                                     journal_ptr log, std::string name,
                                                     training_registry_actor registry) {
  return {
    [=](atom::train, const std::string& job, const std::string&, const std::string& resume,
        std::uint32_t rank, std::uint32_t world, std::uint32_t run) {
      journal::entry e;
      e.what = "train";
      e.who = name;
      e.job = job;
      e.resume_from = resume;
      e.value = rank;
      e.observed = world;
      e.run = run;
      log->add(std::move(e));
    },
    [=](atom::cancel, const std::string& job) {
      journal::entry e;
      e.what = "cancel";
      e.who = name;
      e.job = job;
      log->add(std::move(e));
    },
    [=](atom::progress, const training_progress& p) {
      self->send(registry, atom::progress::value, p);
    },
    [=](atom::finished, const training_outcome& o) {
      self->send(registry, atom::finished::value, o);
    },
    [name](atom::status) { return fake_status(name); },
  };
}

} // namespace expd::test

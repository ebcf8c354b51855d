#include "actors/training/training_registry.hpp"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/json_body.hpp"
#include "core/field_error.hpp"
#include "core/training_job.hpp"
#include "core/training_record.hpp"
#include "core/training_schedule.hpp"
#include "runtime/log.hpp"
#include "runtime/random_uuid.hpp"
#include "runtime/training_store.hpp"

namespace expd {

namespace {

using nlohmann::json;
using runtime::log;
using runtime::log_level;
using core::training_status;

struct worker_slot {
  trainer_worker_actor handle;
  std::string job; ///< empty: idle
  std::uint32_t rank = 0;
};

// A job this node's workers run: what each rank reported so far.
struct running_job {
  std::vector<caf::actor_addr> ranks;
  std::vector<std::optional<core::rank_outcome>> outcomes;
  bool cancel_sent = false;
};

struct training_registry_state {
  static inline const char* name = "training_registry";

  training_registry_config cfg;
  std::string runner; ///< this registry's id in exp.training_jobs.runner
  std::unique_ptr<runtime::training_store> store;
  std::vector<worker_slot> workers;
  std::vector<model_host_actor> hosts;
  std::map<std::string, running_job> running;
  std::uint64_t submitted = 0;
  std::uint64_t started = 0;
  std::uint64_t retried = 0;
  std::uint64_t store_failures = 0;
};

using self_ptr = training_registry_actor::stateful_pointer<training_registry_state>;

caf::error unknown_job(const std::string& id) {
  return make_error(ec::not_found, "id", "no training job has the id " + id);
}

// Runs `answer`, turning a database failure into a 503.
template <class F>
caf::expected<api_reply> guarded(self_ptr self, const char* what, F&& answer) {
  try {
    return answer();
  } catch (const std::exception& e) {
    ++self->state.store_failures;
    log(log_level::error, "training_store_failed", {{"what", what}, {"error", e.what()}});
    return make_error(ec::database_unavailable, "", "the training jobs could not be read or written; retry");
  }
}

worker_slot* slot_of(self_ptr self, const caf::actor_addr& who) {
  for (auto& w : self->state.workers)
    if (w.handle.address() == who)
      return &w;
  return nullptr;
}

void cancel_ranks(self_ptr self, const std::string& id, running_job& job) {
  job.cancel_sent = true;
  for (auto& w : self->state.workers)
    if (w.job == id)
      self->send(w.handle, atom::cancel::value, id);
}

std::string outcome_message(const core::job_next& next, const core::training_record& before) {
  switch (next.status) {
    case training_status::queued:
      return "attempt " + std::to_string(next.failures) + " of "
             + std::to_string(before.max_failures + 1) + " failed (" + next.error
             + "); queued to resume from "
             + (before.checkpoint.empty() ? "the start" : before.checkpoint);
    case training_status::failed:
      return "failed: " + next.error;
    default:
      return std::string{core::to_string(next.status)};
  }
}

// Stores what core says a running job becomes after its run ended with `outcomes`.
void conclude(self_ptr self, const core::training_record& before,
              const std::vector<core::rank_outcome>& outcomes) {
  auto& st = self->state;
  auto next = core::after_outcomes(outcomes, before.cancel_requested, before.failures,
                                   before.max_failures);
  std::optional<std::string> error;
  if (!next.error.empty())
    error = next.error;
  // Another registry may have concluded it first (an abandoned run seen twice).
  if (st.store->set_status(before.id, next.status, next.failures, error) != training_status::running)
    return;
  st.store->log_message(before.id, outcome_message(next, before));
  if (next.status == training_status::queued)
    ++st.retried;
  else if (st.cfg.tracker)
    self->send(st.cfg.tracker, atom::finished::value, before.id,
               std::string{core::to_string(next.status)}, next.error);
  log(log_level::info, "training_job_run_ended",
      {{"job", before.id}, {"status", std::string{core::to_string(next.status)}},
       {"failures", next.failures}});
}

// Once every rank of the job reported: stores what core says the job becomes.
void settle(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto it = st.running.find(id);
  if (it == st.running.end())
    return;
  auto& job = it->second;
  if (std::any_of(job.outcomes.begin(), job.outcomes.end(), [](auto& o) { return !o; })) {
    // A failed rank leaves the others waiting on it in their collectives.
    bool failed = std::any_of(job.outcomes.begin(), job.outcomes.end(), [](auto& o) {
      return o && o->result == core::rank_result::failed;
    });
    if (failed && !job.cancel_sent)
      cancel_ranks(self, id, job);
    return;
  }
  std::vector<core::rank_outcome> outcomes;
  for (auto& o : job.outcomes)
    outcomes.push_back(*o);
  st.running.erase(it);
  try {
    if (auto before = st.store->get(id))
      conclude(self, *before, outcomes);
  } catch (const std::exception& e) {
    ++st.store_failures;
    log(log_level::error, "training_store_failed", {{"what", "settle"}, {"error", e.what()}});
  }
}

void record_outcome(self_ptr self, const std::string& id, std::uint32_t rank,
                    core::rank_outcome outcome) {
  auto it = self->state.running.find(id);
  if (it == self->state.running.end() || rank >= it->second.outcomes.size())
    return;
  it->second.outcomes[rank] = std::move(outcome);
  settle(self, id);
}

// Starts what core's plan says on the idle workers and notes why the others wait.
void dispatch(self_ptr self) {
  auto& st = self->state;
  try {
    auto queued = st.store->queued();
    std::vector<core::queued_training> waiting;
    for (auto& j : queued)
      waiting.push_back({j.id, j.ranks});
    std::vector<std::size_t> idle;
    for (std::size_t i = 0; i < st.workers.size(); ++i)
      if (st.workers[i].job.empty())
        idle.push_back(i);
    auto plan = core::plan_dispatch(waiting, idle, st.workers.size());
    for (auto& w : plan.waiting)
      st.store->set_reason(w.id, w.reason);
    for (auto& start : plan.starts) {
      auto rec = std::find_if(queued.begin(), queued.end(), [&](auto& j) { return j.id == start.id; });
      // Another node's registry may have claimed it first.
      if (!st.store->claim(start.id, st.runner))
        continue;
      running_job job;
      auto spec = rec->spec.dump();
      auto ranks = static_cast<std::uint32_t>(start.workers.size());
      for (std::uint32_t r = 0; r < ranks; ++r) {
        auto& w = st.workers[start.workers[r]];
        w.job = start.id;
        w.rank = r;
        job.ranks.push_back(w.handle.address());
        self->send(w.handle, atom::train::value, start.id, spec, rec->checkpoint, r, ranks,
                   rec->failures);
      }
      if (st.cfg.tracker)
        self->send(st.cfg.tracker, atom::train::value, start.id, spec, rec->failures);
      job.outcomes.resize(ranks);
      st.running.emplace(start.id, std::move(job));
      ++st.started;
      st.store->log_message(start.id, "started on " + std::to_string(ranks) + " trainer worker"
                                        + (ranks == 1 ? "" : "s")
                                        + (rec->checkpoint.empty()
                                             ? std::string{}
                                             : ", resuming from " + rec->checkpoint));
    }
  } catch (const std::exception& e) {
    ++st.store_failures;
    log(log_level::error, "training_store_failed", {{"what", "dispatch"}, {"error", e.what()}});
  }
}

// Says this registry still runs its jobs, and fails the runs of registries that went
// quiet (their node died), retriably, as a worker's death is.
void keep_runs(self_ptr self) {
  auto& st = self->state;
  try {
    st.store->heartbeat(st.runner);
    for (auto& rec : st.store->abandoned(st.cfg.abandoned_after))
      if (st.running.count(rec.id) == 0)
        conclude(self, rec,
                 {{core::rank_result::failed, true,
                   "the node running it stopped reporting (its registry was quiet for "
                     + std::to_string(st.cfg.abandoned_after.count()) + " ms)"}});
  } catch (const std::exception& e) {
    ++st.store_failures;
    log(log_level::error, "training_store_failed", {{"what", "heartbeat"}, {"error", e.what()}});
  }
}

// Cancels other nodes asked for, of jobs this node runs.
void forward_cancels(self_ptr self) {
  auto& st = self->state;
  for (auto& [id, job] : st.running) {
    if (job.cancel_sent)
      continue;
    try {
      auto rec = st.store->get(id);
      if (rec && rec->cancel_requested)
        cancel_ranks(self, id, job);
    } catch (const std::exception& e) {
      ++st.store_failures;
      log(log_level::error, "training_store_failed", {{"what", "cancels"}, {"error", e.what()}});
      return;
    }
  }
}

caf::expected<api_reply> submit(self_ptr self, const std::string& body, bool dry_run) {
  json doc;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  core::training_job job;
  try {
    job = core::parse_training_job(doc);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  }
  auto spec = core::training_job_json(job);
  if (dry_run)
    return api_reply{200, json{{"dry_run", true}, {"spec", spec}}.dump()};
  return guarded(self, "submit", [&]() -> caf::expected<api_reply> {
    auto& st = self->state;
    auto id = runtime::random_uuid().str();
    st.store->create(id, job.name, spec.dump(), job.ranks, job.max_failures,
                     job.max_steps.value_or(0));
    ++st.submitted;
    log(log_level::info, "training_job_submitted", {{"job", id}, {"name", job.name}});
    dispatch(self);
    auto rec = st.store->get(id);
    return api_reply{201, core::training_record_json(*rec).dump()};
  });
}

caf::expected<api_reply> cancel(self_ptr self, const std::string& id) {
  return guarded(self, "cancel", [&]() -> caf::expected<api_reply> {
    auto& st = self->state;
    auto rec = st.store->get(id);
    if (!rec)
      return unknown_job(id);
    if (rec->status == training_status::queued
        && st.store->set_status(id, training_status::cancelled) == training_status::queued) {
      st.store->log_message(id, "cancelled while queued");
      return api_reply{200, core::training_record_json(*st.store->get(id)).dump()};
    }
    rec = st.store->get(id);
    // A second cancel of a cancelled job is answered as the first was.
    if (rec->status == training_status::cancelled)
      return api_reply{200, core::training_record_json(*rec).dump()};
    if (core::is_final(rec->status))
      return make_error(ec::invalid_transition, "id",
                        "training job " + id + " has " + std::string{core::to_string(rec->status)}
                          + ": it can no longer be cancelled");
    if (!rec->cancel_requested) {
      st.store->request_cancel(id);
      st.store->log_message(id, "cancel requested");
    }
    if (auto it = st.running.find(id); it != st.running.end() && !it->second.cancel_sent)
      cancel_ranks(self, id, it->second);
    return api_reply{202, core::training_record_json(*st.store->get(id)).dump()};
  });
}

void on_progress(self_ptr self, const training_progress& p) {
  auto& st = self->state;
  auto* w = slot_of(self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
  // Rank 0 speaks for the job; a report of a run that ended is late.
  if (!w || w->job != p.job_id || w->rank != 0)
    return;
  runtime::training_update u;
  u.step = p.step;
  u.total_steps = p.total_steps;
  u.loss = p.loss;
  u.learning_rate = p.learning_rate;
  u.grad_norm = p.grad_norm;
  u.tokens = p.tokens;
  u.tokens_per_second = p.tokens_per_second;
  u.checkpoint = p.checkpoint;
  if (st.cfg.tracker)
    self->send(st.cfg.tracker, atom::progress::value, p);
  try {
    st.store->record_progress(p.job_id, u);
  } catch (const std::exception& e) {
    ++st.store_failures;
    log(log_level::error, "training_store_failed", {{"what", "progress"}, {"error", e.what()}});
  }
}

void on_finished(self_ptr self, const training_outcome& o) {
  auto* w = slot_of(self, caf::actor_cast<caf::actor_addr>(self->current_sender()));
  if (!w || w->job != o.job_id)
    return;
  auto rank = w->rank;
  w->job.clear();
  record_outcome(self, o.job_id, rank, {o.result, o.retriable, o.error});
  dispatch(self);
}

void on_worker_down(self_ptr self, const caf::down_msg& msg) {
  auto& st = self->state;
  auto host = std::find_if(st.hosts.begin(), st.hosts.end(), [&](auto& h) { return h.address() == msg.source; });
  if (host != st.hosts.end()) {
    st.hosts.erase(host);
    log(log_level::warn, "model_host_down", {{"hosts", st.hosts.size()}});
    return;
  }
  auto it = std::find_if(st.workers.begin(), st.workers.end(),
                         [&](auto& w) { return w.handle.address() == msg.source; });
  if (it == st.workers.end())
    return;
  auto job = it->job;
  auto rank = it->rank;
  st.workers.erase(it);
  log(log_level::warn, "trainer_worker_down", {{"job", job}, {"workers", st.workers.size()}});
  if (!job.empty())
    record_outcome(self, job, rank,
                   {core::rank_result::failed, true,
                    "the trainer worker of rank " + std::to_string(rank) + " died"});
  dispatch(self);
}

status_record registry_status(self_ptr self) {
  auto& st = self->state;
  auto busy = std::count_if(st.workers.begin(), st.workers.end(),
                            [](auto& w) { return !w.job.empty(); });
  auto n = [](auto x) { return static_cast<double>(x); };
  return {"training_registry",
          {{"expd_trainer_workers", "gauge", "Trainer workers registered on this node.", "",
            n(st.workers.size())},
           {"expd_trainer_workers_busy", "gauge", "Trainer workers running a job.", "", n(busy)},
           {"expd_model_hosts", "gauge", "Model hosts registered on this node.", "", n(st.hosts.size())},
           {"expd_training_jobs_submitted_total", "counter", "Training jobs stored.", "",
            n(st.submitted)},
           {"expd_training_runs_started_total", "counter",
            "Runs of training jobs started on this node's workers.", "", n(st.started)},
           {"expd_training_retries_total", "counter",
            "Failed runs queued again to resume from their checkpoint.", "", n(st.retried)},
           {"expd_training_store_failures_total", "counter",
            "Training registry calls PostgreSQL failed.", "", n(st.store_failures)}}};
}

} // namespace

training_registry_actor spawn_training_registry(caf::actor_system& sys,
                                                training_registry_config cfg) {
  return sys.spawn<caf::detached>(
    [cfg = std::move(cfg)](self_ptr self) -> training_registry_actor::behavior_type {
      auto& st = self->state;
      st.cfg = cfg;
      st.runner = runtime::random_uuid().str();
      st.store = std::make_unique<runtime::training_store>(st.cfg.pg_url);
      self->set_down_handler([self](const caf::down_msg& msg) { on_worker_down(self, msg); });
      self->send(self, atom::tick::value);
      return {
        [=](atom::submit, const std::string& body, bool dry_run) -> caf::result<api_reply> {
          return submit(self, body, dry_run);
        },
        [=](atom::list) -> caf::result<api_reply> {
          return guarded(self, "list", [&]() -> caf::expected<api_reply> {
            auto jobs = json::array();
            for (auto& r : self->state.store->list(self->state.cfg.list_limit))
              jobs.push_back(core::training_summary_json(r));
            return api_reply{200, json{{"jobs", std::move(jobs)}}.dump()};
          });
        },
        [=](atom::get, const std::string& id) -> caf::result<api_reply> {
          return guarded(self, "get", [&]() -> caf::expected<api_reply> {
            auto rec = self->state.store->get(id);
            if (!rec)
              return unknown_job(id);
            return api_reply{200, core::training_record_json(*rec).dump()};
          });
        },
        [=](atom::logs, const std::string& id, std::uint64_t after,
            std::uint32_t limit) -> caf::result<api_reply> {
          return guarded(self, "logs", [&]() -> caf::expected<api_reply> {
            auto rec = self->state.store->get(id);
            if (!rec)
              return unknown_job(id);
            auto rows = json::array();
            auto last = after;
            for (auto& row : self->state.store->log_after(id, after, limit)) {
              last = row.seq;
              rows.push_back(core::training_log_json(row));
            }
            // The job's state with the rows, so a follower knows when to stop.
            return api_reply{200, json{{"job", core::training_summary_json(*rec)},
                                       {"logs", std::move(rows)},
                                       {"next_after", last}}
                                    .dump()};
          });
        },
        [=](atom::cancel, const std::string& id) -> caf::result<api_reply> {
          return cancel(self, id);
        },
        [=](atom::progress, const training_progress& p) { on_progress(self, p); },
        [=](atom::finished, const training_outcome& o) { on_finished(self, o); },
        [=](atom::subscribe, const trainer_worker_actor& w) {
          if (!w || slot_of(self, w.address()))
            return;
          self->monitor(w);
          self->state.workers.push_back({w, "", 0});
          log(log_level::info, "trainer_worker_registered",
              {{"workers", self->state.workers.size()}});
          dispatch(self);
        },
        [=](atom::subscribe, const model_host_actor& h) {
          auto& hosts = self->state.hosts;
          if (!h || std::find(hosts.begin(), hosts.end(), h) != hosts.end())
            return;
          self->monitor(h);
          hosts.push_back(h);
          log(log_level::info, "model_host_registered", {{"hosts", hosts.size()}});
        },
        [=](atom::load, const model_load_request& request) -> caf::result<inference_actor> {
          auto& hosts = self->state.hosts;
          if (hosts.empty())
            return make_error(ec::unavailable, "",
                              "no model host on this node: start expd-trainer with --registry set to the "
                              "node's --trainer-listen");
          // The same key to the same host while the hosts stay, so a model loads once.
          auto& host = hosts[std::hash<std::string>{}(request.key) % hosts.size()];
          return self->delegate(host, atom::load::value, request);
        },
        [=](atom::tick) {
          keep_runs(self);
          forward_cancels(self);
          dispatch(self);
          self->delayed_send(self, self->state.cfg.dispatch_interval, atom::tick::value);
        },
        [=](atom::status) -> status_record { return registry_status(self); },
      };
    });
}

} // namespace expd

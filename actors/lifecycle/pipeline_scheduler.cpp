#include "actors/lifecycle/pipeline_scheduler.hpp"

#include <deque>
#include <memory>
#include <optional>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/json_body.hpp"
#include "core/pipeline_run.hpp"
#include "runtime/failpoint.hpp"
#include "runtime/log.hpp"
#include "runtime/pipeline_store.hpp"
#include "runtime/random_uuid.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using nlohmann::json;
using runtime::log;
using runtime::log_level;

// The training registry answers from PostgreSQL; past this a look is tried again later.
constexpr std::chrono::seconds training_timeout{30};
constexpr std::size_t runs_listed = 100;

struct pipeline_scheduler_state {
  static inline const char* name = "pipeline_scheduler";

  pipeline_scheduler_config cfg;
  dataset_builder_actor datasets;
  training_registry_actor training;
  std::unique_ptr<runtime::pipeline_store> store;
  core::unix_micros started_at = 0; ///< slots before it were missed while the node was down
  bool resumed = false;
  std::deque<std::string> queue;            ///< run ids waiting, in order
  std::optional<core::pipeline_run> current; ///< the run whose steps are under way
  std::uint64_t started = 0, succeeded = 0, failed = 0, store_failures = 0;
};

using self_ptr = pipeline_scheduler_actor::stateful_pointer<pipeline_scheduler_state>;

void next_move(self_ptr self);

// The string at `pointer` of an answer; "" when absent or null.
std::string text_at(const json& doc, const char* pointer) {
  auto p = json::json_pointer{pointer};
  return doc.contains(p) && doc.at(p).is_string() ? doc.at(p).get<std::string>() : std::string{};
}

std::string error_text(self_ptr self, const caf::error& e) {
  if (expd_code(e) == 0)
    return self->system().render(e);
  auto field = error_field(e);
  return error_message(e) + (field.empty() ? "" : " (" + field + ")");
}

// Runs `fn`; PostgreSQL failing mid-move leaves the run as stored, and the move is
// made again a tick later (every move is safe to repeat: see core::next_move).
template <class F>
void guarded(self_ptr self, const char* what, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    auto& st = self->state;
    ++st.store_failures;
    log(log_level::error, "pipeline_store_failed", {{"what", what}, {"error", e.what()}});
    if (st.current)
      self->delayed_send(self, st.cfg.tick, atom::advance::value, st.current->id);
  }
}

void start_next(self_ptr self) {
  auto& st = self->state;
  while (!st.current && !st.queue.empty()) {
    auto run = st.store->find_run(st.queue.front());
    if (!run || run->status == core::run_status::succeeded || run->status == core::run_status::failed) {
      st.queue.pop_front();
      continue;
    }
    if (run->status == core::run_status::queued) {
      run->status = core::run_status::running;
      run->started_at = runtime::now_micros();
      st.store->save_run(*run);
      ++st.started;
      log(log_level::info, "pipeline_run_started",
          {{"run", run->id}, {"pipeline", run->spec.name}, {"trigger", core::to_string(run->trigger)}});
    }
    st.queue.pop_front();
    st.current = std::move(*run);
    next_move(self);
  }
}

void finish(self_ptr self, core::run_status status, const std::string& error) {
  auto& st = self->state;
  auto& run = *st.current;
  run.status = status;
  run.error = error;
  run.finished_at = runtime::now_micros();
  st.store->save_run(run);
  ++(status == core::run_status::succeeded ? st.succeeded : st.failed);
  log(status == core::run_status::succeeded ? log_level::info : log_level::warn, "pipeline_run_finished",
      {{"run", run.id}, {"pipeline", run.spec.name}, {"status", core::to_string(status)}, {"error", error}});
  st.current.reset();
  start_next(self);
}

void step_succeeded(self_ptr self, std::size_t i, const json& outputs) {
  auto& step = self->state.current->steps[i];
  step.status = core::step_status::succeeded;
  step.outputs.update(outputs);
  step.finished_at = runtime::now_micros();
  self->state.store->save_run(*self->state.current);
  // A test's crash between two steps: the restarted node must not redo this one.
  runtime::failpoint("pipeline.after_step");
  next_move(self);
}

void step_failed(self_ptr self, std::size_t i, const std::string& error) {
  auto& step = self->state.current->steps[i];
  step.status = core::step_status::failed;
  step.error = error;
  step.finished_at = runtime::now_micros();
  next_move(self);
}

void build_dataset(self_ptr self, std::size_t i) {
  auto& run = *self->state.current;
  auto request = core::dataset_request_for(run.spec.steps[i].dataset, run.scheduled_for);
  // A build takes as long as its window does; the builder always answers.
  self->request(self->state.datasets, caf::infinite, atom::build::value, request)
    .then([=](const api_reply& reply) {
            guarded(self, "dataset", [&] {
              step_succeeded(self, i, core::dataset_step_outputs(json::parse(reply.body)));
            });
          },
          [=](caf::error& e) { guarded(self, "dataset", [&] { step_failed(self, i, error_text(self, e)); }); });
}

void submit_job(self_ptr self, std::size_t i, const json& job) {
  self->request(self->state.training, training_timeout, atom::submit::value, job.dump(), false)
    .then(
      [=](const api_reply& reply) {
        guarded(self, "submit", [&] {
          auto& step = self->state.current->steps[i];
          step.outputs["job_id"] = json::parse(reply.body).at("id");
          self->state.store->save_run(*self->state.current);
          next_move(self);
        });
      },
      [=](caf::error& e) { guarded(self, "submit", [&] { step_failed(self, i, error_text(self, e)); }); });
}

// Submits the step's job, unless a job of its name exists: a submission answered just
// before a crash, whose id was never recorded.
void start_training(self_ptr self, std::size_t i) {
  auto& run = *self->state.current;
  auto& spec = run.spec.steps[i].train;
  json job;
  try {
    job = core::train_job_for(spec, run.id, core::step_inputs(run, i));
  } catch (const std::invalid_argument& e) {
    return step_failed(self, i, e.what());
  }
  auto name = core::train_job_name(spec, run.id);
  self->request(self->state.training, training_timeout, atom::list::value)
    .then(
      [=](const api_reply& reply) {
        guarded(self, "submit", [&] {
          for (auto& j : json::parse(reply.body).at("jobs"))
            if (text_at(j, "/name") == name) {
              self->state.current->steps[i].outputs["job_id"] = j.at("id");
              self->state.store->save_run(*self->state.current);
              return next_move(self);
            }
          submit_job(self, i, job);
        });
      },
      [=](caf::error& e) {
        log(log_level::warn, "pipeline_training_unavailable", {{"error", error_text(self, e)}});
        self->delayed_send(self, self->state.cfg.tick, atom::advance::value, self->state.current->id);
      });
}

void follow_job(self_ptr self, std::size_t i, const std::string& job_id) {
  auto run_id = self->state.current->id;
  self->request(self->state.training, training_timeout, atom::get::value, job_id)
    .then(
      [=](const api_reply& reply) {
        guarded(self, "follow", [&] {
          auto job = json::parse(reply.body);
          auto status = text_at(job, "/status");
          if (status == "succeeded")
            return step_succeeded(self, i, {{"job_id", job_id}, {"status", status},
                                            {"output", text_at(job, "/spec/output")}});
          if (status == "failed" || status == "cancelled")
            return step_failed(self, i, "training job " + job_id + " " + status + ": " + text_at(job, "/error"));
          self->delayed_send(self, self->state.cfg.tick, atom::advance::value, run_id);
        });
      },
      [=](caf::error& e) {
        guarded(self, "follow", [&] {
          if (expd_code(e) == static_cast<std::uint8_t>(ec::not_found))
            return step_failed(self, i, "training job " + job_id + " is gone");
          // The registry busy or PostgreSQL away: the job goes on; look again later.
          self->delayed_send(self, self->state.cfg.tick, atom::advance::value, run_id);
        });
      });
}

void next_move(self_ptr self) {
  auto& st = self->state;
  auto& run = *st.current;
  auto move = core::next_move(run);
  switch (move.kind) {
    case core::run_move_kind::succeed:
      return finish(self, core::run_status::succeeded, "");
    case core::run_move_kind::fail:
      return finish(self, core::run_status::failed, move.reason);
    case core::run_move_kind::follow_job:
      return follow_job(self, move.step, move.job_id);
    case core::run_move_kind::start_step: {
      auto& step = run.steps[move.step];
      step.status = core::step_status::running;
      step.error.clear();
      step.started_at = runtime::now_micros();
      st.store->save_run(run);
      if (step.kind == core::pipeline_step_kind::dataset)
        return build_dataset(self, move.step);
      return start_training(self, move.step);
    }
  }
}

// Queues the run (a new one, or one found unfinished at start) behind the others.
void enqueue(self_ptr self, const std::string& id) {
  self->state.queue.push_back(id);
  start_next(self);
}

void resume(self_ptr self) {
  auto& st = self->state;
  for (auto& run : st.store->unfinished(st.cfg.node)) {
    log(log_level::info, "pipeline_run_resumed",
        {{"run", run.id}, {"pipeline", run.spec.name}, {"status", core::to_string(run.status)}});
    st.queue.push_back(run.id);
  }
  st.resumed = true;
}

void queue_due_runs(self_ptr self) {
  auto& st = self->state;
  auto now = runtime::now_micros();
  for (auto& p : st.store->load()) {
    if (!p.spec.enabled)
      continue;
    auto due = core::find_due_run(p.spec.schedule, p.schedule_since, st.store->last_scheduled(p.spec.name), now,
                                  st.started_at);
    if (!due)
      continue;
    auto run = core::new_run(p.spec, runtime::random_uuid().str(), due->scheduled_for, due->trigger, st.cfg.node);
    // Another node may have made this slot's run first; then it is that node's.
    if (st.store->create_run(run)) {
      log(log_level::info, "pipeline_run_queued",
          {{"run", run.id}, {"pipeline", p.spec.name}, {"trigger", core::to_string(due->trigger)},
           {"scheduled_for", core::format_rfc3339(due->scheduled_for)}});
      st.queue.push_back(run.id);
    }
  }
}

caf::result<api_reply> database_error(const std::exception& e) {
  log(log_level::error, "pipeline_store_failed", {{"error", e.what()}});
  return make_error(ec::database_unavailable, "", "PostgreSQL did not answer; nothing was changed, retry");
}

caf::result<api_reply> apply(self_ptr self, const std::string& body, bool dry_run) {
  json doc;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  std::vector<core::pipeline_spec> specs;
  try {
    specs = core::parse_pipeline_document(doc);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  }
  try {
    auto plan = core::plan_pipelines(specs, self->state.store->load());
    if (!dry_run)
      self->state.store->apply(plan, runtime::now_micros());
    json items = json::array();
    for (auto& p : plan)
      items.push_back({{"name", p.spec.name}, {"action", core::to_string(p.action)}});
    return json_reply(200, {{"dry_run", dry_run}, {"pipelines", std::move(items)}});
  } catch (const std::exception& e) {
    return database_error(e);
  }
}

json describe(self_ptr self, const core::stored_pipeline& p, core::unix_micros now) {
  auto out = core::pipeline_spec_json(p.spec);
  auto next = p.spec.enabled ? core::next_fire_after(p.spec.schedule, now) : std::nullopt;
  out["next_run_at"] = next ? json(core::format_rfc3339(*next)) : json(nullptr);
  out["schedule_since"] = core::format_rfc3339(p.schedule_since);
  auto last = self->state.store->runs(p.spec.name, 1);
  out["last_run"] = last.empty() ? json(nullptr)
                                 : json{{"id", last[0].id},
                                        {"status", core::to_string(last[0].status)},
                                        {"trigger", core::to_string(last[0].trigger)},
                                        {"scheduled_for", core::format_rfc3339(last[0].scheduled_for)}};
  return out;
}

const core::stored_pipeline* find_pipeline(const std::vector<core::stored_pipeline>& all, const std::string& name) {
  for (auto& p : all)
    if (p.spec.name == name)
      return &p;
  return nullptr;
}

caf::error unknown_pipeline(const std::string& name) {
  return make_error(ec::not_found, "name", "no pipeline is named \"" + name + "\" (GET /admin/v1/pipelines lists them)");
}

caf::result<api_reply> trigger(self_ptr self, const std::string& name) {
  auto& st = self->state;
  try {
    auto all = st.store->load();
    auto* p = find_pipeline(all, name);
    if (p == nullptr)
      return unknown_pipeline(name);
    auto run = core::new_run(p->spec, runtime::random_uuid().str(), runtime::now_micros(), core::run_trigger::manual,
                             st.cfg.node);
    st.store->create_run(run);
    log(log_level::info, "pipeline_run_queued", {{"run", run.id}, {"pipeline", name}, {"trigger", "manual"}});
    auto reply = json_reply(202, core::pipeline_run_json(run));
    guarded(self, "trigger", [&] { enqueue(self, run.id); });
    return reply;
  } catch (const std::exception& e) {
    return database_error(e);
  }
}

status_record scheduler_status(self_ptr self) {
  auto& st = self->state;
  auto counter = [](const char* name, const char* help, std::uint64_t v) {
    return metric_sample{name, "counter", help, "", static_cast<double>(v)};
  };
  return {"pipeline_scheduler",
          {counter("expd_pipeline_runs_started_total", "Pipeline runs this node started.", st.started),
           counter("expd_pipeline_runs_succeeded_total", "Pipeline runs whose every step succeeded.", st.succeeded),
           counter("expd_pipeline_runs_failed_total", "Pipeline runs that failed (a step's error).", st.failed),
           counter("expd_pipeline_store_failures_total", "Moves PostgreSQL failed (tried again a tick later).",
                   st.store_failures),
           {"expd_pipeline_runs_waiting", "gauge", "Runs queued or under way on this node.", "",
            static_cast<double>(st.queue.size() + (st.current ? 1 : 0))}}};
}

} // namespace

pipeline_scheduler_actor spawn_pipeline_scheduler(caf::actor_system& sys, pipeline_scheduler_config cfg,
                                                  dataset_builder_actor datasets, training_registry_actor training) {
  return sys.spawn<caf::detached>(
    [](self_ptr self, pipeline_scheduler_config cfg, dataset_builder_actor datasets,
       training_registry_actor training) -> pipeline_scheduler_actor::behavior_type {
      auto& st = self->state;
      st.cfg = std::move(cfg);
      st.datasets = std::move(datasets);
      st.training = std::move(training);
      st.store = std::make_unique<runtime::pipeline_store>(st.cfg.pg_url);
      st.started_at = runtime::now_micros();
      self->send(self, atom::tick::value);
      return {
        [=](atom::apply, const std::string& body, bool dry_run) { return apply(self, body, dry_run); },
        [=](atom::list) -> caf::result<api_reply> {
          try {
            auto now = runtime::now_micros();
            json list = json::array();
            for (auto& p : self->state.store->load())
              list.push_back(describe(self, p, now));
            return json_reply(200, {{"pipelines", std::move(list)}});
          } catch (const std::exception& e) {
            return database_error(e);
          }
        },
        [=](atom::runs, const std::string& name) -> caf::result<api_reply> {
          try {
            auto& store = *self->state.store;
            if (!name.empty() && find_pipeline(store.load(), name) == nullptr)
              return unknown_pipeline(name);
            json list = json::array();
            for (auto& r : store.runs(name, runs_listed))
              list.push_back(core::pipeline_run_json(r));
            return json_reply(200, {{"runs", std::move(list)}});
          } catch (const std::exception& e) {
            return database_error(e);
          }
        },
        [=](atom::trigger, const std::string& name) { return trigger(self, name); },
        [=](atom::get, const std::string& id) -> caf::result<api_reply> {
          try {
            auto run = self->state.store->find_run(id);
            if (!run)
              return make_error(ec::not_found, "id", "no pipeline run has the id " + id);
            return json_reply(200, core::pipeline_run_json(*run));
          } catch (const std::exception& e) {
            return database_error(e);
          }
        },
        [=](atom::tick) {
          guarded(self, "tick", [&] {
            if (!self->state.resumed)
              resume(self);
            queue_due_runs(self);
            start_next(self);
          });
          self->delayed_send(self, self->state.cfg.tick, atom::tick::value);
        },
        [=](atom::advance, const std::string& id) {
          auto& st = self->state;
          if (st.current && st.current->id == id)
            guarded(self, "advance", [&] { next_move(self); });
        },
        [=](atom::status) -> status_record { return scheduler_status(self); },
      };
    },
    std::move(cfg), std::move(datasets), std::move(training));
}

} // namespace expd

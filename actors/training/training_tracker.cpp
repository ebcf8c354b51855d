#include "actors/training/training_tracker.hpp"

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "core/training_tracking.hpp"
#include "runtime/log.hpp"
#include "runtime/mlflow_client.hpp"
#include "runtime/training_store.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using runtime::log;
using runtime::log_level;

// One job's tracking: its run once made, the step metrics MLflow has not taken yet, and
// how the job ended once it did.
struct tracked_job {
  core::training_job job;
  std::string run_id;
  std::string artifact_uri;
  std::vector<runtime::mlflow_metric> pending;
  std::optional<std::pair<std::string, std::string>> ended; ///< status, error
};

struct tracker_state {
  training_tracker_config cfg;
  std::unique_ptr<runtime::mlflow_client> mlflow;
  std::unique_ptr<runtime::training_store> store;
  std::map<std::string, tracked_job> jobs;
  std::uint64_t runs = 0, metrics = 0, versions = 0, refused = 0, unavailable = 0;
};

using self_ptr = training_tracker_actor::stateful_pointer<tracker_state>;

std::int64_t now_ms() {
  return runtime::now_micros() / 1000;
}

// MLflow away (a transport error, 429 or 5xx): keep it for later. Anything else it
// refused for good.
bool unavailable(const runtime::mlflow_error& e) {
  if (auto* api = dynamic_cast<const runtime::mlflow_api_error*>(&e))
    return api->http_status() == 429 || api->http_status() >= 500;
  return true;
}

void job_log(self_ptr self, const std::string& id, const std::string& message) {
  try {
    self->state.store->log_message(id, message);
  } catch (const std::exception& e) {
    log(log_level::error, "training_store_failed", {{"what", "tracker log"}, {"error", e.what()}});
  }
}

std::string experiment_id(self_ptr self, const std::string& name) {
  auto& mlflow = *self->state.mlflow;
  if (auto found = mlflow.find_experiment(name))
    return found->experiment_id;
  try {
    return mlflow.create_experiment(name);
  } catch (const runtime::mlflow_api_error& e) {
    // Another node made it first.
    if (e.code() != runtime::mlflow_code::resource_already_exists)
      throw;
    return mlflow.find_experiment(name).value().experiment_id;
  }
}

// The job's run: the one kept with the job, or one tagged with its id (a create whose
// answer was lost), or a new one with the job's params and tags.
void ensure_run(self_ptr self, const std::string& id, tracked_job& t) {
  if (!t.run_id.empty())
    return;
  auto& st = self->state;
  auto run_id = st.store->mlflow_run(id);
  if (run_id.empty()) {
    auto experiment = experiment_id(self, t.job.mlflow.experiment);
    auto found = st.mlflow->search_runs({experiment}, "tags.`expd.job_id` = '" + id + "'");
    if (!found.empty()) {
      run_id = found.front().run_id;
    } else {
      run_id = st.mlflow->create_run(experiment, t.job.name, now_ms(),
                                     core::training_run_tags(t.job, id)).run_id;
      ++st.runs;
    }
    st.mlflow->log_batch(run_id, {}, core::training_run_params(t.job));
    st.store->set_mlflow_run(id, run_id);
    job_log(self, id, "mlflow: run " + run_id + " in experiment " + t.job.mlflow.experiment);
  }
  t.artifact_uri = st.mlflow->get_run(run_id).artifact_uri;
  t.run_id = run_id;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The validation curve the worker wrote beside its checkpoints (gpu/training_run.cpp).
std::vector<runtime::mlflow_metric> validation_curve(const fs::path& output) {
  std::vector<runtime::mlflow_metric> out;
  std::ifstream in(output / "metrics.jsonl");
  for (std::string line; std::getline(in, line);) {
    auto row = json::parse(line, nullptr, false);
    if (row.is_object() && row.contains("validation_loss") && row["validation_loss"].is_number())
      out.push_back({"validation_loss", row["validation_loss"].get<double>(), now_ms(),
                     row.value("step", std::int64_t{0})});
  }
  return out;
}

// What a finished job leaves in MLflow: its validation curve and files, the registered
// version, the run's end. Each part is safe to do again after MLflow went away half way
// (uploads replace; the version is looked up by the run first).
void conclude(self_ptr self, const std::string& id, tracked_job& t) {
  auto& st = self->state;
  auto [status, error] = *t.ended;
  fs::path output = t.job.output;
  if (status == "succeeded") {
    st.mlflow->log_batch(t.run_id, validation_curve(output));
    std::vector<std::pair<std::string, fs::path>> files{
      {"adapter/adapter_config.json", output / "adapter" / "adapter_config.json"},
      {"adapter/adapter_model.safetensors", output / "adapter" / "adapter_model.safetensors"},
      {"metrics.jsonl", output / "metrics.jsonl"},
      {"config/config.json", fs::path{t.job.base_model} / "config.json"}};
    for (auto* name : {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "tokenizer.json"})
      files.push_back({std::string{"tokenizer/"} + name, fs::path{t.job.base_model} / name});
    for (auto& [path, file] : files)
      if (fs::exists(file))
        st.mlflow->upload_artifact(t.artifact_uri, path, read_bytes(file));
    if (!t.job.mlflow.register_model.empty()) {
      auto& name = t.job.mlflow.register_model;
      try {
        st.mlflow->create_registered_model(name);
      } catch (const runtime::mlflow_api_error& e) {
        if (e.code() != runtime::mlflow_code::resource_already_exists)
          throw;
      }
      auto versions = st.mlflow->search_model_versions("run_id = '" + t.run_id + "'");
      if (versions.empty()) {
        auto v = st.mlflow->create_model_version(name, t.artifact_uri + "/adapter", t.run_id,
                                                 core::model_version_tags(t.job, id));
        ++st.versions;
        job_log(self, id, "mlflow: registered " + name + " version " + std::to_string(v.version));
      }
    }
  }
  if (!error.empty())
    st.mlflow->set_tag(t.run_id, "expd.error", error.substr(0, 5000));
  auto end = status == "succeeded" ? runtime::mlflow_run_status::finished
             : status == "cancelled" ? runtime::mlflow_run_status::killed
                                     : runtime::mlflow_run_status::failed;
  st.mlflow->update_run(t.run_id, end, now_ms());
}

// Everything pending for the job, in order; false when MLflow is away (tried again later).
bool catch_up(self_ptr self, const std::string& id) {
  auto& st = self->state;
  auto it = st.jobs.find(id);
  if (it == st.jobs.end())
    return true;
  auto& t = it->second;
  try {
    ensure_run(self, id, t);
    if (!t.pending.empty()) {
      st.mlflow->log_batch(t.run_id, t.pending);
      st.metrics += t.pending.size();
      t.pending.clear();
    }
    if (t.ended) {
      conclude(self, id, t);
      st.jobs.erase(it);
    }
    return true;
  } catch (const runtime::mlflow_error& e) {
    if (unavailable(e)) {
      ++st.unavailable;
      log(log_level::warn, "mlflow_unavailable", {{"job", id}, {"error", e.what()}});
      return false;
    }
    ++st.refused;
    job_log(self, id, std::string{"mlflow refused the run's logging: "} + e.what());
    st.jobs.erase(it);
    return true;
  } catch (const std::exception& e) {
    // PostgreSQL away: the job's run id cannot be kept yet.
    log(log_level::warn, "training_tracker_failed", {{"job", id}, {"error", e.what()}});
    return false;
  }
}

// The job's tracking, from its stored spec when this node did not see it start (a run
// another node's registry concluded, or one from before a restart).
tracked_job* track(self_ptr self, const std::string& id, const std::string& spec) {
  auto& st = self->state;
  if (auto it = st.jobs.find(id); it != st.jobs.end())
    return &it->second;
  try {
    auto doc = spec.empty() ? json{} : json::parse(spec);
    if (spec.empty()) {
      auto rec = st.store->get(id);
      if (!rec)
        return nullptr;
      doc = rec->spec;
    }
    return &st.jobs.emplace(id, tracked_job{core::parse_training_job(doc), "", "", {}, {}}).first->second;
  } catch (const std::exception& e) {
    log(log_level::error, "training_tracker_failed", {{"job", id}, {"error", e.what()}});
    return nullptr;
  }
}

status_record tracker_status(self_ptr self) {
  auto& st = self->state;
  std::size_t pending = 0;
  for (auto& [id, t] : st.jobs)
    pending += t.pending.size() + (t.ended ? 1 : 0);
  auto n = [](auto x) { return static_cast<double>(x); };
  return {"training_tracker",
          {{"expd_mlflow_runs_created_total", "counter", "MLflow runs made for training jobs.", "", n(st.runs)},
           {"expd_mlflow_metrics_logged_total", "counter", "Step metrics MLflow took.", "", n(st.metrics)},
           {"expd_mlflow_versions_registered_total", "counter", "Model versions registered.", "", n(st.versions)},
           {"expd_mlflow_refusals_total", "counter", "Jobs whose logging MLflow refused.", "", n(st.refused)},
           {"expd_mlflow_unavailable_total", "counter", "Tries MLflow was away for.", "", n(st.unavailable)},
           {"expd_mlflow_pending", "gauge", "Metrics and job ends MLflow has not taken yet.", "", n(pending)}}};
}

} // namespace

training_tracker_actor spawn_training_tracker(caf::actor_system& sys, training_tracker_config cfg) {
  return sys.spawn<caf::detached>([cfg](self_ptr self) -> training_tracker_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.mlflow = std::make_unique<runtime::mlflow_client>(runtime::mlflow_config_from_uri(cfg.mlflow_uri));
    st.store = std::make_unique<runtime::training_store>(cfg.pg_url);
    self->delayed_send(self, cfg.retry_interval, atom::tick::value);
    return {
      [=](atom::train, const std::string& id, const std::string& spec, std::uint32_t) {
        if (track(self, id, spec))
          catch_up(self, id);
      },
      [=](atom::progress, const training_progress& p) {
        auto* t = track(self, p.job_id, "");
        if (!t)
          return;
        auto at = now_ms();
        auto step = static_cast<std::int64_t>(p.step);
        for (auto& [key, value] : {std::pair{"loss", p.loss}, {"learning_rate", p.learning_rate},
                                   {"grad_norm", p.grad_norm}, {"tokens_per_second", p.tokens_per_second}})
          t->pending.push_back({key, value, at, step});
        catch_up(self, p.job_id);
      },
      [=](atom::finished, const std::string& id, const std::string& status, const std::string& error) {
        auto* t = track(self, id, "");
        if (!t)
          return;
        t->ended = {status, error};
        catch_up(self, id);
      },
      [=](atom::tick) {
        std::vector<std::string> ids;
        for (auto& [id, t] : self->state.jobs)
          if (!t.pending.empty() || t.ended || t.run_id.empty())
            ids.push_back(id);
        for (auto& id : ids)
          if (!catch_up(self, id))
            break;
        self->delayed_send(self, self->state.cfg.retry_interval, atom::tick::value);
      },
      [=](atom::status) -> status_record { return tracker_status(self); },
    };
  });
}

} // namespace expd

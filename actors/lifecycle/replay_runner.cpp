#include "actors/lifecycle/replay_runner.hpp"

#include <deque>
#include <functional>
#include <filesystem>
#include <memory>
#include <thread>

#include <caf/blocking_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/json_body.hpp"
#include "core/replay.hpp"
#include "core/uuid.hpp"
#include "runtime/log.hpp"
#include "runtime/model_fetch.hpp"
#include "runtime/mlflow_client.hpp"
#include "runtime/parquet_dataset.hpp"
#include "runtime/random_uuid.hpp"
#include "runtime/replay_store.hpp"
#include "runtime/tokenizer_process.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using runtime::log;
using runtime::log_level;

// A replay's fault that is the request's or its inputs' (the job ends, failed, with it).
struct replay_failure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct replay_runner_state {
  replay_runner_config cfg;
  std::unique_ptr<runtime::replay_store> store;
  std::unique_ptr<runtime::dataset_builder> datasets;
  std::unique_ptr<runtime::mlflow_client> mlflow; // null without --mlflow
  std::string running;                            // the replay id of the running job; empty: idle
  std::uint64_t submitted = 0, succeeded = 0, failed = 0;
};

using self_ptr = replay_runner_actor::stateful_pointer<replay_runner_state>;

json describe(const runtime::replay_row& r) {
  json out = {{"id", r.id},
              {"candidate", r.request.candidate.text()},
              {"baseline", r.request.baseline.text()},
              {"dataset", r.request.dataset},
              {"status", r.status},
              {"attempts", r.attempts},
              {"created_at", r.created_at},
              {"started_at", r.started_at},
              {"finished_at", r.finished_at},
              {"request", core::replay_request_json(r.request)}};
  if (!r.verdict.empty())
    out["verdict"] = r.verdict;
  if (!r.summary.is_null())
    out["summary"] = r.summary;
  if (!r.error.empty())
    out["error"] = r.error;
  if (!r.mlflow_run_id.empty())
    out["mlflow_run_id"] = r.mlflow_run_id;
  return out;
}

// A reference's version: an alias resolved, a version checked; refused naming `field`.
core::model_reference resolve(runtime::mlflow_client& mlflow, core::model_reference ref, const char* field) {
  try {
    auto v = ref.version > 0 ? mlflow.get_model_version(ref.name, ref.version)
                             : mlflow.get_model_version_by_alias(ref.name, ref.alias);
    if (v.status != "READY")
      throw core::field_error(field, ref.text() + " is not READY in MLflow (" + v.status + ")");
    ref.version = v.version;
    ref.alias.clear();
    auto run = mlflow.get_run(v.run_id);
    if (mlflow.list_artifacts(run.artifact_uri, "adapter").empty())
      throw core::field_error(field, ref.text() + ": its run " + v.run_id + " has no adapter/ artifacts left");
    return ref;
  } catch (const runtime::mlflow_api_error& e) {
    if (e.code() == runtime::mlflow_code::resource_already_exists || e.code() == runtime::mlflow_code::other)
      throw;
    throw core::field_error(field, "MLflow has no model version " + ref.text() + ": " + e.what());
  }
}

void claim_next(self_ptr self);

caf::result<api_reply> submit(self_ptr self, const std::string& body) {
  json doc;
  if (auto err = parse_json_body(body, doc))
    return err;
  auto& st = self->state;
  core::replay_request request;
  try {
    request = core::parse_replay_request(doc);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  }
  if (!st.mlflow)
    return make_error(ec::unavailable, "", "this node runs without --mlflow: replays need MLflow's models");
  try {
    request.candidate = resolve(*st.mlflow, request.candidate, "candidate");
    request.baseline = resolve(*st.mlflow, request.baseline, "baseline");
    if (request.candidate.text() == request.baseline.text())
      return make_error(ec::invalid_field, "baseline", "the baseline is the candidate (" + request.candidate.text()
                                                         + "): compare another version");
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  } catch (const runtime::mlflow_error& e) {
    return make_error(ec::unavailable, "", std::string{"MLflow did not answer: "} + e.what());
  }
  auto slash = request.dataset.find('/');
  try {
    if (!st.datasets->find(request.dataset.substr(0, slash), request.dataset.substr(slash + 1)))
      return make_error(ec::not_found, "dataset",
                        "no dataset version " + request.dataset + " (expctl dataset list shows them)");
    auto id = runtime::random_uuid().str();
    st.store->create(id, request);
    ++st.submitted;
    log(log_level::info, "replay_queued",
        {{"id", id}, {"candidate", request.candidate.text()}, {"baseline", request.baseline.text()}});
    claim_next(self);
    auto row = st.store->find(id);
    return json_reply(202, describe(*row));
  } catch (const std::exception& e) {
    return make_error(ec::database_unavailable, "", std::string{"PostgreSQL did not answer: "} + e.what());
  }
}

// ---- the job: everything below runs on the job's own thread -------------------------

struct served_model {
  inference_actor worker;
  std::unique_ptr<runtime::tokenizer_process> tok;
};

served_model serve(caf::blocking_actor* self, const replay_runner_config& cfg, runtime::mlflow_client& mlflow,
                   const core::model_reference& ref, const std::function<void()>& beat) {
  runtime::fetched_model fetched;
  try {
    fetched = runtime::fetch_model(mlflow, cfg.model_cache, ref);
  } catch (const runtime::model_fetch_error& e) {
    throw replay_failure(e.what());
  }
  const fs::path folder = fetched.folder;
  const auto& base_model = fetched.base_model;
  served_model m;
  try {
    m.tok = std::make_unique<runtime::tokenizer_process>(cfg.tokenize_binary, (folder / "tokenizer").string());
  } catch (const runtime::tokenizer_process_error& e) {
    throw replay_failure(ref.text() + ": " + e.what());
  }
  // No model host yet (its expd-trainer starting, or restarting with the node) is
  // waited for, up to host_wait; any other refusal ends the replay.
  const auto until = std::chrono::steady_clock::now() + cfg.host_wait;
  for (;;) {
    std::string error;
    bool no_host = false;
    self->request(cfg.registry, std::chrono::minutes(10), atom::load::value,
                  model_load_request{ref.text(), base_model, (folder / "adapter").string()})
      .receive([&](inference_actor& worker) { m.worker = std::move(worker); },
               [&](caf::error& e) {
                 no_host = e.category() == error_category && e.code() == static_cast<std::uint8_t>(ec::unavailable);
                 error = self->system().render(e);
               });
    if (error.empty())
      return m;
    if (!no_host || std::chrono::steady_clock::now() >= until)
      throw replay_failure(ref.text() + ": the model host could not serve it: " + error);
    beat();
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// Each row's completion, decoded, with at most cfg.in_flight requests waiting at once so
// the worker's batches fill without its queue overflowing.
std::vector<std::string> generate_all(caf::blocking_actor* self, const replay_runner_config& cfg,
                                      const served_model& m, const std::vector<std::string>& inputs,
                                      std::uint32_t max_new_tokens, const std::string& replay_id,
                                      const std::function<void()>& beat) {
  std::vector<std::string> out(inputs.size());
  std::vector<std::vector<std::int32_t>> stops;
  if (m.tok->eos())
    stops.push_back({*m.tok->eos()});
  using handle = decltype(self->request(m.worker, caf::infinite, atom::generate::value, core::generation_request{}));
  std::deque<std::pair<std::size_t, handle>> waiting;
  std::size_t next = 0;
  auto send_next = [&] {
    core::generation_request r;
    r.id = replay_id + "/" + std::to_string(next);
    r.prompt = m.tok->prompt(inputs[next]);
    r.max_new_tokens = max_new_tokens;
    r.stop = stops;
    waiting.emplace_back(next, self->request(m.worker, std::chrono::minutes(10), atom::generate::value, r));
    ++next;
  };
  while (next < inputs.size() && waiting.size() < cfg.in_flight)
    send_next();
  std::string error;
  while (!waiting.empty()) {
    auto [row, h] = std::move(waiting.front());
    waiting.pop_front();
    h.receive(
      [&](generation_result& r) { out[row] = m.tok->decode(r.tokens); },
      [&](caf::error& e) { error = "row " + std::to_string(row) + ": " + self->system().render(e); });
    if (!error.empty())
      throw replay_failure("generation failed at " + error);
    if (next < inputs.size())
      send_next();
    if (row % 64 == 0)
      beat();
  }
  return out;
}

struct dataset_rows {
  std::vector<std::string> input, target;
};

dataset_rows read_rows(runtime::dataset_builder& datasets, const core::replay_request& r) {
  auto slash = r.dataset.find('/');
  auto name = r.dataset.substr(0, slash), version = r.dataset.substr(slash + 1);
  auto scratch = fs::temp_directory_path() / "expd-replay";
  auto path = datasets.local_copy(name, version, scratch.string());
  // A copy from S3 is the job's to remove; a local store's own file is not.
  const bool copied = fs::path(path).parent_path() == scratch;
  runtime::text_rows text;
  try {
    text = runtime::read_text_dataset(path);
  } catch (...) {
    if (copied)
      fs::remove(path);
    throw;
  }
  if (copied)
    fs::remove(path);
  dataset_rows rows;
  for (std::size_t i = 0; i < text.input.size() && rows.input.size() < r.max_rows; ++i)
    if (r.split == "all" || text.split[i] == r.split) {
      rows.input.push_back(std::move(text.input[i]));
      rows.target.push_back(std::move(text.target[i]));
    }
  if (rows.input.empty())
    throw replay_failure("the dataset " + r.dataset + " has no " + r.split + " rows");
  return rows;
}

// The replay as an MLflow run in the experiment expd-replays: params, each side's mean
// and the difference per metric, the verdict as a tag, the rows as an artifact.
std::string log_run(runtime::mlflow_client& mlflow, const runtime::replay_row& row, const core::replay_verdict& v,
                    const std::string& predictions) {
  std::string experiment;
  if (auto e = mlflow.find_experiment("expd-replays"))
    experiment = e->experiment_id;
  else
    experiment = mlflow.create_experiment("expd-replays");
  auto& r = row.request;
  auto run = mlflow.create_run(experiment, "replay " + r.candidate.text() + " vs " + r.baseline.text(),
                               runtime::now_micros() / 1000,
                               {{"expd.replay_id", row.id},
                                {"candidate", r.candidate.text()},
                                {"baseline", r.baseline.text()},
                                {"dataset_version", r.dataset},
                                {"verdict", v.accepted() ? "accepted" : "refused"}});
  const auto now = runtime::now_micros() / 1000;
  std::vector<runtime::mlflow_metric> metrics;
  for (auto& m : v.metrics) {
    metrics.push_back({"candidate_" + m.name, m.candidate, now, 0});
    metrics.push_back({"baseline_" + m.name, m.baseline, now, 0});
    metrics.push_back({"difference_" + m.name, m.difference.estimate, now, 0});
  }
  metrics.push_back({"candidate_violations", static_cast<double>(v.candidate_violations.total()), now, 0});
  metrics.push_back({"baseline_violations", static_cast<double>(v.baseline_violations.total()), now, 0});
  runtime::mlflow_tags params = {{"candidate", r.candidate.text()}, {"baseline", r.baseline.text()},
                                 {"dataset", r.dataset},           {"split", r.split},
                                 {"rows", std::to_string(v.rows)}, {"max_new_tokens", std::to_string(r.max_new_tokens)},
                                 {"bootstrap_resamples", std::to_string(r.resamples)}};
  mlflow.log_batch(run.run_id, metrics, params, {});
  mlflow.upload_artifact(run.artifact_uri, "predictions.jsonl", predictions);
  mlflow.update_run(run.run_id, runtime::mlflow_run_status::finished, runtime::now_micros() / 1000);
  return run.run_id;
}

void run_job(caf::blocking_actor* self, replay_runner_config cfg, runtime::replay_row row, replay_runner_actor runner) {
  std::string error;
  runtime::replay_store store(cfg.pg_url);
  try {
    runtime::mlflow_client mlflow(runtime::mlflow_config_from_uri(cfg.mlflow_uri));
    runtime::dataset_builder datasets(cfg.datasets);
    auto beat = [&] { store.heartbeat(row.id, cfg.runner); };
    const auto& r = row.request;
    auto rows = read_rows(datasets, r);
    auto catalogue = store.planner_catalogue();
    std::vector<std::string> predicted[2];
    const core::model_reference* refs[2] = {&r.candidate, &r.baseline};
    for (int side = 0; side < 2; ++side) {
      auto model = serve(self, cfg, mlflow, *refs[side], beat);
      predicted[side] = generate_all(self, cfg, model, rows.input, r.max_new_tokens, row.id, beat);
    }
    std::vector<core::plan_scores> scores[2];
    std::string lines;
    std::size_t unreadable_inputs = 0;
    for (std::size_t i = 0; i < rows.input.size(); ++i) {
      auto request = core::parse_planner_input(rows.input[i], catalogue);
      if (!request) {
        ++unreadable_inputs;
        continue;
      }
      auto accepted = core::parse_planner_plan(rows.target[i]);
      json line = {{"row", i}, {"input", rows.input[i]}, {"target", rows.target[i]}};
      for (int side = 0; side < 2; ++side) {
        scores[side].push_back(
          core::score_plan(core::parse_planner_plan(predicted[side][i]), accepted, *request, catalogue));
        auto& s = scores[side].back();
        line[side == 0 ? "candidate" : "baseline"]
          = {{"plan", predicted[side][i]},
             {"plan_alignment_score", s.plan_alignment},
             {"edit_distance_score", s.edit_distance},
             {"violations", core::violations_json(s.violations)}};
      }
      lines += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    }
    if (scores[0].empty())
      throw replay_failure("none of the " + std::to_string(rows.input.size())
                           + " rows has an input replay can read (diet and constraints)");
    auto verdict = core::judge_replay(scores[0], scores[1], r);
    auto summary = core::replay_verdict_json(verdict);
    summary["skipped_rows"] = unreadable_inputs;
    // The MLflow run first, so a stored verdict names it; MLflow away leaves the verdict
    // without one. The alias moves only once the acceptance is stored.
    std::string run_id;
    try {
      run_id = log_run(mlflow, row, verdict, lines);
    } catch (const std::exception& e) {
      summary["mlflow_error"] = e.what();
      log(log_level::warn, "replay_mlflow_failed", {{"id", row.id}, {"error", e.what()}});
    }
    store.record_verdict(row.id, verdict, summary, run_id);
    if (verdict.accepted()) {
      try {
        mlflow.set_model_version_tag(r.candidate.name, r.candidate.version, "stage", "candidate");
        mlflow.set_alias(r.candidate.name, "candidate", r.candidate.version);
      } catch (const std::exception& e) {
        log(log_level::warn, "replay_alias_failed", {{"id", row.id}, {"error", e.what()}});
      }
    }
    // Succeeded once what follows the verdict is done: a client that reads it may promote.
    store.finish(row.id);
    log(log_level::info, "replay_finished",
        {{"id", row.id}, {"verdict", verdict.accepted() ? "accepted" : "refused"}, {"rows", verdict.rows}});
    self->send(runner, atom::finished::value, row.id, std::string{});
    return;
  } catch (const std::exception& e) {
    error = e.what();
  }
  log(log_level::warn, "replay_failed", {{"id", row.id}, {"error", error}});
  try {
    store.fail(row.id, error);
  } catch (const std::exception& e) {
    log(log_level::warn, "replay_store_failed", {{"id", row.id}, {"error", e.what()}});
  }
  self->send(runner, atom::finished::value, row.id, error);
}

// ---- the runner ------------------------------------------------------------------

void claim_next(self_ptr self) {
  auto& st = self->state;
  if (!st.running.empty() || !st.mlflow)
    return;
  std::optional<runtime::replay_row> row;
  try {
    row = st.store->claim(st.cfg.runner, static_cast<int>(st.cfg.stale_after.count()));
  } catch (const std::exception& e) {
    log(log_level::warn, "replay_claim_failed", {{"error", e.what()}});
    return;
  }
  if (!row)
    return;
  st.running = row->id;
  log(log_level::info, "replay_started", {{"id", row->id}, {"attempt", row->attempts}});
  self->spawn<caf::detached>(run_job, st.cfg, *row, replay_runner_actor{self});
}

status_record runner_status(self_ptr self) {
  auto& st = self->state;
  auto n = [](auto x) { return static_cast<double>(x); };
  return {"replay_runner",
          {{"expd_replays_submitted_total", "counter", "Replays stored.", "", n(st.submitted)},
           {"expd_replays_succeeded_total", "counter", "Replays this node ran to a verdict.", "", n(st.succeeded)},
           {"expd_replays_failed_total", "counter", "Replays this node ended failed.", "", n(st.failed)},
           {"expd_replays_running", "gauge", "Replays running on this node.", "", n(st.running.empty() ? 0 : 1)}}};
}

} // namespace

replay_runner_actor spawn_replay_runner(caf::actor_system& sys, replay_runner_config cfg) {
  return sys.spawn<caf::detached>([cfg = std::move(cfg)](self_ptr self) -> replay_runner_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.store = std::make_unique<runtime::replay_store>(cfg.pg_url);
    st.datasets = std::make_unique<runtime::dataset_builder>(cfg.datasets);
    if (!cfg.mlflow_uri.empty())
      st.mlflow = std::make_unique<runtime::mlflow_client>(runtime::mlflow_config_from_uri(cfg.mlflow_uri));
    try {
      st.store->requeue(cfg.runner);
    } catch (const std::exception& e) {
      log(log_level::warn, "replay_requeue_failed", {{"error", e.what()}});
    }
    self->send(self, atom::tick::value);
    return {
      [=](atom::submit, const std::string& body) -> caf::result<api_reply> { return submit(self, body); },
      [=](atom::list) -> caf::result<api_reply> {
        try {
          auto replays = json::array();
          for (auto& r : self->state.store->recent(self->state.cfg.list_limit))
            replays.push_back(describe(r));
          return json_reply(200, {{"replays", std::move(replays)}});
        } catch (const std::exception&) {
          return make_error(ec::database_unavailable, "", "PostgreSQL did not answer");
        }
      },
      [=](atom::get, const std::string& id) -> caf::result<api_reply> {
        if (!core::uuid::parse(id))
          return make_error(ec::invalid_field, "id", "a replay id is a UUID");
        try {
          auto r = self->state.store->find(id);
          if (!r)
            return make_error(ec::not_found, "id", "no replay " + id);
          return json_reply(200, describe(*r));
        } catch (const std::exception&) {
          return make_error(ec::database_unavailable, "", "PostgreSQL did not answer");
        }
      },
      [=](atom::tick) {
        auto& st = self->state;
        if (st.running.empty())
          claim_next(self);
        else
          try {
            st.store->heartbeat(st.running, st.cfg.runner);
          } catch (const std::exception&) {
            // The next tick tries again; a replay silent for stale_after is taken over.
          }
        self->delayed_send(self, st.cfg.poll_interval, atom::tick::value);
      },
      [=](atom::finished, const std::string& id, const std::string& error) {
        auto& st = self->state;
        if (id != st.running)
          return;
        st.running.clear();
        ++(error.empty() ? st.succeeded : st.failed);
        claim_next(self);
      },
      [=](atom::status) -> status_record { return runner_status(self); },
    };
  });
}

} // namespace expd

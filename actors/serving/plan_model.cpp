#include "actors/serving/plan_model.hpp"

#include <cmath>
#include <deque>
#include <filesystem>
#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <nlohmann/json.hpp>

#include "core/planner_features.hpp"
#include "runtime/log.hpp"
#include "runtime/mlflow_client.hpp"
#include "runtime/model_fetch.hpp"
#include "runtime/parquet_dataset.hpp"
#include "runtime/plan_input_store.hpp"
#include "runtime/tokenizer_process.hpp"

namespace expd {

namespace {

namespace fs = std::filesystem;
using runtime::log;
using runtime::log_level;

struct waiting_request {
  plan_generation request;
  caf::typed_response_promise<plan_completion> promise;
};

struct plan_model_state {
  plan_model_config cfg;
  std::unique_ptr<runtime::tokenizer_process> tok;
  std::vector<std::vector<std::int32_t>> stops;
  model_load_request load;
  inference_actor worker; // null while loading
  std::deque<waiting_request> waiting;
  std::chrono::steady_clock::time_point load_until;
  std::uint64_t served = 0, failed = 0, loads = 0;
  // Drift: none without a reference (the note says why).
  core::planner_catalogue catalogue;
  std::optional<core::drift_reference> reference;
  std::optional<core::drift_window> window;
  std::string dataset, drift_note;
  std::size_t reference_rows = 0;
  std::uint64_t unreadable_inputs = 0;
  std::optional<core::drift_report> report; // of the window as it is; reset by each new row
};

using self_ptr = plan_model_actor::stateful_pointer<plan_model_state>;

const core::drift_report& drift_now(plan_model_state& st) {
  if (!st.report)
    st.report = core::compare(*st.reference, *st.window);
  return *st.report;
}

void observe(plan_model_state& st, const std::string& input) {
  if (!st.window)
    return;
  if (auto row = core::planner_features(input, st.catalogue)) {
    st.window->add(*row);
    st.report.reset();
  } else {
    ++st.unreadable_inputs;
  }
}

// The reference: the features of every input of the dataset the version trained on.
void load_reference(plan_model_state& st, const std::string& dataset) {
  st.dataset = dataset;
  if (dataset.empty()) {
    st.drift_note = "the version's run names no dataset";
    return;
  }
  try {
    st.catalogue = runtime::plan_input_store(st.cfg.pg_url).catalogue();
    auto rows = runtime::read_text_dataset(fs::absolute(dataset).string());
    std::vector<core::drift_row> features;
    for (auto& input : rows.input)
      if (auto row = core::planner_features(input, st.catalogue))
        features.push_back(std::move(*row));
    if (features.empty()) {
      st.drift_note = "none of the dataset's " + std::to_string(rows.input.size()) + " inputs reads as a planner input";
      return;
    }
    st.reference_rows = features.size();
    st.reference.emplace(core::planner_drift_schema(), features);
    st.window.emplace(core::planner_drift_schema());
  } catch (const std::exception& e) {
    st.drift_note = std::string{"the training dataset cannot be read: "} + e.what();
  }
}

void generate(self_ptr self, const plan_generation& g, caf::typed_response_promise<plan_completion> rp) {
  auto& st = self->state;
  observe(st, g.input);
  core::generation_request r;
  r.id = g.request_id;
  try {
    r.prompt = st.tok->prompt(g.input);
  } catch (const std::exception& e) {
    ++st.failed;
    rp.deliver(make_error(ec::unavailable, "", std::string{"the tokenizer failed: "} + e.what()));
    return;
  }
  r.max_new_tokens = g.max_new_tokens;
  r.stop = st.stops;
  self->request(st.worker, st.cfg.generate_timeout, atom::generate::value, std::move(r))
    .then(
      [=](generation_result& result) mutable {
        auto& st = self->state;
        plan_completion out;
        try {
          out.plan = st.tok->decode(result.tokens);
        } catch (const std::exception& e) {
          ++st.failed;
          rp.deliver(make_error(ec::unavailable, "", std::string{"the tokenizer failed: "} + e.what()));
          return;
        }
        out.result = std::move(result);
        ++st.served;
        rp.deliver(std::move(out));
      },
      [=](caf::error& e) mutable {
        ++self->state.failed;
        rp.deliver(std::move(e));
      });
}

// Refuses everything waiting and ends: the plan server starts a new one on the next request.
void give_up(self_ptr self, const std::string& why) {
  auto& st = self->state;
  log(log_level::warn, "plan_model_failed", {{"model", st.cfg.model.text()}, {"error", why}});
  for (auto& w : st.waiting)
    w.promise.deliver(make_error(ec::unavailable, "", st.cfg.model.text() + " cannot be served: " + why));
  st.waiting.clear();
  self->quit(make_error(ec::unavailable, "", why));
}

void request_worker(self_ptr self) {
  auto& st = self->state;
  ++st.loads;
  self->request(st.cfg.registry, std::chrono::minutes(10), atom::load::value, st.load)
    .then(
      [=](inference_actor& worker) {
        auto& st = self->state;
        st.worker = std::move(worker);
        // A host evicts its least recently used model (--max-models): load it again then.
        self->monitor(st.worker);
        log(log_level::info, "plan_model_ready", {{"model", st.cfg.model.text()}});
        auto waiting = std::move(st.waiting);
        st.waiting.clear();
        for (auto& w : waiting)
          generate(self, w.request, std::move(w.promise));
      },
      [=](caf::error& e) {
        auto& st = self->state;
        bool no_host = e.category() == error_category && e.code() == static_cast<std::uint8_t>(ec::unavailable);
        if (no_host && std::chrono::steady_clock::now() < st.load_until) {
          self->delayed_send(self, std::chrono::seconds(1), atom::load::value);
          return;
        }
        give_up(self, "the model host could not serve it: " + self->system().render(e));
      });
}

// The version's files and tokenizer, then a worker; false when it cannot be served.
bool start(self_ptr self) {
  auto& st = self->state;
  try {
    runtime::mlflow_client mlflow(runtime::mlflow_config_from_uri(st.cfg.mlflow_uri));
    auto fetched = runtime::fetch_model(mlflow, st.cfg.model_cache, st.cfg.model);
    st.tok = std::make_unique<runtime::tokenizer_process>(st.cfg.tokenize_binary,
                                                          (fs::path(fetched.folder) / "tokenizer").string());
    if (st.tok->eos())
      st.stops.push_back({*st.tok->eos()});
    st.load = {st.cfg.model.text(), fetched.base_model, (fs::path(fetched.folder) / "adapter").string()};
    load_reference(st, fetched.dataset);
    if (!st.drift_note.empty())
      log(log_level::warn, "plan_model_no_drift_reference", {{"model", st.cfg.model.text()}, {"why", st.drift_note}});
  } catch (const std::exception& e) {
    give_up(self, e.what());
    return false;
  }
  st.load_until = std::chrono::steady_clock::now() + st.cfg.host_wait;
  request_worker(self);
  return true;
}

status_record model_status(self_ptr self) {
  auto& st = self->state;
  auto label = "model=\"" + st.cfg.model.text() + "\"";
  auto n = [](auto x) { return static_cast<double>(x); };
  status_record r{"plan_model",
                  {{"expd_plan_model_completions_total", "counter", "Plans a served model version generated.", label,
                    n(st.served)},
                   {"expd_plan_model_failures_total", "counter", "Generations a served model version failed.", label,
                    n(st.failed)},
                   {"expd_plan_model_loads_total", "counter", "Times a model host was asked to load the version.",
                    label, n(st.loads)},
                   {"expd_plan_model_waiting", "gauge", "Requests waiting for the version to load.", label,
                    n(st.waiting.size())}}};
  if (!st.reference)
    return r;
  r.samples.push_back({"expd_plan_drift_live_rows", "gauge", "Requests in the drift window (the last 5,000).", label,
                       n(st.window->size())});
  for (auto& f : drift_now(st).features) {
    auto feature = label + ",feature=\"" + f.name + "\"";
    if (f.psi)
      r.samples.push_back({"expd_plan_drift_psi", "gauge",
                           "Population stability index of a request feature against the training dataset's.",
                           feature, *f.psi});
    if (f.ks_statistic)
      r.samples.push_back({"expd_plan_drift_ks_statistic", "gauge",
                           "Two-sample Kolmogorov-Smirnov distance of a numeric request feature.", feature,
                           *f.ks_statistic});
    if (f.ks_p_value && std::isfinite(*f.ks_p_value))
      r.samples.push_back({"expd_plan_drift_ks_p_value", "gauge",
                           "Two-sample Kolmogorov-Smirnov p-value of a numeric request feature.", feature,
                           *f.ks_p_value});
  }
  return r;
}

std::string describe(self_ptr self) {
  auto& st = self->state;
  nlohmann::json drift = {{"dataset", st.dataset},
                          {"reference_rows", st.reference_rows},
                          {"live_rows", st.window ? st.window->size() : 0},
                          {"unreadable_inputs", st.unreadable_inputs}};
  if (st.reference)
    drift.update(core::drift_report_json(drift_now(st)));
  else
    drift["note"] = st.drift_note;
  return nlohmann::json{{"model", st.cfg.model.text()},
                        {"loaded", static_cast<bool>(st.worker)},
                        {"plans", st.served},
                        {"failures", st.failed},
                        {"waiting", st.waiting.size()},
                        {"drift", std::move(drift)}}
    .dump();
}

} // namespace

plan_model_actor spawn_plan_model(caf::actor_system& sys, plan_model_config cfg) {
  return sys.spawn<caf::detached>([cfg = std::move(cfg)](self_ptr self) -> plan_model_actor::behavior_type {
    self->state.cfg = cfg;
    self->set_down_handler([=](caf::down_msg& down) {
      auto& st = self->state;
      if (down.source != st.worker.address())
        return;
      log(log_level::info, "plan_model_worker_gone", {{"model", st.cfg.model.text()}});
      st.worker = inference_actor{};
      st.load_until = std::chrono::steady_clock::now() + st.cfg.host_wait;
      request_worker(self);
    });
    if (!start(self))
      return {[](atom::generate, const plan_generation&) -> caf::result<plan_completion> {
                return make_error(ec::unavailable, "", "the model could not be served");
              },
              [](atom::get) { return std::string{"{}"}; }, [](atom::load) {},
              [](atom::status) -> status_record { return {"plan_model", {}}; }};
    return {
      [=](atom::generate, const plan_generation& g) -> caf::result<plan_completion> {
        auto rp = self->make_response_promise<plan_completion>();
        if (self->state.worker)
          generate(self, g, rp);
        else
          self->state.waiting.push_back({g, rp});
        return rp;
      },
      [=](atom::get) { return describe(self); },
      [=](atom::load) { request_worker(self); },
      [=](atom::status) -> status_record { return model_status(self); },
    };
  });
}

} // namespace expd

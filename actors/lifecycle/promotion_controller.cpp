#include "actors/lifecycle/promotion_controller.hpp"

#include <algorithm>
#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <nlohmann/json.hpp>

#include "actors/json_body.hpp"
#include "core/experiment_document.hpp"
#include "core/experiment_results.hpp"
#include "core/field_error.hpp"
#include "core/srm.hpp"
#include "runtime/aggregate_store.hpp"
#include "runtime/experiment_store.hpp"
#include "runtime/log.hpp"
#include "runtime/mlflow_client.hpp"
#include "runtime/policy_store.hpp"
#include "runtime/promotion_store.hpp"
#include "runtime/random_uuid.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using nlohmann::json;
using runtime::log;
using runtime::log_level;

// How long the registry may take to apply a change (a cluster's barrier waits 3 s).
constexpr std::chrono::seconds apply_timeout{15};

struct promotion_controller_state {
  promotion_controller_config cfg;
  experiment_registry_actor registry;
  std::unique_ptr<runtime::promotion_store> promotions;
  std::unique_ptr<runtime::policy_store> policies;
  std::unique_ptr<runtime::experiment_store> experiments;
  std::unique_ptr<runtime::aggregate_store> aggregates;
  std::unique_ptr<runtime::mlflow_client> mlflow;
  bool stepping = false; ///< a step's apply is on its way: the next pass waits for it
  std::uint64_t started = 0, raised = 0, rolled_back = 0, completed = 0, passes = 0, failures = 0;
};

using self_ptr = promotion_controller_actor::stateful_pointer<promotion_controller_state>;

json describe(const runtime::promotion_row& p) {
  return {{"id", p.id},
          {"experiment", p.experiment_name},
          {"experiment_id", p.experiment_id},
          {"variant", p.variant},
          {"baseline", p.baseline},
          {"model", p.model_name + "/" + std::to_string(p.model_version)},
          {"policy_version_id", p.policy_version_id},
          {"status", p.status},
          {"step", p.step_index},
          {"steps", p.request.steps},
          {"allocation", p.allocation},
          {"last_decision", p.last_decision},
          {"last_reading", p.last_reading},
          {"checked_at", p.checked_at},
          {"created_at", p.created_at},
          {"finished_at", p.finished_at},
          {"request", core::promotion_request_json(p.request)}};
}

// A promotion with every step it took.
json with_events(self_ptr self, const runtime::promotion_row& p) {
  json events = json::array();
  for (auto& e : self->state.promotions->events(p.id))
    events.push_back({{"seq", e.seq}, {"at", e.at}, {"kind", e.kind}, {"allocation", e.allocation},
                      {"reason", e.reason}, {"reading", e.reading}});
  auto out = describe(p);
  out["events"] = std::move(events);
  return out;
}

json reading_json(const core::promotion_reading& r) {
  json rails = json::array();
  for (auto& g : r.guardrails)
    rails.push_back({{"metric", g.rule.event_type + "." + g.rule.metric_name},
                     {"direction", core::to_string(g.rule.direction)},
                     {"status", g.status},
                     {"relative_lift", g.relative_lift ? json(*g.relative_lift) : json(nullptr)},
                     {"always_valid_p_value", g.always_valid_p_value ? json(*g.always_valid_p_value) : json(nullptr)}});
  return {{"guardrails", std::move(rails)}, {"srm_mismatch", r.srm_mismatch},
          {"srm_p_value", r.srm_p_value ? json(*r.srm_p_value) : json(nullptr)},
          {"candidate_exposures", r.candidate_exposures}};
}

const core::experiment* find_experiment(const std::vector<core::experiment>& all, const std::string& name) {
  for (auto& e : all)
    if (e.name == name)
      return &e;
  return nullptr;
}

// The version of `policy` that serves the model, made (the next number, the latest's
// config defaults) when none does: spec 11.1.
core::stored_policy_version policy_version_for(self_ptr self, const std::string& policy,
                                                      const core::promotion_request& r, const std::string& run_id) {
  auto& store = *self->state.policies;
  auto find = [&](const std::vector<core::stored_policy>& all) -> const core::stored_policy_version* {
    for (auto& p : all)
      if (p.name == policy)
        for (auto& v : p.versions)
          if (v.spec.mlflow_model_name == r.model_name && v.spec.mlflow_model_version == r.model_version)
            return &v;
    return nullptr;
  };
  auto all = store.load();
  if (auto* v = find(all))
    return *v;
  core::planned_policy plan;
  plan.spec.name = policy;
  for (auto& p : all)
    if (p.name == policy)
      plan.current = &p;
  plan.action = plan.current ? core::apply_action::unchanged : core::apply_action::created;
  core::policy_version_spec next{1, r.model_name, r.model_version, json::object()};
  if (plan.current) {
    plan.spec.description = plan.current->description;
    if (!plan.current->versions.empty()) {
      next.version = plan.current->versions.back().spec.version + 1;
      next.config_defaults = plan.current->versions.back().spec.config_defaults;
    }
  }
  plan.versions.push_back({core::apply_action::created, next, nullptr});
  store.apply({plan}, {{r.model_name + "/" + std::to_string(r.model_version), run_id}});
  all = store.load();
  if (auto* v = find(all))
    return *v;
  throw std::runtime_error("the policy version just stored is not there");
}

caf::error mlflow_error(const std::string& field, const std::string& model, const std::exception& e) {
  if (auto* api = dynamic_cast<const runtime::mlflow_api_error*>(&e);
      api != nullptr && api->code() == runtime::mlflow_code::resource_does_not_exist)
    return make_error(ec::invalid_field, field, "MLflow has no model version " + model);
  log(log_level::warn, "promotion_mlflow_unavailable", {{"model", model}, {"error", e.what()}});
  return make_error(ec::unavailable, field, "MLflow did not answer about " + model + "; nothing was changed, retry");
}

caf::result<api_reply> start(self_ptr self, const std::string& body) {
  auto& st = self->state;
  json doc;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  core::promotion_request r;
  try {
    r = core::parse_promotion_request(doc);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  }
  auto model = r.model_name + "/" + std::to_string(r.model_version);
  if (!st.mlflow)
    return make_error(ec::unavailable, "model",
                      "this node has no --mlflow, so it cannot read " + model + "'s stage; nothing was changed");
  runtime::mlflow_model_version version;
  try {
    version = st.mlflow->get_model_version(r.model_name, r.model_version);
  } catch (const std::exception& e) {
    return mlflow_error("model", model, e);
  }
  bool candidate = std::find(version.aliases.begin(), version.aliases.end(), "candidate") != version.aliases.end();
  auto stage = version.tags.count("stage") ? version.tags.at("stage") : std::string{};
  if (!candidate && stage != "candidate")
    return make_error(ec::invalid_transition, "model",
                      model + " is not a candidate (stage \"" + stage
                        + "\", no @candidate alias): an offline replay that passes makes it one");
  auto policy = r.policy.empty() && version.tags.count("policy_id") ? version.tags.at("policy_id") : r.policy;
  if (policy.empty())
    return make_error(ec::invalid_field, "policy",
                      model + " has no policy_id tag: name the policy its version joins");
  std::vector<core::experiment> all;
  try {
    all = st.experiments->load();
  } catch (const std::exception& e) {
    return make_error(ec::database_unavailable, "", "PostgreSQL did not answer; nothing was changed");
  }
  auto* experiment = find_experiment(all, r.experiment);
  if (experiment == nullptr)
    return make_error(ec::experiment_not_found, "experiment", "no experiment named " + r.experiment);
  if (experiment->status != core::experiment_status::running)
    return make_error(ec::invalid_transition, "experiment",
                      r.experiment + " is " + std::string{core::to_string(experiment->status)}
                        + ": a promotion starts in a running experiment");
  for (auto& p : st.promotions->active())
    if (p.experiment_name == r.experiment)
      return make_error(ec::invalid_transition, "experiment",
                        r.experiment + " runs promotion " + p.id + " already (" + p.model_name + "/"
                          + std::to_string(p.model_version) + ")");
  // Checked before the policy version is made, so a refusal leaves nothing behind.
  core::experiment_spec spec;
  try {
    spec = core::spec_with_candidate(*experiment, r, "00000000-0000-0000-0000-000000000000", json::object());
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  }
  core::stored_policy_version pv;
  try {
    pv = policy_version_for(self, policy, r, version.run_id);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_policy, "policy", e.what());
  } catch (const std::exception& e) {
    log(log_level::error, "promotion_policy_failed", {{"error", e.what()}});
    return make_error(ec::database_unavailable, "", "PostgreSQL did not store the policy version; nothing was changed");
  }
  spec = core::spec_with_candidate(*experiment, r, pv.id_text, pv.spec.config_defaults);
  runtime::promotion_row row;
  row.id = runtime::random_uuid().str();
  row.experiment_id = experiment->id.str();
  row.experiment_name = r.experiment;
  row.variant = r.variant;
  row.baseline = r.baseline;
  row.model_name = r.model_name;
  row.model_version = r.model_version;
  row.policy_version_id = pv.id_text;
  row.request = r;
  row.request.policy = policy;
  row.allocation = r.steps.front();
  row.step_started_at = runtime::now_micros();
  auto rp = self->make_response_promise<api_reply>();
  auto document = core::experiment_document_json({spec}).dump();
  self->request(st.registry, apply_timeout, atom::apply::value, document, false)
    .await(
      [=](const api_reply&) mutable {
        auto& st = self->state;
        auto reason = "started " + model + " as " + row.variant + " at " + std::to_string(row.allocation)
                      + " (policy " + policy + " version " + std::to_string(pv.spec.version) + ")";
        try {
          if (!st.promotions->create(row, reason)) {
            rp.deliver(make_error(ec::invalid_transition, "experiment", r.experiment + " runs a promotion already"));
            return;
          }
        } catch (const std::exception& e) {
          log(log_level::error, "promotion_store_failed", {{"error", e.what()}});
          rp.deliver(make_error(ec::database_unavailable, "",
                                "the variant is in the experiment but the promotion was not stored: "
                                "set its allocation to 0 or start the promotion again"));
          return;
        }
        ++st.started;
        log(log_level::info, "promotion_started", {{"id", row.id}, {"model", model}, {"experiment", r.experiment}});
        auto stored = st.promotions->find(row.id);
        rp.deliver(json_reply(201, stored ? describe(*stored) : describe(row)));
      },
      [=](caf::error& e) mutable { rp.deliver(std::move(e)); });
  return rp;
}

// What a finished promotion leaves in MLflow: the spec's stage tag, and @production.
void mark_in_mlflow(self_ptr self, const runtime::promotion_row& p, const std::string& stage) {
  try {
    self->state.mlflow->set_model_version_tag(p.model_name, p.model_version, "stage", stage);
    if (stage == "production")
      self->state.mlflow->set_alias(p.model_name, "production", p.model_version);
  } catch (const std::exception& e) {
    log(log_level::warn, "promotion_mlflow_mark_failed", {{"id", p.id}, {"stage", stage}, {"error", e.what()}});
  }
}

void step(self_ptr self, runtime::promotion_row p, const core::promotion_decision& decision,
          const core::experiment& experiment, const json& reading) {
  auto& st = self->state;
  double target = decision.allocation;
  const char* kind = "raised";
  std::string status = "active";
  if (decision.step == core::promotion_step::roll_back) {
    kind = "rolled_back";
    status = "rolled_back";
  } else if (decision.step == core::promotion_step::complete) {
    kind = "completed";
    status = "completed";
    if (p.request.retire_baseline)
      for (auto& v : experiment.variants)
        if (v.name == p.baseline)
          target = p.allocation + v.allocation;
  }
  core::experiment_spec spec;
  try {
    spec = core::spec_with_allocation(experiment, p.variant, p.baseline, target);
  } catch (const core::field_error& e) {
    st.promotions->record_check(p.id, std::string{"cannot "} + kind + ": " + e.what(), reading);
    return;
  }
  st.stepping = true;
  self->request(st.registry, apply_timeout, atom::apply::value, core::experiment_document_json({spec}).dump(), false)
    .await(
      [=](const api_reply&) mutable {
        auto& st = self->state;
        st.stepping = false;
        p.status = status;
        p.allocation = target;
        if (decision.step == core::promotion_step::raise)
          ++p.step_index;
        try {
          st.promotions->record_step(p, kind, decision.reason, reading);
        } catch (const std::exception& e) {
          log(log_level::error, "promotion_record_failed", {{"id", p.id}, {"error", e.what()}});
        }
        if (decision.step == core::promotion_step::roll_back) {
          ++st.rolled_back;
          mark_in_mlflow(self, p, "rolled_back");
        } else if (decision.step == core::promotion_step::complete) {
          ++st.completed;
          mark_in_mlflow(self, p, "production");
        } else {
          ++st.raised;
        }
        log(log_level::info, "promotion_step",
            {{"id", p.id}, {"kind", kind}, {"allocation", target}, {"reason", decision.reason}});
      },
      [=](caf::error& e) mutable {
        auto& st = self->state;
        st.stepping = false;
        ++st.failures;
        st.promotions->record_check(p.id, std::string{"could not "} + kind + ": " + self->system().render(e),
                                    reading);
      });
}

void pass(self_ptr self) {
  auto& st = self->state;
  if (st.stepping)
    return;
  ++st.passes;
  if (!st.promotions->try_lock_pass())
    return;
  try {
    auto experiments = st.experiments->load();
    for (auto& p : st.promotions->active()) {
      auto* experiment = find_experiment(experiments, p.experiment_name);
      if (experiment == nullptr || experiment->status != core::experiment_status::running) {
        st.promotions->record_check(p.id, "waiting: the experiment is not running", json::object());
        continue;
      }
      auto agg = st.aggregates->load_experiment(experiment->id);
      if (!agg) {
        st.promotions->record_check(p.id, "waiting: no aggregates yet", json::object());
        continue;
      }
      core::results_options options;
      options.control = p.baseline;
      auto results = core::experiment_results(*agg, options);
      auto reading = core::read_promotion(results, p.variant, p.request.guardrails, p.request.alpha);
      // The split of the units that arrived under this step's allocations.
      auto arrived = st.promotions->assigned_since(
        p.experiment_id,
        p.step_started_at + std::chrono::duration_cast<std::chrono::microseconds>(st.cfg.srm_grace).count());
      std::vector<double> units, allocations;
      for (auto& v : experiment->variants)
        if (v.allocation > 0) {
          units.push_back(static_cast<double>(arrived[v.name]));
          allocations.push_back(v.allocation);
        }
      if (allocations.size() >= 2) {
        auto srm = core::check_sample_ratio(units, allocations);
        reading.srm_mismatch = srm.mismatch;
        reading.srm_p_value = srm.p_value;
      }
      auto decision = core::decide_promotion(p.request, {p.step_index, p.step_started_at}, reading,
                                             runtime::now_micros());
      auto read = reading_json(reading);
      if (decision.step == core::promotion_step::hold) {
        st.promotions->record_check(p.id, decision.reason, read);
        continue;
      }
      // One change per pass: the registry applies it before the next pass reads.
      step(self, p, decision, *experiment, read);
      break;
    }
  } catch (const std::exception& e) {
    ++st.failures;
    log(log_level::error, "promotion_pass_failed", {{"error", e.what()}});
  }
  st.promotions->unlock_pass();
}

} // namespace

promotion_controller_actor spawn_promotion_controller(caf::actor_system& sys, promotion_controller_config cfg,
                                                      experiment_registry_actor registry) {
  return sys.spawn<caf::detached>(
    [](self_ptr self, promotion_controller_config cfg,
       experiment_registry_actor registry) -> promotion_controller_actor::behavior_type {
      auto& st = self->state;
      st.registry = std::move(registry);
      st.promotions = std::make_unique<runtime::promotion_store>(cfg.pg_url);
      st.policies = std::make_unique<runtime::policy_store>(cfg.pg_url);
      st.experiments = std::make_unique<runtime::experiment_store>(cfg.pg_url);
      st.aggregates = std::make_unique<runtime::aggregate_store>(cfg.pg_url);
      if (!cfg.mlflow_uri.empty())
        st.mlflow = std::make_unique<runtime::mlflow_client>(runtime::mlflow_config_from_uri(cfg.mlflow_uri));
      st.cfg = cfg;
      self->delayed_send(self, cfg.interval, atom::tick::value);
      return {
        [=](atom::submit, const std::string& body) -> caf::result<api_reply> { return start(self, body); },
        [=](atom::list) -> caf::result<api_reply> {
          try {
            json list = json::array();
            for (auto& p : self->state.promotions->recent(100))
              list.push_back(describe(p));
            return json_reply(200, {{"promotions", std::move(list)}});
          } catch (const std::exception&) {
            return make_error(ec::database_unavailable, "", "PostgreSQL did not answer");
          }
        },
        [=](atom::get, const std::string& id) -> caf::result<api_reply> {
          try {
            auto p = self->state.promotions->find(id);
            if (!p)
              return make_error(ec::not_found, "id", "no promotion has the id " + id);
            return json_reply(200, with_events(self, *p));
          } catch (const std::exception&) {
            return make_error(ec::database_unavailable, "", "PostgreSQL did not answer");
          }
        },
        [=](atom::list, const std::string& experiment_id) -> caf::result<api_reply> {
          try {
            json list = json::array();
            for (auto& p : self->state.promotions->of_experiment(experiment_id))
              list.push_back(with_events(self, p));
            return json_reply(200, {{"experiment_id", experiment_id}, {"promotions", std::move(list)}});
          } catch (const std::exception&) {
            return make_error(ec::database_unavailable, "", "PostgreSQL did not answer");
          }
        },
        [=](atom::tick) {
          pass(self);
          self->delayed_send(self, self->state.cfg.interval, atom::tick::value);
        },
        [=](atom::status) -> status_record {
          auto& st = self->state;
          auto counter = [](const char* name, const char* help, std::uint64_t v) {
            return metric_sample{name, "counter", help, "", static_cast<double>(v)};
          };
          return {"promotion_controller",
                  {counter("expd_promotions_started_total", "Promotions started.", st.started),
                   counter("expd_promotions_raised_total", "Promotion steps up.", st.raised),
                   counter("expd_promotions_rolled_back_total", "Promotions rolled back by a breach or SRM.",
                           st.rolled_back),
                   counter("expd_promotions_completed_total", "Promotions that reached production.", st.completed),
                   counter("expd_promotion_passes_total", "Passes over active promotions.", st.passes),
                   counter("expd_promotion_failures_total", "Passes or steps that failed.", st.failures)}};
        },
      };
    },
    std::move(cfg), std::move(registry));
}

} // namespace expd

#include "actors/serving/plan_server.hpp"

#include <map>
#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/json_body.hpp"
#include "actors/serving/plan_model.hpp"
#include "core/field_error.hpp"
#include "core/plan_request.hpp"
#include "core/text_check.hpp"
#include "runtime/log.hpp"
#include "runtime/plan_input_store.hpp"
#include "runtime/random_uuid.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using runtime::log;
using runtime::log_level;

// ---- the reader: PostgreSQL, blocking ------------------------------------------------

struct plan_reader_state {
  std::unique_ptr<runtime::plan_input_store> store;
};

plan_reader_actor::behavior_type plan_reader(plan_reader_actor::stateful_pointer<plan_reader_state> self,
                                             std::string pg_url) {
  self->state.store = std::make_unique<runtime::plan_input_store>(std::move(pg_url));
  return {
    [=](atom::prepare, const core::plan_input& in, const std::string& policy) -> caf::result<plan_preparation> {
      auto& store = *self->state.store;
      try {
        auto served = store.policy(policy);
        if (!served)
          return make_error(ec::not_found, "policy_version_id",
                            "the variant names policy version " + policy + ", which is not stored");
        return plan_preparation{store.render(in), served->id, served->model_name, served->model_version};
      } catch (const core::field_error& e) {
        return make_error(ec::not_found, e.field(), e.what());
      } catch (const std::exception& e) {
        return make_error(ec::database_unavailable, "", std::string{"PostgreSQL did not answer: "} + e.what());
      }
    },
  };
}

// ---- the server ------------------------------------------------------------------------

struct plan_server_state {
  plan_server_config cfg;
  plan_reader_actor reader;
  std::map<std::string, plan_model_actor> models; // by "name/version"
  std::uint64_t served = 0, failed = 0, events_logged = 0, events_refused = 0;
};

using self_ptr = plan_server_actor::stateful_pointer<plan_server_state>;

plan_model_actor model_for(self_ptr self, const std::string& name, int version) {
  auto& st = self->state;
  core::model_reference ref;
  ref.name = name;
  ref.version = version;
  auto key = ref.text();
  if (auto it = st.models.find(key); it != st.models.end())
    return it->second;
  plan_model_config mc;
  mc.model = ref;
  mc.pg_url = st.cfg.pg_url;
  mc.mlflow_uri = st.cfg.mlflow_uri;
  mc.model_cache = st.cfg.model_cache;
  mc.tokenize_binary = st.cfg.tokenize_binary;
  mc.registry = st.cfg.registry;
  mc.host_wait = st.cfg.host_wait;
  mc.generate_timeout = st.cfg.generate_timeout;
  auto model = spawn_plan_model(self->system(), mc);
  self->monitor(model);
  // Not linked (a model that fails must not end the server), but stopped with it.
  self->attach_functor([addr = model.address()] { caf::anon_send_exit(addr, caf::exit_reason::user_shutdown); });
  st.models.emplace(key, model);
  log(log_level::info, "plan_model_started", {{"model", key}});
  return model;
}

void log_event(self_ptr self, const nlohmann::json& event) {
  self->request(self->state.cfg.ingestion, std::chrono::seconds(10), atom::ingest::value, event.dump())
    .then([=](const api_reply&) { ++self->state.events_logged; },
          [=](caf::error& e) {
            ++self->state.events_refused;
            log(log_level::warn, "plan_event_refused",
                {{"request_id", event["context"].value("request_id", "")}, {"error", self->system().render(e)}});
          });
}

caf::result<api_reply> plan(self_ptr self, core::plan_request request, const core::plan_assignment& assignment) {
  auto& st = self->state;
  if (st.cfg.mlflow_uri.empty())
    return make_error(ec::unavailable, "", "this node runs without --mlflow: plans need MLflow's models");
  const auto started = std::chrono::steady_clock::now();
  if (request.request_id.empty())
    request.request_id = runtime::random_uuid().str();
  if (request.max_new_tokens == 0)
    request.max_new_tokens = st.cfg.max_new_tokens;
  auto rp = self->make_response_promise<api_reply>();
  auto fail = [=](caf::error& e) mutable {
    ++self->state.failed;
    rp.deliver(std::move(e));
  };
  self->request(st.reader, std::chrono::seconds(10), atom::prepare::value, request.input, assignment.policy_version_id)
    .then(
      [=](plan_preparation& prepared) mutable {
        auto model = model_for(self, prepared.model_name, prepared.model_version);
        auto key = prepared.model_name + "/" + std::to_string(prepared.model_version);
        self
          ->request(model, self->state.cfg.generate_timeout, atom::generate::value,
                    plan_generation{request.request_id, prepared.input, request.max_new_tokens})
          .then(
            [=](plan_completion& done) mutable {
              auto& st = self->state;
              core::plan_outcome outcome;
              outcome.model = key;
              outcome.policy_version_id = prepared.policy_version_id;
              outcome.plan = core::storable_text(done.plan); // a model may write NUL or stray bytes
              outcome.finish_reason = std::string{core::to_string(done.result.finish_reason)};
              outcome.prompt_tokens = done.result.prompt_tokens;
              outcome.generated_tokens = done.result.generated_tokens;
              outcome.batch_size = done.result.batch_size;
              outcome.latency_ms
                = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
              outcome.cost_usd = (outcome.prompt_tokens + outcome.generated_tokens) / 1000.0 * st.cfg.usd_per_1k_tokens;
              log_event(self, core::plan_generated_event(request, assignment, outcome, runtime::now_micros()));
              ++st.served;
              rp.deliver(json_reply(200, core::plan_answer(request, assignment, outcome)));
            },
            fail);
      },
      fail);
  return rp;
}

// The server's counters and each served model's.
caf::result<status_record> server_status(self_ptr self) {
  auto& st = self->state;
  auto n = [](auto x) { return static_cast<double>(x); };
  status_record own{"plan_server",
                    {{"expd_plans_served_total", "counter", "Plans POST /v1/plan answered.", "", n(st.served)},
                     {"expd_plans_failed_total", "counter", "Plan requests refused after their assignment.", "",
                      n(st.failed)},
                     {"expd_plan_events_logged_total", "counter", "plan_generated events ingestion took.", "",
                      n(st.events_logged)},
                     {"expd_plan_events_refused_total", "counter", "plan_generated events ingestion refused.", "",
                      n(st.events_refused)},
                     {"expd_plan_models_served", "gauge", "Model versions this node serves plans with.", "",
                      n(st.models.size())}}};
  if (st.models.empty())
    return own;
  auto rp = self->make_response_promise<status_record>();
  auto gathered = std::make_shared<status_record>(std::move(own));
  auto remaining = std::make_shared<std::size_t>(st.models.size());
  for (auto& [key, model] : st.models)
    self->request(model, std::chrono::seconds(2), atom::status::value)
      .then(
        [=](status_record& r) mutable {
          for (auto& s : r.samples)
            gathered->samples.push_back(std::move(s));
          if (--*remaining == 0)
            rp.deliver(*gathered);
        },
        [=](caf::error&) mutable {
          if (--*remaining == 0)
            rp.deliver(*gathered);
        });
  return rp;
}

// GET /v1/plan/models: each served version's own account, in key order.
caf::result<api_reply> list_models(self_ptr self) {
  auto& st = self->state;
  if (st.models.empty())
    return json_reply(200, {{"models", nlohmann::json::array()}});
  auto rp = self->make_response_promise<api_reply>();
  auto answers = std::make_shared<std::map<std::string, nlohmann::json>>();
  auto remaining = std::make_shared<std::size_t>(st.models.size());
  auto finish = [=]() mutable {
    auto models = nlohmann::json::array();
    for (auto& [key, model] : *answers)
      models.push_back(std::move(model));
    rp.deliver(json_reply(200, {{"models", std::move(models)}}));
  };
  for (auto& [key, model] : st.models)
    self->request(model, std::chrono::seconds(5), atom::get::value)
      .then(
        [=, key = key](const std::string& text) mutable {
          (*answers)[key] = nlohmann::json::parse(text, nullptr, false);
          if (--*remaining == 0)
            finish();
        },
        [=, key = key](caf::error&) mutable {
          (*answers)[key] = {{"model", key}, {"loaded", false}};
          if (--*remaining == 0)
            finish();
        });
  return rp;
}

} // namespace

plan_server_actor spawn_plan_server(caf::actor_system& sys, plan_server_config cfg) {
  auto reader = sys.spawn<caf::detached>(plan_reader, cfg.pg_url);
  return sys.spawn([cfg = std::move(cfg), reader](self_ptr self) -> plan_server_actor::behavior_type {
    self->state.cfg = cfg;
    self->state.reader = reader;
    self->link_to(reader);
    self->set_down_handler([=](caf::down_msg& down) {
      auto& models = self->state.models;
      for (auto it = models.begin(); it != models.end(); ++it)
        if (it->second.address() == down.source) {
          log(log_level::info, "plan_model_ended", {{"model", it->first}});
          models.erase(it);
          return;
        }
    });
    return {
      [=](atom::plan, core::plan_request& request, const core::plan_assignment& assignment) -> caf::result<api_reply> {
        return plan(self, std::move(request), assignment);
      },
      [=](atom::list) -> caf::result<api_reply> { return list_models(self); },
      [=](atom::status) -> caf::result<status_record> { return server_status(self); },
    };
  });
}

} // namespace expd

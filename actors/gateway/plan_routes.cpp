// POST /v1/plan and /v1/plan/batch (docs/api.md, "Plans"): the request is checked here
// (core/plan_request), its unit assigned by the shard that owns it, as POST /v1/assign
// does, and the assignment that serves a model handed to the plan server.
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "actors/gateway/error_table.hpp"
#include "actors/gateway/gateway_calls.hpp"
#include "actors/json_body.hpp"
#include "core/json_depth.hpp"
#include "core/plan_request.hpp"

namespace expd::gateway_detail {

namespace {

using nlohmann::json;
using runtime::http_request;

constexpr std::size_t max_plan_depth = 16;

// Called once with the plan server's reply or the refusal.
using plan_done = std::function<void(api_reply*, const caf::error*)>;

void plan_one(gateway_broker* self, const core::plan_request& request, plan_done done) {
  auto& st = self->state;
  auto& router = st.routes->shards;
  auto to = shard_for(self, request.assign.unit_id);
  if (to == shard_router::unavailable) {
    auto err = make_error(ec::not_owner, "unit_id", "the unit's shard is moving between nodes; retry");
    return done(nullptr, &err);
  }
  const bool remote = router.is_remote(to);
  auto timeout = remote ? st.cfg.remote_timeout : st.cfg.request_timeout;
  self->request(router.destinations()[to], timeout, atom::assign::value, request.assign)
    .then(
      [=](api_reply& assigned) {
        auto answer = json::parse(assigned.body, nullptr, false);
        auto assignment = core::plan_assignment_of(answer);
        if (!assignment) {
          auto err = make_error(ec::not_found, "unit_id",
                                "no running experiment gives " + request.assign.unit_type + " "
                                  + request.assign.unit_id
                                  + " a variant served by a model (a config with a policy_version_id)");
          return done(nullptr, &err);
        }
        self->request(self->state.routes->plans, self->state.cfg.plan_timeout, atom::plan::value, request,
                      *assignment)
          .then([=](api_reply& r) { done(&r, nullptr); }, [=](caf::error& e) { done(nullptr, &e); });
      },
      [=](caf::error& e) {
        // The assign request's field is the plan request's "experiment".
        if (expd_code(e) == static_cast<std::uint8_t>(ec::unknown_experiment)) {
          auto err = make_error(ec::unknown_experiment, "experiment",
                                "no experiment " + request.assign.requested.at(0) + " is served");
          return done(nullptr, &err);
        }
        if (remote && expd_code(e) == 0) {
          ++self->state.remote_failures;
          auto err = make_error(ec::not_owner, "unit_id", "the node that owns the unit did not answer in time; retry");
          return done(nullptr, &err);
        }
        done(nullptr, &e);
      });
}

// The body as JSON, or the call answered with why not.
bool read_body(gateway_broker* self, const call& c, const http_request& req, json& doc) {
  auto* type = req.header("content-type");
  if (type != nullptr && type->find("json") == std::string::npos) {
    complete_error(self, c, ec::unsupported_media_type, "Content-Type", "send application/json");
    return false;
  }
  if (core::json_nesting_exceeds(req.body, max_plan_depth)) {
    complete_error(self, c, ec::invalid_json, "body", "the body nests too deeply");
    return false;
  }
  if (auto err = parse_json_body(req.body, doc)) {
    complete_error(self, c, err);
    return false;
  }
  return true;
}

} // namespace

void handle_plan(gateway_broker* self, const call& c, http_request& req) {
  json doc;
  if (!read_body(self, c, req, doc))
    return;
  core::plan_request request;
  try {
    request = core::parse_plan_request(doc);
  } catch (const core::field_error& e) {
    return complete_error(self, c, ec::invalid_field, e.field(), e.what());
  }
  plan_one(self, request, [=](api_reply* r, const caf::error* e) {
    if (r != nullptr)
      return complete(self, c, r->status, std::move(r->body));
    complete_error(self, c, *e);
  });
}

void handle_plan_batch(gateway_broker* self, const call& c, http_request& req) {
  json doc;
  if (!read_body(self, c, req, doc))
    return;
  std::vector<core::plan_request> requests;
  try {
    requests = core::parse_plan_batch(doc);
  } catch (const core::field_error& e) {
    return complete_error(self, c, ec::invalid_field, e.field(), e.what());
  }
  // Each request is planned on its own, so they share the models' batches; the answer
  // keeps their order, a refused one as its status and error.
  struct gathered {
    std::vector<json> results;
    std::size_t remaining = 0, failed = 0;
  };
  const auto n = requests.size();
  auto all = std::make_shared<gathered>();
  all->results.resize(requests.size());
  all->remaining = requests.size();
  for (std::size_t i = 0; i < requests.size(); ++i)
    plan_one(self, requests[i], [=](api_reply* r, const caf::error* e) {
      if (r != nullptr) {
        all->results[i] = json::parse(r->body, nullptr, false);
      } else {
        auto rendered = render_http_error(*e);
        auto body = json::parse(rendered.body, nullptr, false);
        all->results[i] = {{"status", rendered.status}, {"error", body.is_object() ? body["error"] : json{}}};
        ++all->failed;
      }
      if (--all->remaining == 0)
        complete(self, c, 200,
                 json{{"results", std::move(all->results)},
                      {"succeeded", n - all->failed},
                      {"failed", all->failed}}
                   .dump());
    });
}

} // namespace expd::gateway_detail

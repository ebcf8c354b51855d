#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/gateway/gateway.hpp"
#include "core/access_policy.hpp"
#include "runtime/log.hpp"

// What the gateway's endpoint handlers share (actors/gateway/*_routes.cpp and
// gateway.cpp): a routed request, and answering it with an actor's reply or an error.
namespace expd::gateway_detail {

using clock_type = std::chrono::steady_clock;
using caf::io::connection_handle;

// Routing decided on a request: which endpoint it is, for metrics and errors.
struct call {
  connection_handle hdl;
  /// CAF 0.17 names a connection by its socket, and the kernel reuses a closed socket's
  /// number at once: an answer for a closed connection must not land on its successor.
  std::uint64_t connection_id;
  std::uint64_t seq;
  std::string endpoint;
  clock_type::time_point started;
  /// Makes a success protobuf for a client that accepts it; null: the JSON as replied.
  std::optional<std::string> (*encode)(std::string_view json) = nullptr;
};

/// Fills the slot of `c` with an answer and writes what is ready.
void complete(gateway_broker* self, const call& c, std::uint16_t status, std::string body,
              const char* content_type = "application/json",
              std::vector<std::pair<std::string, std::string>> extra_headers = {});

/// Answers with an error as the gateway's error table renders it; `extra_headers` are
/// what only the route knows (Allow).
void complete_error(gateway_broker* self, const call& c, const caf::error& err,
                    std::vector<std::pair<std::string, std::string>> extra_headers = {});
void complete_error(gateway_broker* self, const call& c, ec code, std::string field, std::string message);
void method_not_allowed(gateway_broker* self, const call& c, const std::string& allow, std::string message);

/// A success in protobuf for a client that accepts it, made from the JSON replied.
void complete_encoded(gateway_broker* self, const call& c, api_reply& r);

/// Answers 401 unless the policy lets the caller do `s`.
bool permitted(gateway_broker* self, const call& c, const runtime::http_request& req, core::scope s);

// Answers with what an actor replied; `on_failure` answers when it refused or did not.
template <class Handle, class Timeout, class OnFailure, class... Ts>
void ask_or(gateway_broker* self, const call& c, const Handle& dest, Timeout timeout,
            OnFailure on_failure, Ts&&... xs) {
  self->request(dest, timeout, std::forward<Ts>(xs)...)
    .then(
      [=](api_reply& r) {
        if (c.encode != nullptr)
          return complete_encoded(self, c, r);
        complete(self, c, r.status, std::move(r.body), "application/json", std::move(r.headers));
      },
      [=](caf::error& err) { on_failure(err); });
}

// Answers with what an actor replied, or the error it refused with (503 when it did not
// answer in time, or is gone). In-process shards get no deadline: a timer per request
// costs more than the assignment, and an actor that dies still answers its pending
// requests with an error.
template <class Handle, class Timeout, class... Ts>
void ask(gateway_broker* self, const call& c, const Handle& dest, Timeout timeout, Ts&&... xs) {
  ask_or(
    self, c, dest, timeout,
    [=](caf::error& err) {
      if (expd_code(err) == 0)
        runtime::log(runtime::log_level::error, "actor_request_failed",
            {{"endpoint", c.endpoint}, {"error", caf::to_string(err)}});
      complete_error(self, c, err);
    },
    std::forward<Ts>(xs)...);
}

/// The index into the router's destinations of who answers for the unit, or
/// shard_router::unavailable while its shard moves between nodes.
std::size_t shard_for(gateway_broker* self, std::string_view unit_id);

/// POST /v1/plan and /v1/plan/batch (actors/gateway/plan_routes.cpp).
void handle_plan(gateway_broker* self, const call& c, runtime::http_request& req);
void handle_plan_batch(gateway_broker* self, const call& c, runtime::http_request& req);

} // namespace expd::gateway_detail

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>

namespace expd {

/// Why expd refused a request. Actors return these as caf::error values (category
/// `expd`), so a refusal crosses a node intact; only the gateway's error table
/// (actors/gateway/error_table.hpp) knows the HTTP status, code and headers of each.
/// CAF reserves 0 for "no error". Append new codes at the end and give each a row.
enum class ec : std::uint8_t {
  invalid_json = 1,       ///< the body is not JSON, nests too deeply, or has a key twice
  invalid_field,          ///< a field or query parameter has a bad value
  invalid_event,          ///< every event of a request was refused (detail: the list)
  unknown_experiment,     ///< a requested experiment is not served
  experiment_not_found,   ///< no experiment by that name (admin)
  not_found,              ///< no such endpoint, experiment id or file
  invalid_experiment,     ///< an experiments document does not validate
  invalid_event_type,     ///< an event types document does not validate
  invalid_transition,     ///< the status change is not allowed from the current one
  too_many_events,        ///< a batch holds more events than allowed
  unauthorized,           ///< no admin token or client key with the scope
  method_not_allowed,     ///< the path does not take this method
  unsupported_media_type, ///< a body neither JSON nor (where taken) protobuf
  bad_request,            ///< the bytes are not an HTTP request we accept
  request_timeout,        ///< the request took too long to arrive
  payload_too_large,      ///< the body is over the limit
  headers_too_large,      ///< the headers are over the limit
  not_implemented,        ///< a transfer coding other than chunked
  version_not_supported,  ///< an HTTP version other than 1.0 and 1.1
  too_many_connections,   ///< the node is at its connection limit
  starting,               ///< the node is still starting
  unavailable,            ///< a dependency failed; retry
  database_unavailable,   ///< PostgreSQL refused or did not answer
  spool_unavailable,      ///< the events could not be made durable
  spool_full,             ///< the spool is full while PostgreSQL catches up
  not_owner,              ///< a shard was asked for a unit it does not own
  deadline_exceeded,      ///< an actor did not answer in time
  invalid_protobuf,       ///< the body is not the endpoint's protobuf message
  over_limit,             ///< a value over a cap of the service (a prompt longer than the model takes)
  overloaded,             ///< the service's queue is full; retry
  invalid_policy,         ///< a policies document (or a reference to a policy version) does not validate
  empty_dataset,          ///< a dataset build's window holds no rows to build from
  invalid_saved_group,    ///< a saved groups document does not validate, or would break an experiment's condition
  saved_group_in_use,     ///< a saved group to delete is named by an experiment's or a group's condition
};

/// One past the last code, for loops over every code.
constexpr std::uint8_t ec_end = static_cast<std::uint8_t>(ec::saved_group_in_use) + 1;

/// The category expd errors carry.
constexpr caf::atom_value error_category = caf::atom("expd");

/// The code's name, "invalid_field".
std::string_view to_string(ec code);

/// An expd error: the code, the field path at fault ("events[2].unit_id", or empty)
/// and a message for the client, in the error's context.
caf::error make_error(ec code, std::string field, std::string message);

/// What some errors carry beyond field and message.
struct error_extras {
  std::string detail;          ///< a JSON object whose members join the error body
  std::uint32_t retry_after = 0; ///< seconds; 0: what the gateway's table says
};

/// An expd error with extras.
caf::error make_error(ec code, std::string field, std::string message, error_extras extras);

/// The parts of an error made by make_error; empty (0) for any other error.
std::string error_field(const caf::error& err);
std::string error_message(const caf::error& err);
std::string error_detail(const caf::error& err);
std::uint32_t error_retry_after(const caf::error& err);

/// The code of an expd error; 0 for no error or an error of another category.
std::uint8_t expd_code(const caf::error& err);

/// How the actor system prints expd errors (registered by add_message_types).
std::string render_error(std::uint8_t code, caf::atom_value category, const caf::message& ctx);

} // namespace expd

CAF_ERROR_CODE_ENUM(expd::ec, "expd")

#include "actors/gateway/gateway.hpp"

#include <array>
#include <cerrno>
#include <memory>
#include <optional>
#include <string_view>

#include <sys/socket.h>
#include <sys/uio.h>

#include <caf/io/broker.hpp>
#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>
#include <nlohmann/json.hpp>

#include "actors/gateway/error_table.hpp"
#include "actors/gateway/gateway_calls.hpp"
#include "actors/gateway/media_type.hpp"
#include "actors/gateway/protobuf_codec.hpp"
#include "core/assign_request.hpp"
#include "core/bearer_auth.hpp"
#include "core/field_error.hpp"
#include "core/json_depth.hpp"
#include "core/metric_aggregate.hpp"
#include "core/query_string.hpp"
#include "core/dataset_build.hpp"
#include "core/training_record.hpp"
#include "core/uuid.hpp"
#include "runtime/log.hpp"

namespace expd {

namespace {

using namespace gateway_detail;
using caf::io::connection_handle;
using runtime::http_request;
using runtime::log;
using runtime::log_level;

constexpr std::size_t max_json_depth = 64;
constexpr auto tick_interval = std::chrono::seconds{1};


http_connection* find_connection(gateway_broker* self, connection_handle hdl) {
  auto it = self->state.conns.find(hdl);
  return it == self->state.conns.end() ? nullptr : &it->second;
}

void drop_connection(gateway_broker* self, connection_handle hdl) {
  self->state.conns.erase(hdl);
  self->close(hdl);
}

// Hands `bytes` to CAF's write buffer for `hdl`; false when the client has left too
// much unread and the connection was dropped.
bool queue_write(gateway_broker* self, connection_handle hdl, std::string_view bytes) {
  auto& buf = self->wr_buf(hdl);
  if (buf.size() > self->state.cfg.max_unsent_bytes) {
    log(log_level::warn, "client_not_reading", {{"unsent_bytes", buf.size()}});
    drop_connection(self, hdl);
    return false;
  }
  buf.insert(buf.end(), bytes.begin(), bytes.end());
  self->flush(hdl);
  return true;
}

// Writes every answered slot at the front, in request order: straight to the socket in
// one sendmsg(2) while CAF holds nothing unsent for it. CAF's own path registers for
// EPOLLOUT, writes a loop turn later and deregisters: two epoll_ctl and a loop turn per
// reply (docs/benchmarks.md). What the socket does not take goes to CAF, which then
// writes everything after it too, so the order holds.
void write_ready(gateway_broker* self, connection_handle hdl, http_connection& conn) {
  std::size_t ready = 0;
  while (ready < conn.slots.size() && conn.slots[ready].ready)
    ++ready;
  if (ready == 0)
    return;
  std::size_t sent = 0;
  if (conn.direct) {
    constexpr std::size_t max_iov = 64;
    std::array<iovec, max_iov> iov;
    std::size_t n = std::min(ready, max_iov);
    for (std::size_t i = 0; i < n; ++i)
      iov[i] = {conn.slots[i].bytes.data(), conn.slots[i].bytes.size()};
    msghdr msg{};
    msg.msg_iov = iov.data();
    msg.msg_iovlen = n;
    // CAF 0.17 names a connection by its socket (network::conn_hdl_from_socket).
    auto rc = ::sendmsg(static_cast<int>(hdl.id()), &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (rc < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      drop_connection(self, hdl); // reset or gone: CAF's read side says the same
      return;
    }
    sent = rc < 0 ? 0 : static_cast<std::size_t>(rc);
  }
  bool close_after = false;
  for (std::size_t i = 0; i < ready && !close_after; ++i) {
    auto& slot = conn.slots.front();
    if (sent >= slot.bytes.size()) {
      sent -= slot.bytes.size();
    } else {
      conn.direct = false;
      if (!queue_write(self, hdl, std::string_view{slot.bytes}.substr(sent)))
        return;
      sent = 0;
    }
    close_after = !slot.keep_alive;
    conn.slots.pop_front();
    ++conn.first_seq;
  }
  if (close_after) {
    drop_connection(self, hdl);
    return;
  }
  if (conn.halted && conn.slots.size() < self->state.cfg.max_pipelined / 2) {
    conn.halted = false;
    self->trigger(hdl);
  }
}
} // namespace

namespace gateway_detail {

// Fills the slot of `c` with an answer and writes what is ready.
void complete(gateway_broker* self, const call& c, std::uint16_t status, std::string body,
              const char* content_type, std::vector<std::pair<std::string, std::string>> extra_headers) {
  auto& m = self->state.endpoints[c.endpoint];
  ++m.by_status[status];
  m.latency.observe(std::chrono::duration<double>(clock_type::now() - c.started).count());
  auto* conn = find_connection(self, c.hdl);
  if (conn == nullptr || conn->id != c.connection_id || c.seq < conn->first_seq
      || c.seq - conn->first_seq >= conn->slots.size())
    return; // the client went away
  auto& slot = conn->slots[c.seq - conn->first_seq];
  runtime::http_response resp;
  resp.status = status;
  resp.content_type = content_type;
  resp.body = std::move(body);
  resp.extra_headers = std::move(extra_headers);
  resp.keep_alive = slot.keep_alive;
  slot.bytes.reserve(resp.body.size() + 128);
  runtime::append_http_response(slot.bytes, resp);
  slot.ready = true;
  write_ready(self, c.hdl, *conn);
}

// Answers with an error as the gateway's error table renders it; `extra_headers` are
// what only the route knows (Allow).
void complete_error(gateway_broker* self, const call& c, const caf::error& err,
                    std::vector<std::pair<std::string, std::string>> extra_headers) {
  auto reply = render_http_error(err);
  for (auto& header : extra_headers)
    reply.headers.push_back(std::move(header));
  complete(self, c, reply.status, std::move(reply.body), "application/json",
           std::move(reply.headers));
}

void complete_error(gateway_broker* self, const call& c, ec code, std::string field,
                    std::string message) {
  complete_error(self, c, make_error(code, std::move(field), std::move(message)));
}

void method_not_allowed(gateway_broker* self, const call& c, const std::string& allow,
                        std::string message) {
  complete_error(self, c, make_error(ec::method_not_allowed, "", std::move(message)),
                 {{"Allow", allow}});
}

// Answers a client that accepts protobuf: a success in protobuf, made from the JSON the
// actor replied. Errors stay JSON (docs/api.md), as does an answer the schema does not
// fit, which would be our bug: the Content-Type says which the client got.
void complete_encoded(gateway_broker* self, const call& c, api_reply& r) {
  if (r.status == 200) {
    if (auto bytes = c.encode(r.body))
      return complete(self, c, r.status, std::move(*bytes), "application/x-protobuf",
                      std::move(r.headers));
    log(log_level::error, "protobuf_encode_failed", {{"endpoint", c.endpoint}});
  }
  complete(self, c, r.status, std::move(r.body), "application/json", std::move(r.headers));
}

} // namespace gateway_detail

namespace {

bool json_content_type(const http_request& req) {
  auto* type = req.header("content-type");
  return type == nullptr || type->find("json") != std::string::npos;
}

} // namespace

namespace gateway_detail {

// Answers 401 unless the policy lets the caller do `s`.
bool permitted(gateway_broker* self, const call& c, const http_request& req, core::scope s) {
  if (self->state.cfg.access->grants(req.header("authorization"), s))
    return true;
  complete_error(self, c, ec::unauthorized, "Authorization",
                 "a client key with scope " + core::scope_names(static_cast<core::scope_set>(s))
                   + " (or the admin token) is required");
  return false;
}

std::size_t shard_for(gateway_broker* self, std::string_view unit_id) {
  auto& st = self->state;
  auto& router = st.routes->shards;
  auto to = router.route(unit_id);
  // A cluster member's own shards answer only while its lease holds.
  if (to != shard_router::unavailable && router.ring() && !router.is_remote(to)
      && clock_type::now().time_since_epoch().count() >= st.serve_until)
    return shard_router::unavailable;
  return to;
}

} // namespace gateway_detail

namespace {

// The body format of POST /v1/assign or /v1/events, and the answer's: 415 when the
// body is neither JSON nor protobuf.
bool negotiate(gateway_broker* self, call& c, const http_request& req, body_format& format,
               std::optional<std::string> (*encode)(std::string_view)) {
  format = request_body_format(req.header("content-type"));
  if (format == body_format::unsupported) {
    complete_error(self, c, ec::unsupported_media_type, "Content-Type",
                   "send application/json or application/x-protobuf");
    return false;
  }
  if (accepts_protobuf(req.header("accept")))
    c.encode = encode;
  return true;
}

void handle_assign(gateway_broker* self, call c, http_request& req) {
  body_format format;
  if (!negotiate(self, c, req, format, encode_assign_reply))
    return;
  core::assign_request areq;
  try {
    if (format == body_format::protobuf) {
      auto decoded = decode_assign_request(req.body);
      if (!decoded)
        return complete_error(self, c, ec::invalid_protobuf, "body",
                              "the body is not an expd.v1.AssignRequest (messages/assign.proto)");
      areq = std::move(*decoded);
    } else {
      if (core::json_nesting_exceeds(req.body, max_json_depth))
        return complete_error(self, c, ec::invalid_json, "body", "the body nests too deeply");
      auto parsed = core::parse_assign_body(req.body);
      if (!parsed)
        return complete_error(self, c, ec::invalid_json, "body", "the body is not valid JSON");
      areq = std::move(*parsed);
    }
  } catch (const core::field_error& e) { // a key twice, or a field the request lacks
    return complete_error(self, c, ec::invalid_field, e.field(), e.what());
  }
  auto& st = self->state;
  auto& router = st.routes->shards;
  auto to = shard_for(self, areq.unit_id);
  if (to == shard_router::unavailable)
    return complete_error(self, c, ec::not_owner, "unit_id",
                          "the unit's shard is moving between nodes; retry");
  if (!router.is_remote(to))
    return ask(self, c, router.destinations()[to], caf::infinite, atom::assign::value,
               std::move(areq));
  // Another node's: a deadline, and a lost or slow node reads as a shard moving.
  ask_or(
    self, c, router.destinations()[to], st.cfg.remote_timeout,
    [=](caf::error& err) {
      if (expd_code(err) != 0)
        return complete_error(self, c, err);
      ++self->state.remote_failures;
      complete_error(self, c, ec::not_owner, "unit_id",
                     "the node that owns the unit did not answer in time; retry");
    },
    atom::assign::value, std::move(areq));
}

// The gateway's own figures (the latency histograms aside): in /metrics, and the
// status record the membership actor sums into the node's figures (GET /v1/cluster).
status_record gateway_status(gateway_broker* self) {
  auto& st = self->state;
  status_record r{"gateway", {}};
  r.samples.push_back({"expd_http_connections_open", "gauge", "Open client connections.", "",
                       static_cast<double>(st.conns.size())});
  r.samples.push_back({"expd_http_connections_refused_total", "counter",
                       "Connections refused at the connection limit.", "",
                       static_cast<double>(st.connections_refused)});
  r.samples.push_back({"expd_http_remote_failures_total", "counter",
                       "Requests another node did not answer in time (answered 503).", "",
                       static_cast<double>(st.remote_failures)});
  r.samples.push_back({"expd_http_connections_shed_total", "counter",
                       "Connections answered 503 at once for want of file descriptors.", "",
                       static_cast<double>(st.accept->shed)});
  for (auto& [endpoint, m] : st.endpoints)
    for (auto& [status, n] : m.by_status)
      r.samples.push_back({"expd_http_requests_total", "counter",
                           "HTTP requests by endpoint and status code.",
                           "endpoint=\"" + endpoint + "\",code=\"" + std::to_string(status) + "\"",
                           static_cast<double>(n)});
  return r;
}

// GET /metrics: the gateway's own figures plus every actor's status record.
void handle_metrics(gateway_broker* self, const call& c) {
  struct fanout {
    std::size_t remaining;
    std::vector<metric_sample> samples;
  };
  auto& st = self->state;
  auto state = std::make_shared<fanout>();
  state->samples = gateway_status(self).samples;
  auto finish = [=] {
    auto body = runtime::render_samples(state->samples);
    body += "# HELP expd_http_request_duration_seconds Time from parsed request to reply.\n"
            "# TYPE expd_http_request_duration_seconds histogram\n";
    for (auto& [endpoint, m] : self->state.endpoints)
      m.latency.render(body, "expd_http_request_duration_seconds",
                       "endpoint=\"" + endpoint + "\"");
    complete(self, c, 200, std::move(body), "text/plain; version=0.0.4");
  };
  auto& routes = *st.routes;
  state->remaining = 3 + routes.shards.all().size() + routes.reporters.size();
  auto on_record = [=](status_record& r) {
    for (auto& s : r.samples)
      state->samples.push_back(std::move(s));
    if (--state->remaining == 0)
      finish();
  };
  auto on_error = [=](caf::error&) {
    if (--state->remaining == 0)
      finish();
  };
  auto timeout = st.cfg.request_timeout;
  self->request(routes.registry, timeout, atom::status::value).then(on_record, on_error);
  self->request(routes.writer, timeout, atom::status::value).then(on_record, on_error);
  self->request(routes.ingestion, timeout, atom::status::value).then(on_record, on_error);
  for (auto& shard : routes.shards.all())
    self->request(shard, timeout, atom::status::value).then(on_record, on_error);
  for (auto& reporter : routes.reporters)
    self->request(reporter, timeout, atom::status::value).then(on_record, on_error);
}

void handle_events(gateway_broker* self, call c, http_request& req) {
  auto& st = self->state;
  if (req.method == "GET") {
    if (permitted(self, c, req, core::scope::events_read))
      ask(self, c, st.routes->ingestion, st.cfg.request_timeout, atom::query::value,
          std::move(req.query));
    return;
  }
  if (req.method != "POST")
    return method_not_allowed(self, c, "POST, GET", "use POST or GET");
  if (!permitted(self, c, req, core::scope::events_write))
    return;
  body_format format;
  if (!negotiate(self, c, req, format, encode_events_reply))
    return;
  if (format == body_format::protobuf) {
    try {
      auto decoded = decode_events_request(req.body);
      if (!decoded)
        return complete_error(self, c, ec::invalid_protobuf, "body",
                              "the body is not an expd.v1.EventsRequest (messages/events.proto)");
      req.body = std::move(*decoded);
    } catch (const core::field_error& e) { // a value JSON cannot hold
      return complete_error(self, c, ec::invalid_field, e.field(), e.what());
    }
  }
  // In-process and always answering (the spool replies with an ack, "full" or an
  // error), so no deadline timer per request, as for the shards.
  ask(self, c, st.routes->ingestion, caf::infinite, atom::ingest::value, std::move(req.body));
}

// POST /admin/v1/aggregate {"from","to"}: checked here (core), recomputed by the
// aggregator, which always answers (no deadline: a long window takes a while).
void handle_aggregate(gateway_broker* self, const call& c, http_request& req) {
  if (req.method != "POST")
    return method_not_allowed(self, c, "POST", "use POST");
  core::aggregate_window window;
  try {
    window = core::parse_aggregate_request(req.body);
  } catch (const core::field_error& e) {
    return complete_error(self, c, ec::invalid_field, e.field(), e.what());
  }
  ask(self, c, self->state.routes->aggregator, caf::infinite, atom::aggregate::value, window.from,
      window.to);
}

// GET /v1/experiments, /v1/experiments/{id}/results, .../series (the results reader) and
// .../promotions (the promotion controller): the id is checked here.
void handle_experiments(gateway_broker* self, const call& c, http_request& req) {
  auto& st = self->state;
  auto& reader = st.routes->results;
  // Drafts are for who may read them; to anyone else they do not exist.
  bool drafts = st.cfg.access->grants(req.header("authorization"), core::scope::experiments_read);
  constexpr std::string_view prefix = "/v1/experiments";
  auto rest = std::string_view{req.path}.substr(prefix.size());
  if (rest.empty() || rest == "/")
    return ask(self, c, reader, st.cfg.request_timeout, atom::list::value, drafts);
  auto slash = rest.find('/', 1);
  auto id = rest.substr(1, slash == std::string_view::npos ? slash : slash - 1);
  auto what = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (what != "/results" && what != "/series" && what != "/promotions")
    return complete_error(self, c, ec::not_found, "path",
                          "use /v1/experiments/{id}/results, .../series or .../promotions");
  if (!core::uuid::parse(id))
    return complete_error(self, c, ec::invalid_field, "id",
                          "the experiment id must be a UUID (GET /v1/experiments lists them)");
  if (what == "/promotions")
    return ask(self, c, st.routes->promotions, st.cfg.request_timeout, atom::list::value, std::string{id});
  if (what == "/results")
    return ask(self, c, reader, st.cfg.request_timeout, atom::results::value, std::string{id},
               std::move(req.query), drafts);
  ask(self, c, reader, st.cfg.request_timeout, atom::series::value, std::string{id},
      std::move(req.query), drafts);
}

// GET /v1/cluster: the nodes and the ring, from the membership actor; a node alone
// answers with itself.
void handle_cluster(gateway_broker* self, const call& c) {
  auto& st = self->state;
  if (!st.routes->membership)
    return complete_error(self, c, ec::not_found, "path",
                          "this node runs alone (no --node-name): there is no cluster");
  ask(self, c, st.routes->membership, st.cfg.request_timeout, atom::nodes::value);
}

// GET /dashboard/...: the dashboard's files, from memory.
void handle_dashboard(gateway_broker* self, const call& c, const http_request& req) {
  auto& web = self->state.cfg.dashboard;
  if (!web)
    return complete_error(self, c, ec::not_found, "path", "this node serves no dashboard");
  auto r = web->find(req.path);
  complete(self, c, r.status, *r.body, r.content_type, {{"Cache-Control", "no-cache"}});
}

// POST .../apply[?dry_run=...]: a dry_run value not understood is refused, never
// taken for a real apply.
template <class Actor, class Atom>
void apply_with(gateway_broker* self, const call& c, http_request& req, const Actor& to, Atom what) {
  bool dry_run = false;
  try {
    dry_run = core::parse_dry_run_query(req.query);
  } catch (const core::field_error& e) {
    return complete_error(self, c, ec::invalid_field, e.field(), e.what());
  }
  ask(self, c, to, self->state.cfg.request_timeout, what, std::move(req.body), dry_run);
}

// GET BASE lists, POST BASE/apply applies a document: the registries of event types and
// policies.
template <class Actor, class List, class Apply>
void list_or_apply(gateway_broker* self, const call& c, http_request& req, std::string_view base,
                   const Actor& to, List list, Apply apply) {
  bool applying = req.path.size() > base.size();
  const char* method = applying ? "POST" : "GET";
  if (req.method != method)
    return method_not_allowed(self, c, method, std::string{"use "} + method);
  if (applying)
    return apply_with(self, c, req, to, apply);
  ask(self, c, to, self->state.cfg.request_timeout, list);
}

// /admin/v1/training-jobs[/{id}[/logs|/cancel]]: the id and the query are checked
// here, the job by the training registry.
void handle_training_jobs(gateway_broker* self, const call& c, http_request& req) {
  auto& st = self->state;
  auto& registry = st.routes->training;
  auto timeout = st.cfg.request_timeout;
  constexpr std::string_view prefix = "/admin/v1/training-jobs";
  auto rest = std::string_view{req.path}.substr(prefix.size());
  if (rest.empty() || rest == "/") {
    if (req.method == "GET")
      return ask(self, c, registry, timeout, atom::list::value);
    if (req.method != "POST")
      return method_not_allowed(self, c, "POST, GET", "use POST or GET");
    bool dry_run = false;
    try {
      dry_run = core::parse_dry_run_query(req.query);
    } catch (const core::field_error& e) {
      return complete_error(self, c, ec::invalid_field, e.field(), e.what());
    }
    return ask(self, c, registry, timeout, atom::submit::value, std::move(req.body), dry_run);
  }
  auto slash = rest.find('/', 1);
  auto id = std::string{rest.substr(1, slash == std::string_view::npos ? slash : slash - 1)};
  auto what = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (!what.empty() && what != "/logs" && what != "/cancel")
    return complete_error(self, c, ec::not_found, "path",
                          "use /admin/v1/training-jobs/{id}, .../logs or .../cancel");
  if (!core::uuid::parse(id))
    return complete_error(self, c, ec::invalid_field, "id",
                          "the training job id must be a UUID (GET /admin/v1/training-jobs lists them)");
  if (what == "/cancel") {
    if (req.method != "POST")
      return method_not_allowed(self, c, "POST", "use POST");
    return ask(self, c, registry, timeout, atom::cancel::value, std::move(id));
  }
  if (req.method != "GET")
    return method_not_allowed(self, c, "GET", "use GET");
  if (what.empty())
    return ask(self, c, registry, timeout, atom::get::value, std::move(id));
  core::training_log_query q;
  try {
    q = core::parse_training_log_query(req.query);
  } catch (const core::field_error& e) {
    return complete_error(self, c, ec::invalid_field, e.field(), e.what());
  }
  ask(self, c, registry, timeout, atom::logs::value, std::move(id), q.after, q.limit);
}

// /admin/v1/datasets[/{name}/{version}]: the build request is checked here (core), the
// build runs in the detached dataset builder. It always answers and a build takes as
// long as its window does (minutes for millions of events), so no deadline, as for
// the aggregator; the connection waits with its reply slot open and is not swept.
void handle_datasets(gateway_broker* self, const call& c, http_request& req) {
  auto& st = self->state;
  constexpr std::string_view prefix = "/admin/v1/datasets";
  auto rest = std::string_view{req.path}.substr(prefix.size());
  if (rest.empty() || rest == "/") {
    if (req.method == "GET")
      return ask(self, c, st.routes->datasets, st.cfg.request_timeout, atom::list::value);
    if (req.method != "POST")
      return method_not_allowed(self, c, "POST, GET", "use POST or GET");
    core::dataset_build_request request;
    try {
      request = core::parse_dataset_build_request(req.body);
    } catch (const core::field_error& e) {
      return complete_error(self, c, ec::invalid_field, e.field(), e.what());
    }
    return ask(self, c, st.routes->datasets, caf::infinite, atom::build::value, std::move(request));
  }
  auto slash = rest.find('/', 1);
  if (slash == std::string_view::npos || rest.find('/', slash + 1) != std::string_view::npos)
    return complete_error(self, c, ec::not_found, "path", "use /admin/v1/datasets/{name}/{version}");
  if (req.method != "GET")
    return method_not_allowed(self, c, "GET", "use GET");
  ask(self, c, st.routes->datasets, st.cfg.request_timeout, atom::get::value, std::string{rest.substr(1, slash - 1)},
      std::string{rest.substr(slash + 1)});
}

// PREFIX (GET: the list; POST: submit the body, waiting up to `submit_timeout`) and
// PREFIX/{id} (GET: one, the id a UUID): the promotions' and replays' endpoints.
template <class Actor>
void submit_list_get(gateway_broker* self, const call& c, http_request& req, std::string_view prefix,
                     const Actor& to, std::chrono::milliseconds submit_timeout, const char* what) {
  auto& st = self->state;
  auto rest = std::string_view{req.path}.substr(prefix.size());
  auto id = std::string{rest.empty() ? rest : rest.substr(1)};
  if (id.empty()) {
    if (req.method == "GET")
      return ask(self, c, to, st.cfg.request_timeout, atom::list::value);
    if (req.method != "POST")
      return method_not_allowed(self, c, "POST, GET", "use POST or GET");
    return ask(self, c, to, submit_timeout, atom::submit::value, std::move(req.body));
  }
  if (!core::uuid::parse(id))
    return complete_error(self, c, ec::invalid_field, "id",
                          std::string{"the "} + what + " id must be a UUID (GET " + std::string{prefix}
                            + " lists them)");
  if (req.method != "GET")
    return method_not_allowed(self, c, "GET", "use GET");
  ask(self, c, to, st.cfg.request_timeout, atom::get::value, std::move(id));
}

// /admin/v1/pipelines[/apply|/{name}/runs|/{name}/trigger] and
// /admin/v1/pipeline-runs[/{id}]: names and ids are checked here, documents by the
// pipeline scheduler.
void handle_pipelines(gateway_broker* self, const call& c, http_request& req) {
  auto& st = self->state;
  auto& to = st.routes->pipelines;
  auto timeout = st.cfg.request_timeout;
  auto path = std::string_view{req.path};
  if (path == "/admin/v1/pipelines" || path == "/admin/v1/pipelines/apply")
    return list_or_apply(self, c, req, "/admin/v1/pipelines", to, atom::list::value, atom::apply::value);
  constexpr std::string_view runs_prefix = "/admin/v1/pipeline-runs";
  if (path.rfind(runs_prefix, 0) == 0) {
    if (req.method != "GET")
      return method_not_allowed(self, c, "GET", "use GET");
    auto id = path.substr(std::min(path.size(), runs_prefix.size() + 1));
    if (id.empty())
      return ask(self, c, to, timeout, atom::runs::value, std::string{});
    if (!core::uuid::parse(id))
      return complete_error(self, c, ec::invalid_field, "id",
                            "the run id must be a UUID (GET /admin/v1/pipeline-runs lists them)");
    return ask(self, c, to, timeout, atom::get::value, std::string{id});
  }
  auto rest = path.substr(std::string_view{"/admin/v1/pipelines/"}.size());
  auto slash = rest.find('/');
  auto name = std::string{rest.substr(0, slash)};
  auto verb = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
  if (name.empty() || (verb != "/runs" && verb != "/trigger"))
    return complete_error(self, c, ec::not_found, "path",
                          "use /admin/v1/pipelines, .../apply, .../{name}/runs or .../{name}/trigger");
  const char* method = verb == "/runs" ? "GET" : "POST";
  if (req.method != method)
    return method_not_allowed(self, c, method, std::string{"use "} + method);
  if (verb == "/runs")
    return ask(self, c, to, timeout, atom::runs::value, std::move(name));
  ask(self, c, to, timeout, atom::trigger::value, std::move(name));
}

void handle_admin(gateway_broker* self, const call& c, http_request& req) {
  auto& st = self->state;
  if (!st.cfg.access->admin(req.header("authorization")))
    return complete_error(self, c, ec::unauthorized, "Authorization",
                          "a valid admin token is required");
  if (!json_content_type(req))
    return complete_error(self, c, ec::unsupported_media_type, "Content-Type",
                          "send application/json");
  if (core::json_nesting_exceeds(req.body, max_json_depth))
    return complete_error(self, c, ec::invalid_json, "body", "the body nests too deeply");
  auto& registry = st.routes->registry;
  if (req.path == "/admin/v1/aggregate")
    return handle_aggregate(self, c, req);
  if (auto path = std::string_view{req.path};
      path == "/admin/v1/training-jobs" || path.rfind("/admin/v1/training-jobs/", 0) == 0)
    return handle_training_jobs(self, c, req);
  if (auto path = std::string_view{req.path};
      path == "/admin/v1/datasets" || path.rfind("/admin/v1/datasets/", 0) == 0)
    return handle_datasets(self, c, req);
  if (auto path = std::string_view{req.path}; path == "/admin/v1/pipelines"
      || path.rfind("/admin/v1/pipelines/", 0) == 0 || path == "/admin/v1/pipeline-runs"
      || path.rfind("/admin/v1/pipeline-runs/", 0) == 0)
    return handle_pipelines(self, c, req);
  if (req.path == "/admin/v1/event-types" || req.path == "/admin/v1/event-types/apply")
    return list_or_apply(self, c, req, "/admin/v1/event-types", registry, atom::list_types::value,
                         atom::apply_types::value);
  if (req.path == "/admin/v1/saved-groups" || req.path == "/admin/v1/saved-groups/apply")
    return list_or_apply(self, c, req, "/admin/v1/saved-groups", registry, atom::list_groups::value,
                         atom::apply_groups::value);
  if (auto path = std::string_view{req.path}; path.rfind("/admin/v1/saved-groups/", 0) == 0) {
    if (req.method != "DELETE")
      return method_not_allowed(self, c, "DELETE", "use DELETE");
    return ask(self, c, registry, st.cfg.request_timeout, atom::drop_group::value,
               std::string{path.substr(std::string_view{"/admin/v1/saved-groups/"}.size())});
  }
  if (req.path == "/admin/v1/policies" || req.path == "/admin/v1/policies/apply")
    return list_or_apply(self, c, req, "/admin/v1/policies", st.routes->policies, atom::list::value,
                         atom::apply::value);
  // Starting a promotion applies the experiment through the registry (a cluster's
  // barrier); a replay is only checked against MLflow and queued.
  const auto slow = std::max(st.cfg.request_timeout, std::chrono::milliseconds{20000});
  if (auto path = std::string_view{req.path};
      path == "/admin/v1/promotions" || path.rfind("/admin/v1/promotions/", 0) == 0)
    return submit_list_get(self, c, req, "/admin/v1/promotions", st.routes->promotions, slow, "promotion");
  if (auto path = std::string_view{req.path};
      path == "/admin/v1/replays" || path.rfind("/admin/v1/replays/", 0) == 0)
    return submit_list_get(self, c, req, "/admin/v1/replays", st.routes->replays, slow, "replay");
  constexpr std::string_view nodes_prefix = "/admin/v1/cluster/nodes/";
  if (auto path = std::string_view{req.path}; path.rfind(nodes_prefix, 0) == 0) {
    auto rest = path.substr(nodes_prefix.size());
    auto slash = rest.find('/');
    auto name = rest.substr(0, slash);
    auto verb = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash);
    if (name.empty() || (verb != "/drain" && verb != "/forget"))
      return complete_error(self, c, ec::not_found, "path",
                            "use /admin/v1/cluster/nodes/{name}/drain or .../forget");
    if (req.method != "POST")
      return method_not_allowed(self, c, "POST", "use POST");
    if (!st.routes->membership)
      return complete_error(self, c, ec::not_found, "path",
                            "this node runs alone (no --node-name): there is no cluster");
    if (verb == "/drain")
      return ask(self, c, st.routes->membership, st.cfg.request_timeout, atom::drain_node::value,
                 std::string{name});
    return ask(self, c, st.routes->membership, st.cfg.request_timeout, atom::forget_node::value,
               std::string{name});
  }
  static const std::string prefix = "/admin/v1/experiments";
  if (req.path.rfind(prefix, 0) != 0)
    return complete_error(self, c, ec::not_found, "path", "no such admin endpoint");
  auto rest = std::string_view{req.path}.substr(prefix.size());
  if (rest.empty()) {
    if (req.method != "GET")
      return method_not_allowed(self, c, "GET", "use GET");
    return ask(self, c, registry, st.cfg.request_timeout, atom::list::value);
  }
  if (rest == "/apply") {
    if (req.method != "POST")
      return method_not_allowed(self, c, "POST", "use POST");
    return apply_with(self, c, req, registry, atom::apply::value);
  }
  constexpr std::string_view status_suffix = "/status";
  if (rest.size() > status_suffix.size() + 1 && rest[0] == '/'
      && rest.substr(rest.size() - status_suffix.size()) == status_suffix) {
    auto name = rest.substr(1, rest.size() - 1 - status_suffix.size());
    if (name.find('/') == std::string_view::npos) {
      if (req.method != "POST")
        return method_not_allowed(self, c, "POST", "use POST");
      return ask(self, c, registry, st.cfg.request_timeout, atom::set_status::value, std::string{name},
                 std::move(req.body));
    }
  }
  complete_error(self, c, ec::not_found, "path", "no such admin endpoint");
}

// Picks the endpoint for a request and starts answering it.
void route(gateway_broker* self, const call& base, http_request& req) {
  auto c = base;
  auto method_is = [&](const char* m, const char* allow) {
    if (req.method == m)
      return true;
    method_not_allowed(self, c, allow, std::string{"use "} + allow);
    return false;
  };
  if (req.path == "/v1/assign") {
    c.endpoint = "assign";
    if (method_is("POST", "POST") && permitted(self, c, req, core::scope::assign))
      handle_assign(self, c, req);
  } else if (req.path == "/v1/plan" || req.path == "/v1/plan/batch") {
    c.endpoint = req.path == "/v1/plan" ? "plan" : "plan_batch";
    if (method_is("POST", "POST") && permitted(self, c, req, core::scope::assign))
      (req.path == "/v1/plan" ? handle_plan : handle_plan_batch)(self, c, req);
  } else if (req.path == "/v1/plan/models") {
    c.endpoint = "plan_models";
    if (method_is("GET", "GET"))
      ask(self, c, self->state.routes->plans, self->state.cfg.request_timeout, atom::list::value);
  } else if (req.path == "/plan") {
    c.endpoint = "dashboard";
    if (method_is("GET", "GET")) {
      req.path = "/dashboard/plan.html";
      handle_dashboard(self, c, req);
    }
  } else if (req.path == "/health") {
    c.endpoint = "health";
    if (method_is("GET", "GET"))
      ask(self, c, self->state.routes->registry, self->state.cfg.request_timeout,
          atom::health::value);
  } else if (req.path == "/metrics") {
    c.endpoint = "metrics";
    if (method_is("GET", "GET"))
      handle_metrics(self, c);
  } else if (req.path == "/v1/cluster") {
    c.endpoint = "cluster";
    if (method_is("GET", "GET"))
      handle_cluster(self, c);
  } else if (req.path == "/v1/events") {
    c.endpoint = "events";
    handle_events(self, c, req);
  } else if (req.path == "/v1/experiments" || req.path.rfind("/v1/experiments/", 0) == 0) {
    c.endpoint = "experiments";
    if (method_is("GET", "GET"))
      handle_experiments(self, c, req);
  } else if (req.path == "/dashboard" || req.path.rfind("/dashboard/", 0) == 0) {
    c.endpoint = "dashboard";
    if (method_is("GET", "GET"))
      handle_dashboard(self, c, req);
  } else if (req.path.rfind("/admin/v1/", 0) == 0) {
    c.endpoint = "admin";
    handle_admin(self, c, req);
  } else {
    c.endpoint = "not_found";
    complete_error(self, c, ec::not_found, "path", "no such endpoint: " + req.path);
  }
}

caf::error overloaded_error() {
  return make_error(ec::too_many_connections, "request",
                    "the node is at its connection limit; retry later");
}

// Answers a protocol error (400, 413, 431, 408, 501) and closes after the pending replies.
void reject_stream(gateway_broker* self, connection_handle hdl, http_connection& conn,
                   std::uint16_t status, const std::string& message) {
  conn.closing = true;
  conn.slots.push_back({false, false, {}});
  call c{hdl, conn.id, conn.next_seq++, "protocol_error", clock_type::now()};
  self->halt(hdl);
  complete_error(self, c, protocol_error_code(status), "request", message);
}

void on_data(gateway_broker* self, connection_handle hdl, const std::vector<char>& buf) {
  auto* conn = find_connection(self, hdl);
  if (conn == nullptr || conn->closing)
    return;
  auto now = clock_type::now();
  conn->last_activity = now;
  bool was_mid = conn->parser.mid_request();
  std::vector<http_request> requests;
  bool ok = conn->parser.feed({buf.data(), buf.size()}, requests);
  if (!was_mid || !requests.empty())
    conn->request_started = now;
  for (auto& req : requests) {
    bool health_only = conn->health_only && req.path != "/health" && req.path != "/metrics";
    bool keep_alive = req.keep_alive && !self->state.stopping && !health_only;
    conn->slots.push_back({false, keep_alive, {}});
    call c{hdl, conn->id, conn->next_seq++, "", now};
    if (!keep_alive)
      conn->closing = true;
    if (health_only) {
      c.endpoint = "over_limit";
      complete_error(self, c, overloaded_error());
    } else {
      route(self, c, req);
    }
    conn = find_connection(self, hdl); // a reply may have closed it
    if (conn == nullptr || conn->closing)
      return;
  }
  if (!ok)
    return reject_stream(self, hdl, *conn, static_cast<std::uint16_t>(conn->parser.error().status),
                         conn->parser.error().message);
  if (!conn->halted && conn->slots.size() >= self->state.cfg.max_pipelined) {
    conn->halted = true;
    self->halt(hdl);
  }
}

// Closes connections that stall mid-request or sit idle too long.
void sweep(gateway_broker* self) {
  auto now = clock_type::now();
  auto& cfg = self->state.cfg;
  std::vector<connection_handle> slow;
  std::vector<connection_handle> idle;
  for (auto& [hdl, conn] : self->state.conns) {
    if (conn.closing || !conn.slots.empty())
      continue;
    if (conn.parser.mid_request() && now - conn.request_started > cfg.slow_client_timeout)
      slow.push_back(hdl);
    else if (!conn.parser.mid_request() && now - conn.last_activity > cfg.idle_timeout)
      idle.push_back(hdl);
  }
  for (auto hdl : slow)
    if (auto* conn = find_connection(self, hdl))
      reject_stream(self, hdl, *conn, 408, "the request took too long to arrive");
  for (auto hdl : idle)
    drop_connection(self, hdl);
}

// Out of descriptors: says so once a tick, and accepts again if the doorman had to stop.
void resume_accepting(gateway_broker* self) {
  auto& st = self->state;
  if (st.accept->shed > st.shed_logged) {
    log(log_level::warn, "descriptors_exhausted",
        {{"shed_since_last", st.accept->shed - st.shed_logged},
         {"open_connections", st.conns.size()},
         {"fix", "raise RLIMIT_NOFILE or lower --max-connections (docs/operations.md)"}});
    st.shed_logged = st.accept->shed;
  }
  if (st.accept->paused && !st.stopping) {
    st.accept->paused = false;
    self->trigger(st.acceptor);
  }
}

} // namespace

caf::behavior gateway(gateway_broker* self, int listen_fd, gateway_config cfg,
                      gateway_routes routes) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.routes = std::make_unique<gateway_routes>(std::move(routes));
  auto refusal = render_http_error(overloaded_error());
  runtime::http_response overloaded;
  overloaded.status = refusal.status;
  overloaded.body = std::move(refusal.body);
  overloaded.extra_headers = std::move(refusal.headers);
  overloaded.keep_alive = false;
  runtime::append_http_response(st.overloaded, overloaded);
  st.accept = std::make_shared<accept_guard>();
  auto doorman = make_guarded_doorman(self, listen_fd, st.accept, st.overloaded);
  st.acceptor = doorman->hdl();
  self->add_doorman(std::move(doorman));
  self->delayed_send(self, tick_interval, atom::tick::value);
  if (st.routes->membership)
    self->send(st.routes->membership, atom::subscribe::value, caf::actor_cast<caf::actor>(self));
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto& st = self->state;
      if (st.stopping || st.conns.size() >= st.cfg.max_connections + st.cfg.health_connections) {
        ++st.connections_refused;
        if (!st.stopping) { // an answer, not a bare close the client may take for a crash
          auto& buf = self->wr_buf(msg.handle);
          buf.insert(buf.end(), st.overloaded.begin(), st.overloaded.end());
          self->flush(msg.handle);
        }
        self->close(msg.handle);
        return;
      }
      ++st.connections_accepted;
      // A socket number closed a moment ago may come back before its close message.
      st.conns.erase(msg.handle);
      auto& conn = st.conns.try_emplace(msg.handle, st.cfg.http).first->second;
      conn.id = st.connections_accepted;
      conn.health_only = st.conns.size() > st.cfg.max_connections;
      // CAF zero-fills the unused part of the read buffer before every read: a small
      // buffer keeps that cheap for the common small request; large bodies take more reads.
      self->configure_read(msg.handle, caf::io::receive_policy::at_most(4096));
    },
    [=](const caf::io::new_data_msg& msg) { on_data(self, msg.handle, msg.buf); },
    [=](const caf::io::connection_closed_msg& msg) { self->state.conns.erase(msg.handle); },
    [=](const caf::io::acceptor_closed_msg&) {
      log(log_level::info, "gateway_acceptor_closed");
    },
    [=](atom::routing, shard_router& router) {
      if (router.version() > self->state.routes->shards.version())
        self->state.routes->shards = std::move(router);
    },
    [=](atom::lease, std::int64_t until) { self->state.serve_until = until; },
    [=](atom::status) -> status_record { return gateway_status(self); },
    [=](atom::access, core::access_policy_ptr& policy) {
      self->state.cfg.access = std::move(policy);
    },
    [=](atom::tick) {
      sweep(self);
      resume_accepting(self);
      self->delayed_send(self, tick_interval, atom::tick::value);
    },
    [=](atom::stop) -> bool {
      // Refuse new connections; idle keep-alive ones close now, busy ones after
      // their replies (every reply from now on says Connection: close).
      self->state.stopping = true;
      self->close(self->state.acceptor);
      std::vector<connection_handle> idle;
      for (auto& [hdl, conn] : self->state.conns) {
        if (conn.slots.empty())
          idle.push_back(hdl);
        else
          conn.slots.back().keep_alive = false;
        conn.closing = true;
      }
      for (auto hdl : idle)
        drop_connection(self, hdl);
      return true;
    },
  };
}

} // namespace expd

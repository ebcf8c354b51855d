#include "actors/ingestion/ingestion.hpp"

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "actors/wake_once.hpp"
#include "core/event_query.hpp"
#include "core/field_error.hpp"
#include "core/json_depth.hpp"
#include "core/json_parse.hpp"
#include "core/spool_record.hpp"
#include "runtime/log.hpp"
#include "runtime/random_uuid.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using self_ptr = ingestion_actor::stateful_pointer<ingestion_state>;
using nlohmann::json;

// Context objects nest; the validator bounds their size, this bounds their depth.
constexpr std::size_t max_event_json_depth = 32;

api_reply reply_json(std::uint16_t status, const json& body) {
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

struct triage {
  std::vector<core::valid_event> events;
  json rejected = json::array();
  std::string first_field; ///< of the first rejection, for the error of an all-bad request
  std::string first_message;
};

triage validate_all(self_ptr self, const json& events, bool batch) {
  auto& st = self->state;
  triage t;
  auto received = runtime::now_micros();
  for (std::size_t i = 0; i < events.size(); ++i) {
    try {
      t.events.push_back(core::validate_event(events[i], *st.catalog, received,
                                              runtime::random_uuid(), st.cfg.limits));
    } catch (const core::field_error& err) {
      if (t.rejected.empty()) {
        t.first_field = batch ? "events[" + std::to_string(i) + "]." + err.field() : err.field();
        t.first_message = err.what();
      }
      t.rejected.push_back({{"index", i}, {"field", err.field()}, {"code", "invalid_field"},
                            {"message", err.what()}});
    }
  }
  return t;
}

caf::error unavailable() {
  return make_error(ec::spool_unavailable, "",
                    "the events could not be made durable; nothing was acknowledged, retry");
}

// Un-appends everything since the last commit and tells every waiting client so: they
// retry, and nothing they were refused is loaded later beside their retry.
void fail_uncommitted(self_ptr self) {
  auto& st = self->state;
  try {
    st.spool->rollback();
  } catch (const std::exception& e) {
    runtime::log(runtime::log_level::error, "spool_rollback_failed", {{"error", e.what()}});
  }
  for (auto& [rp, _] : st.waiting)
    rp.deliver(unavailable());
  st.waiting.clear();
}

// Appends the events to the spool and queues the answer for the next commit, or
// answers at once when they cannot be spooled.
void spool_and_answer(self_ptr self, triage& t, caf::typed_response_promise<api_reply>& rp) {
  auto& st = self->state;
  if (st.spool->full()) {
    ++st.refused_full;
    rp.deliver(make_error(ec::spool_full, "",
                          "the event spool is full while PostgreSQL catches up; nothing was "
                          "stored, retry later",
                          {"", static_cast<std::uint32_t>(st.cfg.retry_after.count())}));
    return;
  }
  try {
    std::string payload;
    for (auto& e : t.events) {
      payload.clear();
      core::append_spooled_event(payload, e);
      st.spool->append(payload);
    }
  } catch (const std::exception& e) {
    runtime::log(runtime::log_level::error, "spool_append_failed", {{"error", e.what()}});
    fail_uncommitted(self);
    rp.deliver(unavailable());
    return;
  }
  auto count = t.events.size();
  st.accepted += count;
  // The common answer, every event accepted, is written without building a JSON tree.
  auto reply = t.rejected.empty()
                 ? api_reply{200, "{\"accepted\":" + std::to_string(count) + ",\"rejected\":[]}"}
                 : reply_json(200, {{"accepted", count}, {"rejected", std::move(t.rejected)}});
  st.waiting.emplace_back(rp, std::move(reply));
  // Queued behind every request already waiting, so one commit covers them all.
  wake_once<ingestion_actor>(self, st.flush_scheduled, std::chrono::milliseconds{0},
                             atom::flush::value);
}

// Events whose unit's slot is moving between nodes: no shard answers for it now, and
// what its old owner assigned is in PostgreSQL (it stores its rows before it releases
// the slot). Blocking, as this actor may; rare: only during a move.
void attach_from_store(self_ptr self, triage& t, const std::vector<std::size_t>& moving) {
  auto& st = self->state;
  if (st.cfg.pg_url.empty() || !st.catalog) {
    st.attach_failed += moving.size();
    return;
  }
  std::vector<std::pair<std::string, std::string>> units;
  std::vector<core::uuid> experiments;
  for (auto i : moving) {
    auto& e = t.events[i];
    units.emplace_back(e.unit_type, e.unit_id);
    for (auto* exp : st.catalog->experiments->served_for(e.unit_type))
      if (std::find(experiments.begin(), experiments.end(), exp->id) == experiments.end())
        experiments.push_back(exp->id);
  }
  try {
    if (!st.assignments)
      st.assignments = std::make_unique<runtime::assignment_store>(st.cfg.pg_url);
    auto held = st.assignments->held(units, experiments);
    for (std::size_t k = 0; k < moving.size(); ++k) {
      auto& e = t.events[moving[k]];
      e.experiments = std::move(held[k]);
      st.attached += e.experiments.empty() ? 0 : 1;
      st.attached_from_store += e.experiments.empty() ? 0 : 1;
    }
  } catch (const std::exception& ex) {
    st.attach_failed += moving.size();
    runtime::log(runtime::log_level::warn, "attach_experiments_failed",
                 {{"error", ex.what()}, {"events", moving.size()}});
  }
}

// Events sent without "experiments" get the variants their unit holds, asked of the
// shards that own the units (one request per shard); then all are spooled. A shard
// that does not answer in time costs the attachment, never the events.
void attach_then_spool(self_ptr self, std::shared_ptr<triage> t,
                       caf::typed_response_promise<api_reply> rp) {
  auto& st = self->state;
  auto& destinations = st.shards.destinations();
  std::vector<std::pair<unit_refs, std::vector<std::size_t>>> asks(destinations.size());
  std::vector<std::size_t> moving;
  for (std::size_t i = 0; i < t->events.size(); ++i) {
    auto& e = t->events[i];
    if (e.experiments_sent)
      continue;
    auto to = st.shards.route(e.unit_id);
    if (to == shard_router::unavailable) {
      moving.push_back(i);
      continue;
    }
    auto& [units, indices] = asks[to];
    units.push_back({e.unit_type, e.unit_id});
    indices.push_back(i);
  }
  if (!moving.empty())
    attach_from_store(self, *t, moving);
  auto remaining = std::make_shared<std::size_t>(0);
  for (auto& ask : asks)
    *remaining += ask.first.empty() ? 0 : 1;
  for (std::size_t shard = 0; shard < asks.size(); ++shard) {
    if (asks[shard].first.empty())
      continue;
    auto indices = std::move(asks[shard].second);
    auto done = [self, t, rp, remaining]() mutable {
      if (--*remaining == 0)
        spool_and_answer(self, *t, rp);
    };
    self->request(destinations[shard], st.cfg.attach_timeout, atom::held::value,
                  std::move(asks[shard].first))
      .then(
        [self, t, indices, done](held_variants_list& lists) mutable {
          for (std::size_t k = 0; k < indices.size() && k < lists.size(); ++k) {
            auto& e = t->events[indices[k]];
            e.experiments = std::move(lists[k]);
            self->state.attached += e.experiments.empty() ? 0 : 1;
          }
          done();
        },
        [self, done](caf::error& err) mutable {
          ++self->state.attach_failed;
          runtime::log(runtime::log_level::warn, "attach_experiments_failed",
                       {{"error", caf::to_string(err)}});
          done();
        });
  }
}

caf::result<api_reply> ingest(self_ptr self, const std::string& body) {
  auto& st = self->state;
  if (!st.catalog)
    return make_error(ec::starting, "", "the node is starting; retry");
  if (core::json_nesting_exceeds(body, max_event_json_depth))
    return make_error(ec::invalid_json, "body", "the body nests too deeply");
  json doc;
  try {
    doc = core::parse_json(body);
  } catch (const core::field_error& e) { // a key twice
    return make_error(ec::invalid_json, e.field(), e.what());
  }
  if (doc.is_discarded() || !doc.is_object())
    return make_error(ec::invalid_json, "body",
                      "the body must be one event or {\"events\":[...]} in JSON");
  bool batch = doc.contains("events");
  json single = json::array();
  if (batch) {
    if (doc.size() != 1)
      return make_error(ec::invalid_field, "events", "a batch holds only \"events\"");
    if (!doc["events"].is_array() || doc["events"].empty())
      return make_error(ec::invalid_field, "events", "events must be a non-empty array");
    if (doc["events"].size() > st.cfg.max_batch)
      return make_error(ec::too_many_events, "events",
                        "at most " + std::to_string(st.cfg.max_batch) + " events per request");
  } else {
    single.push_back(std::move(doc));
  }
  auto t = validate_all(self, batch ? doc["events"] : single, batch);
  st.rejected += t.rejected.size();
  if (t.events.empty()) {
    json detail{{"accepted", 0}, {"rejected", std::move(t.rejected)}};
    return make_error(ec::invalid_event, t.first_field, t.first_message,
                      {detail.dump(-1, ' ', false, json::error_handler_t::replace)});
  }
  auto rp = self->make_response_promise<api_reply>();
  auto sent = [](const core::valid_event& e) { return e.experiments_sent; };
  if (st.shards.all().empty() || std::all_of(t.events.begin(), t.events.end(), sent))
    spool_and_answer(self, t, rp);
  else
    attach_then_spool(self, std::make_shared<triage>(std::move(t)), rp);
  return rp;
}

void commit_waiting(self_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.waiting.empty())
    return;
  try {
    st.spool->commit();
  } catch (const std::exception& e) {
    // Nothing is acknowledged that is not on disk: the clients hear 503 and retry.
    runtime::log(runtime::log_level::error, "spool_commit_failed", {{"error", e.what()}});
    fail_uncommitted(self);
    return;
  }
  ++st.commits;
  for (auto& [rp, reply] : st.waiting)
    rp.deliver(std::move(reply));
  st.waiting.clear();
  self->send(st.loader, atom::spooled::value, st.spool->last_seq());
}

status_record ingestion_status(self_ptr self) {
  auto& st = self->state;
  auto last = static_cast<double>(st.spool->last_seq());
  return {"ingestion",
          {{"expd_events_accepted_total", "counter", "Events accepted (spooled).", "",
            static_cast<double>(st.accepted)},
           {"expd_events_rejected_total", "counter", "Events rejected by validation.", "",
            static_cast<double>(st.rejected)},
           {"expd_events_attached_total", "counter",
            "Events sent without \"experiments\" that got their unit's variants attached.", "",
            static_cast<double>(st.attached)},
           {"expd_events_attached_from_store_total", "counter",
            "Events that got their unit's variants from PostgreSQL: its slot was moving"
            " between nodes.", "",
            static_cast<double>(st.attached_from_store)},
           {"expd_events_attach_failed_total", "counter",
            "Shard requests for units' variants that failed or timed out (events kept).", "",
            static_cast<double>(st.attach_failed)},
           {"expd_events_refused_total", "counter",
            "Requests refused with 503 because the spool was full.", "",
            static_cast<double>(st.refused_full)},
           {"expd_spool_bytes", "gauge", "Bytes the event spool's segments take on disk.", "",
            static_cast<double>(st.spool->disk_bytes())},
           {"expd_spool_max_bytes", "gauge", "Spool size past which events are refused (503).",
            "", static_cast<double>(st.spool->config().max_bytes)},
           {"expd_spool_last_seq", "gauge", "Number of the last spooled event.", "", last},
           {"expd_spool_unloaded_events", "gauge",
            "Spooled events not yet in PostgreSQL (the loader's queue depth).", "",
            last - static_cast<double>(st.loaded)},
           {"expd_spool_unarchived_events", "gauge",
            "Spooled events not yet in the archive (the archiver's queue depth).", "",
            st.archive_enabled ? last - static_cast<double>(st.archived) : 0.0},
           {"expd_spool_commits_total", "counter", "Spool commits (fdatasync groups).", "",
            static_cast<double>(st.commits)}}};
}

} // namespace

ingestion_actor::behavior_type
ingestion(ingestion_actor::stateful_pointer<ingestion_state> self, ingestion_config cfg,
          std::unique_ptr<runtime::spool> spool, event_loader_actor loader,
          event_reader_actor reader, shard_router shards, bool archive_enabled) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.spool = std::move(spool);
  st.loader = std::move(loader);
  st.reader = std::move(reader);
  st.shards = std::move(shards);
  st.archive_enabled = archive_enabled;
  // Whatever an earlier run left is waiting for the loader.
  self->send(st.loader, atom::spooled::value, st.spool->last_seq());
  return {
    [=](atom::ingest, const std::string& body) -> caf::result<api_reply> {
      return ingest(self, body);
    },
    [=](atom::query, const std::string& query_string) -> caf::result<api_reply> {
      core::event_query q;
      try {
        q = core::parse_event_query(query_string, runtime::now_micros());
      } catch (const core::field_error& e) {
        return make_error(ec::invalid_field, e.field(), e.what());
      }
      return self->delegate(self->state.reader, atom::query::value, std::move(q));
    },
    [=](atom::routing, shard_router& router) {
      if (router.version() > self->state.shards.version())
        self->state.shards = std::move(router);
    },
    [=](atom::catalog, core::event_catalog_ptr& catalog) {
      self->state.catalog = std::move(catalog);
    },
    [=](atom::flush) { commit_waiting(self); },
    [=](atom::consumed, spool_consumer who, std::uint64_t seq) {
      auto& st = self->state;
      (who == spool_consumer::loader ? st.loaded : st.archived) = seq;
      auto done = st.archive_enabled ? std::min(st.loaded, st.archived) : st.loaded;
      try {
        st.spool->release_through(done);
      } catch (const std::exception& e) {
        runtime::log(runtime::log_level::warn, "spool_release_failed", {{"error", e.what()}});
      }
    },
    [=](atom::status) -> status_record { return ingestion_status(self); },
  };
}

} // namespace expd

#include "actors/ingestion/ingestion.hpp"

#include <chrono>

#include <nlohmann/json.hpp>

#include "core/api_error.hpp"
#include "core/event_query.hpp"
#include "core/field_error.hpp"
#include "core/json_depth.hpp"
#include "core/spool_record.hpp"
#include "runtime/random_uuid.hpp"

namespace expd {

namespace {

using self_ptr = ingestion_actor::stateful_pointer<ingestion_state>;
using nlohmann::json;

// Context objects nest; the validator bounds their size, this bounds their depth.
constexpr std::size_t max_event_json_depth = 32;

core::unix_micros now_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

api_reply reply_json(std::uint16_t status, const json& body) {
  return {status, body.dump(-1, ' ', false, json::error_handler_t::replace)};
}

struct triage {
  spool_payloads payloads;
  json rejected = json::array();
  std::string first_field; ///< of the first rejection, for the error of an all-bad request
  std::string first_message;
};

triage validate_all(self_ptr self, const json& events, bool batch) {
  auto& st = self->state;
  triage t;
  auto received = now_micros();
  for (std::size_t i = 0; i < events.size(); ++i) {
    try {
      auto e = core::validate_event(events[i], *st.catalog, received, runtime::random_uuid(),
                                    st.cfg.limits);
      t.payloads.emplace_back();
      core::append_spooled_event(t.payloads.back(), e);
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

caf::result<api_reply> ingest(self_ptr self, const std::string& body) {
  auto& st = self->state;
  if (!st.catalog)
    return api_reply{503, core::error_json("starting", "the node is starting; retry")};
  if (core::json_nesting_exceeds(body, max_event_json_depth))
    return api_reply{400, core::error_json("invalid_json", "the body nests too deeply", "body")};
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return api_reply{400, core::error_json("invalid_json",
                                           "the body must be one event or {\"events\":[...]} in JSON",
                                           "body")};
  bool batch = doc.contains("events");
  json single = json::array();
  if (batch) {
    if (doc.size() != 1)
      return api_reply{400, core::error_json("invalid_field",
                                             "a batch holds only \"events\"", "events")};
    if (!doc["events"].is_array() || doc["events"].empty())
      return api_reply{400, core::error_json("invalid_field",
                                             "events must be a non-empty array", "events")};
    if (doc["events"].size() > st.cfg.max_batch)
      return api_reply{413, core::error_json("too_many_events",
                                             "at most " + std::to_string(st.cfg.max_batch)
                                               + " events per request",
                                             "events")};
  } else {
    single.push_back(std::move(doc));
  }
  auto t = validate_all(self, batch ? doc["events"] : single, batch);
  st.rejected += t.rejected.size();
  if (t.payloads.empty()) {
    json body_json = json::parse(core::error_json("invalid_event", t.first_message, t.first_field));
    body_json["accepted"] = 0;
    body_json["rejected"] = std::move(t.rejected);
    return reply_json(400, body_json);
  }
  auto count = t.payloads.size();
  auto rp = self->make_response_promise<api_reply>();
  self->request(st.spool, caf::infinite, atom::append::value, std::move(t.payloads))
    .then(
      [=, rejected = std::move(t.rejected)](const spool_ack& ack) mutable {
        auto& st = self->state;
        if (!ack.accepted) {
          ++st.refused_full;
          rp.deliver(api_reply{503,
                               core::error_json("spool_full",
                                                "the event spool is full while PostgreSQL "
                                                "catches up; nothing was stored, retry later"),
                               {{"Retry-After", std::to_string(st.cfg.retry_after.count())}}});
          return;
        }
        st.accepted += count;
        rp.deliver(reply_json(200, {{"accepted", count}, {"rejected", std::move(rejected)}}));
      },
      [=](caf::error&) mutable {
        rp.deliver(api_reply{503, core::error_json("spool_unavailable",
                                                   "the events could not be made durable; "
                                                   "nothing was acknowledged, retry"),
                             {{"Retry-After", "1"}}});
      });
  return rp;
}

} // namespace

ingestion_actor::behavior_type
ingestion(ingestion_actor::stateful_pointer<ingestion_state> self, ingestion_config cfg,
          spool_writer_actor spool, event_reader_actor reader) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.spool = std::move(spool);
  st.reader = std::move(reader);
  return {
    [=](atom::ingest, const std::string& body) -> caf::result<api_reply> {
      return ingest(self, body);
    },
    [=](atom::query, const std::string& query_string) -> caf::result<api_reply> {
      core::event_query q;
      try {
        q = core::parse_event_query(query_string, now_micros());
      } catch (const core::field_error& e) {
        return api_reply{400, core::error_json("invalid_field", e.what(), e.field())};
      }
      return self->delegate(self->state.reader, atom::query::value, std::move(q));
    },
    [=](atom::catalog, core::event_catalog_ptr& catalog) {
      self->state.catalog = std::move(catalog);
    },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      return {"ingestion",
              {{"expd_events_accepted_total", "counter", "Events accepted (spooled).", "",
                static_cast<double>(st.accepted)},
               {"expd_events_rejected_total", "counter", "Events rejected by validation.", "",
                static_cast<double>(st.rejected)},
               {"expd_events_refused_total", "counter",
                "Requests refused with 503 because the spool was full.", "",
                static_cast<double>(st.refused_full)}}};
    },
  };
}

} // namespace expd

#include "actors/ingestion/event_reader.hpp"

#include "runtime/log.hpp"

namespace expd {

event_reader_actor::behavior_type
event_reader(event_reader_actor::stateful_pointer<event_reader_state> self, std::string pg_url) {
  self->state.store = std::make_unique<runtime::event_store>(std::move(pg_url));
  return {
    [=](atom::query, const core::event_query& q) -> caf::result<api_reply> {
      ++self->state.queries;
      try {
        return api_reply{200, self->state.store->query_json(q)};
      } catch (const std::exception& e) {
        runtime::log(runtime::log_level::error, "event_query_failed", {{"error", e.what()}});
        return make_error(ec::database_unavailable, "",
                          "PostgreSQL did not answer the query; retry");
      }
    },
    [=](atom::status) -> status_record {
      return {"event_reader",
              {{"expd_event_queries_total", "counter", "GET /v1/events queries answered.", "",
                static_cast<double>(self->state.queries)}}};
    },
  };
}

} // namespace expd

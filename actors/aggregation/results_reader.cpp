#include "actors/aggregation/results_reader.hpp"

#include <nlohmann/json.hpp>

#include "core/experiment_results.hpp"
#include "core/experiment_status.hpp"
#include "core/field_error.hpp"
#include "runtime/log.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using self_ptr = results_reader_actor::stateful_pointer<results_reader_state>;
using runtime::log;
using runtime::log_level;

caf::error not_found(const std::string& id) {
  return make_error(ec::not_found, "id", "no experiment has the id " + id);
}

// Runs `answer`, turning a client's bad parameter and a database failure into errors.
template <class F>
caf::expected<api_reply> guarded(self_ptr self, const char* what, F&& answer) {
  ++self->state.requests;
  try {
    return answer();
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  } catch (const std::exception& e) {
    ++self->state.failures;
    log(log_level::error, "results_read_failed", {{"what", what}, {"error", e.what()}});
    return make_error(ec::unavailable, "", "the aggregates could not be read; retry");
  }
}

caf::expected<api_reply> results(self_ptr self, const std::string& id, const std::string& query, bool drafts) {
  return guarded(self, "results", [&]() -> caf::expected<api_reply> {
    auto options = core::parse_results_query(query);
    auto agg = self->state.aggregates->load_experiment(*core::uuid::parse(id));
    if (!agg || (agg->draft && !drafts))
      return not_found(id);
    return api_reply{200, core::experiment_results(*agg, options).dump()};
  });
}

caf::expected<api_reply> series(self_ptr self, const std::string& id, const std::string& query, bool drafts) {
  return guarded(self, "series", [&]() -> caf::expected<api_reply> {
    auto request = core::parse_series_query(query, runtime::now_micros());
    auto experiment = *core::uuid::parse(id);
    auto agg = self->state.aggregates->load_experiment(experiment);
    if (!agg || (agg->draft && !drafts))
      return not_found(id);
    auto points = self->state.aggregates->load_series(experiment, request.granularity,
                                                      request.window.from, request.window.to);
    return api_reply{200, core::experiment_series(*agg, request, points).dump()};
  });
}

caf::expected<api_reply> list(self_ptr self, bool drafts) {
  return guarded(self, "list", [&]() -> caf::expected<api_reply> {
    auto lines = nlohmann::json::array();
    for (auto& e : self->state.experiments->load()) {
      if (e.status == core::experiment_status::draft && !drafts)
        continue;
      auto agg = self->state.aggregates->load_experiment(e.id);
      if (agg)
        lines.push_back(core::experiment_overview(*agg, core::to_string(e.status), e.status_reason));
    }
    return api_reply{200, nlohmann::json{{"experiments", std::move(lines)}}.dump()};
  });
}

} // namespace

results_reader_actor::behavior_type
results_reader(results_reader_actor::stateful_pointer<results_reader_state> self,
               std::string pg_url) {
  self->state.aggregates = std::make_unique<runtime::aggregate_store>(pg_url);
  self->state.experiments = std::make_unique<runtime::experiment_store>(pg_url);
  return {
    [=](atom::results, const std::string& id, const std::string& query,
        bool drafts) -> caf::result<api_reply> {
      return results(self, id, query, drafts);
    },
    [=](atom::series, const std::string& id, const std::string& query,
        bool drafts) -> caf::result<api_reply> {
      return series(self, id, query, drafts);
    },
    [=](atom::list, bool drafts) -> caf::result<api_reply> { return list(self, drafts); },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      return {"results_reader",
              {{"expd_results_requests_total", "counter",
                "Results, series and list requests answered from the aggregates.", "",
                static_cast<double>(st.requests)},
               {"expd_results_failures_total", "counter",
                "Results requests that failed to read the aggregates.", "",
                static_cast<double>(st.failures)}}};
    },
  };
}

} // namespace expd

#include "actors/lifecycle/dataset_builder.hpp"

#include <memory>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <pqxx/except>

#include "runtime/log.hpp"
#include "runtime/mlflow_client.hpp"
#include "runtime/object_store.hpp"
#include "runtime/parquet_dataset.hpp"
#include "runtime/wall_clock.hpp"

namespace expd {

namespace {

using runtime::log;
using runtime::log_level;

struct dataset_builder_state {
  static inline const char* name = "dataset_builder";

  dataset_builder_config cfg;
  std::unique_ptr<runtime::dataset_builder> builder;
  std::unique_ptr<runtime::mlflow_client> mlflow; // null without --mlflow
  std::uint64_t builds = 0;
  std::uint64_t failures = 0;
  std::uint64_t rows = 0;
};

using self_ptr = dataset_builder_actor::stateful_pointer<dataset_builder_state>;

// Logs a new version to MLflow. The dataset stands without it: what MLflow refuses or
// cannot take now is said in the answer ("mlflow_error") and the log, not a failed build.
void log_to_mlflow(self_ptr self, nlohmann::json& manifest) {
  auto& st = self->state;
  const auto* definition = core::find_dataset(manifest.at("name").get<std::string>());
  try {
    auto run = runtime::log_dataset_run(*st.mlflow, manifest, st.cfg.mlflow_experiment, definition->policy_id,
                                        runtime::now_micros());
    st.builder->set_mlflow_run(manifest["name"], manifest["version"], run);
    manifest["mlflow_run_id"] = run;
  } catch (const std::exception& e) {
    manifest["mlflow_error"] = e.what();
    log(log_level::warn, "dataset_mlflow_failed", {{"dataset", manifest["dataset_version"]}, {"error", e.what()}});
  }
}

caf::result<api_reply> build(self_ptr self, const core::dataset_build_request& request) {
  auto& st = self->state;
  const auto window = nlohmann::json{{"from", core::format_rfc3339(request.from)},
                                     {"to", core::format_rfc3339(request.to)}};
  try {
    auto result = st.builder->build(request, runtime::now_micros());
    if (result.created) {
      ++st.builds;
      st.rows += result.manifest.at("rows").get<std::uint64_t>();
      if (st.mlflow)
        log_to_mlflow(self, result.manifest);
    }
    log(log_level::info, "dataset_built",
        {{"dataset", result.manifest["dataset_version"]}, {"rows", result.manifest["rows"]},
         {"created", result.created}});
    return api_reply{static_cast<std::uint16_t>(result.created ? 201 : 200), result.manifest.dump()};
  } catch (const runtime::empty_dataset_error& e) {
    return make_error(ec::empty_dataset, "from", e.what(), {nlohmann::json{{"window", window}}.dump(), 0});
  } catch (const pqxx::broken_connection& e) {
    ++st.failures;
    log(log_level::error, "dataset_build_failed", {{"window", window}, {"error", e.what()}});
    return make_error(ec::database_unavailable, "", "PostgreSQL did not answer; nothing was written, retry");
  } catch (const std::exception& e) { // the query, the file, the store: nothing is kept
    ++st.failures;
    log(log_level::error, "dataset_build_failed", {{"window", window}, {"error", e.what()}});
    return make_error(ec::unavailable, "", std::string{"the dataset could not be built; nothing was written: "} +
                                             e.what());
  }
}

template <class F>
caf::result<api_reply> read(self_ptr self, F&& answer) {
  try {
    return answer();
  } catch (const std::exception& e) {
    log(log_level::error, "dataset_read_failed", {{"error", e.what()}});
    return make_error(ec::database_unavailable, "", "exp.datasets could not be read; retry");
  }
}

status_record builder_status(self_ptr self) {
  auto& st = self->state;
  return {"dataset_builder",
          {{"expd_dataset_builds_total", "counter", "Dataset versions built.", "", static_cast<double>(st.builds)},
           {"expd_dataset_build_failures_total", "counter", "Dataset builds that failed (nothing kept).", "",
            static_cast<double>(st.failures)},
           {"expd_dataset_rows_total", "counter", "Rows written into built dataset versions.", "",
            static_cast<double>(st.rows)}}};
}

} // namespace

dataset_builder_actor spawn_dataset_builder(caf::actor_system& sys, dataset_builder_config cfg) {
  auto builder = std::make_shared<runtime::dataset_builder>(cfg.build); // a bad store refuses the start
  return sys.spawn<caf::detached>([cfg, builder](self_ptr self) -> dataset_builder_actor::behavior_type {
    auto& st = self->state;
    st.cfg = cfg;
    st.builder = std::make_unique<runtime::dataset_builder>(std::move(*builder));
    if (!cfg.mlflow_uri.empty())
      st.mlflow = std::make_unique<runtime::mlflow_client>(runtime::mlflow_config_from_uri(cfg.mlflow_uri));
    return {
      [=](atom::build, const core::dataset_build_request& request) { return build(self, request); },
      [=](atom::list) {
        return read(self, [&]() -> caf::result<api_reply> { return api_reply{200, self->state.builder->list().dump()}; });
      },
      [=](atom::get, const std::string& name, const std::string& version) {
        return read(self, [&]() -> caf::result<api_reply> {
          if (!core::find_dataset(name))
            return make_error(ec::not_found, "name", "no dataset is named \"" + name + "\" (known: planner)");
          if (!core::valid_dataset_version(version))
            return make_error(ec::invalid_field, "version",
                              "a dataset version is a date, 2025-01-13, or a date and a number, 2025-01-13.2");
          auto manifest = self->state.builder->find(name, version);
          if (!manifest)
            return make_error(ec::not_found, "version", "no version " + version + " of the dataset " + name +
                                                            " (GET /admin/v1/datasets lists them)");
          return api_reply{200, manifest->dump()};
        });
      },
      [=](atom::status) -> status_record { return builder_status(self); },
    };
  });
}

} // namespace expd

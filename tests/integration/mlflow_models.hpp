#pragma once

// Registered models made in the real MLflow server for one test, through the REST client:
// a name of its own per test, and its versions' runs.
#include <chrono>
#include <string>
#include <vector>

#include <unistd.h>

#include "runtime/mlflow_client.hpp"
#include "tests/integration/expd_process.hpp"

namespace expd::testing {

inline std::string mlflow_uri() {
  return required_env("MLFLOW_TRACKING_URI", "MLflow");
}

struct mlflow_model {
  std::string name;
  std::vector<std::string> run_ids; ///< of version i + 1

  /// `versions` versions, each from a run of its own, tagged with `tags`.
  explicit mlflow_model(int versions, const runtime::mlflow_tags& tags = {}) {
    runtime::mlflow_client client{runtime::mlflow_config_from_uri(mlflow_uri())};
    name = "it_" + std::to_string(::getpid()) + "_"
           + std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
    auto experiment = client.create_experiment(name);
    client.create_registered_model(name);
    for (int i = 0; i < versions; ++i) {
      auto run = client.create_run(experiment, "train-" + std::to_string(i + 1), 0);
      client.create_model_version(name, run.artifact_uri + "/adapter", run.run_id, tags);
      run_ids.push_back(run.run_id);
    }
  }

  runtime::mlflow_client client() const {
    return runtime::mlflow_client{runtime::mlflow_config_from_uri(mlflow_uri())};
  }
};

} // namespace expd::testing

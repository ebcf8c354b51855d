#pragma once

#include <stdexcept>
#include <string>

#include "core/replay.hpp"
#include "runtime/mlflow_client.hpp"

// A registered model version's files on this machine, for the model hosts that serve it
// (offline replay, POST /v1/plan): fetched from MLflow once per version into the model
// cache (--model-cache; docs/lifecycle.md, "Serving plans").
namespace expd::runtime {

/// The version cannot be served from what MLflow holds (no base_model param, its base
/// model gone, its adapter/ or tokenizer/ artifacts gone): the request's fault.
class model_fetch_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct fetched_model {
  std::string folder;     ///< cache/NAME/VERSION, holding adapter/ and tokenizer/
  std::string base_model; ///< the run's base_model param, absolute
  std::string run_id;
  std::string dataset_version; ///< the run's dataset_version param or tag; empty if neither
  std::string dataset;         ///< the run's dataset param: the file or folder it trained on
};

/// `ref` (a version, not an alias) in `cache`, its artifacts downloaded unless a whole
/// copy is there: into a scratch folder renamed into place, so a cache folder is whole.
/// Throws model_fetch_error, or mlflow_error when MLflow does not answer.
fetched_model fetch_model(mlflow_client& mlflow, const std::string& cache, const core::model_reference& ref);

} // namespace expd::runtime

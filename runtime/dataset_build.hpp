#pragma once

#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "core/dataset_build.hpp"
#include "runtime/object_store.hpp"
#include "runtime/pg_session.hpp"

// Builds datasets from events (docs/lifecycle.md, "Datasets from events"): the join
// query streamed out of PostgreSQL with binary COPY, rows into Parquet
// (runtime/parquet_dataset), the file and its manifest into object storage, the
// version into exp.datasets. Blocking: one dataset_builder per detached actor. Library
// expd_datasets, so that only what builds datasets loads Arrow.
namespace expd::runtime {

struct dataset_build_config {
  std::string pg_url;
  std::string store_url; ///< --datasets: a folder, file:///DIR or s3://BUCKET?...
  /// Where the Parquet file is written before it is stored: a local store's own hidden
  /// folder (the file is then renamed in), the system's temporary folder for S3.
  std::string scratch_dir;
  std::map<std::string, std::string> queries; ///< dataset name -> join query (:'from', :'to')
};

/// The window holds no row to build from: nothing was written.
class empty_dataset_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

struct dataset_build_result {
  nlohmann::json manifest; ///< as stored, with "uri" (where the file is) and "created"
  bool created = true;     ///< false: the same rows were built that day already; that version answers
};

/// The join queries built in (sql/domain/NAME_dataset.sql), by dataset name.
std::map<std::string, std::string> embedded_dataset_queries();

class dataset_builder {
public:
  /// Opens the store; throws object_store_error for a bad URL.
  explicit dataset_builder(dataset_build_config config);

  /// Builds `request` at `now`. Throws empty_dataset_error (nothing written),
  /// pqxx or std::runtime_error for PostgreSQL, object_store_error, dataset_error; on
  /// any failure what was stored of this build is removed and no row is written.
  dataset_build_result build(const core::dataset_build_request& request, core::unix_micros now);

  /// Every stored version, newest first: {"datasets":[{name, version, rows, ...}]}.
  nlohmann::json list();
  /// The manifest of one version (with "uri" and "mlflow_run_id"), or nullopt.
  std::optional<nlohmann::json> find(const std::string& name, const std::string& version);
  /// A local path of a stored version's Parquet file: a local store's own file, or for
  /// S3 a copy downloaded into `scratch_dir` (the caller removes it). Throws
  /// dataset_error when the file is gone from the store.
  std::string local_copy(const std::string& name, const std::string& version, const std::string& scratch_dir);

  /// Records the MLflow run a version was logged to.
  void set_mlflow_run(const std::string& name, const std::string& version, const std::string& run_id);

  const std::string& store_description() const noexcept {
    return store_description_;
  }

private:
  std::string uri_of(const std::string& key) const;

  dataset_build_config config_;
  std::unique_ptr<object_store> store_;
  std::string store_description_;
  pg_session session_;
};

class mlflow_client;

/// Logs a built version to MLflow (spec 9.2 step 5): a run "dataset NAME/VERSION" in
/// `experiment` (made when missing), tagged dataset_version, policy_id and
/// expd.dataset; the file as the run's input dataset (digest: the content hash; source:
/// its URI; schema and profile from the manifest); params window, validation, rows.
/// The run is FINISHED. Answers its id; throws mlflow_error.
std::string log_dataset_run(mlflow_client& mlflow, const nlohmann::json& manifest, const std::string& experiment,
                            const std::string& policy_id, core::unix_micros now);

} // namespace expd::runtime

#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "runtime/curl_session.hpp"

namespace expd::runtime {

/// Anything that went wrong talking to MLflow; the two below say which side.
class mlflow_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

/// No HTTP answer came: connection refused, reset, timed out, a bad URL (curl's reason in
/// the message). The request may or may not have been applied.
class mlflow_transport_error : public mlflow_error {
public:
  using mlflow_error::mlflow_error;
};

/// The error codes expd acts on; every other `error_code` MLflow sends is `other`.
enum class mlflow_code {
  resource_already_exists,
  resource_does_not_exist,
  invalid_parameter_value,
  other,
};

/// MLflow answered and refused: its HTTP status, `error_code` ("RESOURCE_ALREADY_EXISTS";
/// empty when the body was not MLflow's JSON, e.g. a proxy's 502) and `message`.
class mlflow_api_error : public mlflow_error {
public:
  mlflow_api_error(const std::string& what, long http_status, std::string error_code,
                   std::string message);
  long http_status() const noexcept { return http_status_; }
  const std::string& error_code() const noexcept { return error_code_; }
  const std::string& message() const noexcept { return message_; }
  mlflow_code code() const noexcept;

private:
  long http_status_;
  std::string error_code_;
  std::string message_;
};

struct mlflow_config {
  std::string tracking_uri; ///< "http://127.0.0.1:55000", a path prefix allowed, no trailing '/'
  int attempts = 3;         ///< tries of an idempotent request after transport errors, 429 and 5xx
  std::chrono::milliseconds backoff{200}; ///< before the second try; doubles, with jitter
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds timeout{120000}; ///< one whole request, an artifact's body included
};

/// A config for `uri` (http or https); throws mlflow_error when it is neither.
mlflow_config mlflow_config_from_uri(const std::string& uri);
/// A config for MLFLOW_TRACKING_URI, as MLflow's own clients read it; throws mlflow_error
/// when it is unset or not http(s).
mlflow_config mlflow_config_from_env();

using mlflow_tags = std::map<std::string, std::string>;

struct mlflow_experiment {
  std::string experiment_id;
  std::string name;
  std::string artifact_location; ///< "mlflow-artifacts:/1" behind the artifact proxy
  std::string lifecycle_stage;   ///< "active" or "deleted"
  std::int64_t creation_time = 0;    ///< ms since the epoch
  std::int64_t last_update_time = 0; ///< ms since the epoch
  mlflow_tags tags;
};

enum class mlflow_run_status { running, scheduled, finished, failed, killed };
std::string_view to_string(mlflow_run_status status);

struct mlflow_metric {
  std::string key;
  double value = 0;
  std::int64_t timestamp = 0; ///< ms since the epoch
  std::int64_t step = 0;
};

struct mlflow_run {
  std::string run_id;
  std::string experiment_id;
  std::string run_name;
  std::string user_id;
  mlflow_run_status status = mlflow_run_status::running;
  std::int64_t start_time = 0;
  std::optional<std::int64_t> end_time; ///< set once the run ended
  std::string artifact_uri;             ///< "mlflow-artifacts:/1/<run_id>/artifacts"
  std::string lifecycle_stage;
  std::vector<mlflow_metric> metrics; ///< the latest value of each key
  mlflow_tags params;
  mlflow_tags tags;
};

/// A dataset a run used (MLflow's Dataset entity): a digest that tells versions of one
/// name apart, where it is, and its schema and profile as JSON text.
struct mlflow_dataset {
  std::string name;
  std::string digest;
  std::string source_type; ///< "local", "s3"
  std::string source;      ///< JSON: {"uri": ...}
  std::string schema;      ///< JSON
  std::string profile;     ///< JSON: rows, splits
};

struct mlflow_model_version {
  std::string name;
  int version = 0;
  std::string source; ///< where its files are: "mlflow-artifacts:/1/<run_id>/artifacts/model"
  std::string run_id;
  std::string status; ///< "READY" once registered
  std::string description;
  std::int64_t creation_timestamp = 0;
  std::int64_t last_updated_timestamp = 0;
  mlflow_tags tags;
  std::vector<std::string> aliases;
};

struct mlflow_registered_model {
  std::string name;
  std::string description;
  std::int64_t creation_timestamp = 0;
  std::int64_t last_updated_timestamp = 0;
  mlflow_tags tags;
  std::map<std::string, int> aliases; ///< alias -> version
};

struct mlflow_artifact {
  std::string path; ///< relative to the folder listed
  bool is_dir = false;
  std::int64_t file_size = 0; ///< 0 for folders
};

/// What one log-batch call may carry, MLflow's own limits (mlflow/utils/validation.py):
/// larger batches are split into several requests.
struct mlflow_batch_limits {
  std::size_t metrics = 1000;
  std::size_t params = 100;
  std::size_t tags = 100;
  std::size_t entities = 1000;  ///< the three together
  std::size_t bytes = 900'000;  ///< of JSON; MLflow's cap is 1 MB
};

/// A blocking client of MLflow's REST API 2.0: tracking (experiments, runs, params,
/// metrics, tags), artifacts through the server's proxy (`mlflow server
/// --serve-artifacts`) and the model registry (registered models, versions, tags,
/// aliases). Stages are deprecated in MLflow: use aliases. Only requests that change
/// nothing twice are retried (reads, tags, params, updates, aliases, artifact uploads);
/// creates and metric batches are sent once. Keeps one connection; not thread-safe.
class mlflow_client {
public:
  explicit mlflow_client(mlflow_config config);
  ~mlflow_client();
  mlflow_client(const mlflow_client&) = delete;
  mlflow_client& operator=(const mlflow_client&) = delete;

  const std::string& tracking_uri() const noexcept { return config_.tracking_uri; }

  // Experiments
  /// The new experiment's id; RESOURCE_ALREADY_EXISTS when the name is taken.
  std::string create_experiment(const std::string& name, const mlflow_tags& tags = {});
  mlflow_experiment get_experiment(const std::string& experiment_id);
  /// nullopt when no experiment has that name.
  std::optional<mlflow_experiment> find_experiment(const std::string& name);
  /// Every experiment `filter` matches (MLflow's filter syntax: "tags.policy = 'x'"),
  /// following pages.
  std::vector<mlflow_experiment> search_experiments(const std::string& filter = "");
  void set_experiment_tag(const std::string& experiment_id, const std::string& key,
                          const std::string& value);

  // Runs
  mlflow_run create_run(const std::string& experiment_id, const std::string& run_name,
                        std::int64_t start_time, const mlflow_tags& tags = {});
  mlflow_run get_run(const std::string& run_id);
  /// Sets the status and, for a run that ended, its end time.
  void update_run(const std::string& run_id, mlflow_run_status status,
                  std::optional<std::int64_t> end_time = std::nullopt);
  /// Runs of the experiments that `filter` matches ("params.lr = '0.01'",
  /// "attributes.status = 'FINISHED'"), newest first, following pages.
  std::vector<mlflow_run> search_runs(const std::vector<std::string>& experiment_ids,
                                      const std::string& filter = "");
  void log_param(const std::string& run_id, const std::string& key, const std::string& value);
  void set_tag(const std::string& run_id, const std::string& key, const std::string& value);
  /// Metrics, params and tags in as many log-batch requests as the limits need, in order.
  void log_batch(const std::string& run_id, const std::vector<mlflow_metric>& metrics,
                 const mlflow_tags& params = {}, const mlflow_tags& tags = {});
  /// Records `dataset` as an input of the run (runs/log-inputs), with input tags such as
  /// mlflow.data.context = training. MLflow keeps one input per dataset name and digest,
  /// so a retry is safe.
  void log_input(const std::string& run_id, const mlflow_dataset& dataset, const mlflow_tags& input_tags = {});
  /// Every value logged for `key`, following pages, as the server orders them.
  std::vector<mlflow_metric> metric_history(const std::string& run_id, const std::string& key);

  // Artifacts through the proxy; `artifact_uri` is a run's (or any mlflow-artifacts: URI)
  // and `path` is relative to it ("model/adapter.safetensors").
  void upload_artifact(const std::string& artifact_uri, const std::string& path,
                       std::string_view bytes);
  /// The file's bytes; RESOURCE_DOES_NOT_EXIST when there is none.
  std::string download_artifact(const std::string& artifact_uri, const std::string& path);
  /// What the folder `path` holds (empty: the root), not recursive.
  std::vector<mlflow_artifact> list_artifacts(const std::string& artifact_uri,
                                              const std::string& path = "");

  // Model registry
  mlflow_registered_model create_registered_model(const std::string& name,
                                                  const mlflow_tags& tags = {},
                                                  const std::string& description = "");
  mlflow_registered_model get_registered_model(const std::string& name);
  std::vector<mlflow_registered_model> search_registered_models(const std::string& filter = "");
  void set_registered_model_tag(const std::string& name, const std::string& key,
                                const std::string& value);
  /// The next version of `name`, made from the files at `source` (a run's artifact URI and
  /// a folder under it) and linked to `run_id`.
  mlflow_model_version create_model_version(const std::string& name, const std::string& source,
                                            const std::string& run_id,
                                            const mlflow_tags& tags = {});
  mlflow_model_version get_model_version(const std::string& name, int version);
  /// Versions `filter` matches ("name = 'planner_model'"), following pages.
  std::vector<mlflow_model_version> search_model_versions(const std::string& filter = "");
  void set_model_version_tag(const std::string& name, int version, const std::string& key,
                             const std::string& value);
  /// Points `alias` ("candidate") at `version`, moving it from another version.
  void set_alias(const std::string& name, const std::string& alias, int version);
  void delete_alias(const std::string& name, const std::string& alias);
  /// The version `alias` points at. An alias that is not set is INVALID_PARAMETER_VALUE
  /// (MLflow's choice; RESOURCE_DOES_NOT_EXIST is a missing model): to ask whether it is
  /// set, read get_registered_model's `aliases`.
  mlflow_model_version get_model_version_by_alias(const std::string& name,
                                                  const std::string& alias);

  /// Splits a batch as log_batch does: each part within `limits`, order kept. Public for
  /// tests.
  struct batch {
    std::vector<mlflow_metric> metrics;
    std::vector<std::pair<std::string, std::string>> params;
    std::vector<std::pair<std::string, std::string>> tags;
  };
  static std::vector<batch> split_batch(const std::vector<mlflow_metric>& metrics,
                                        const mlflow_tags& params, const mlflow_tags& tags,
                                        const mlflow_batch_limits& limits = {});

private:
  enum class retry { no, yes };

  /// One request to `path` under the tracking URI (a query already encoded in it); again
  /// after transport errors, 429 and 5xx when `retry::yes`. Throws mlflow_transport_error
  /// when no answer came, mlflow_api_error for a status >= 400.
  curl_reply send(const std::string& method, const std::string& path, std::string_view body,
             std::string_view content_type, retry again);
  /// send() to an endpoint of the tracking API, `request` the JSON body (POST, DELETE) or,
  /// for GET, the query; the answer parsed. Throws mlflow_error when it is not JSON.
  nlohmann::json call(const std::string& method, const std::string& endpoint,
                      const nlohmann::json& request, retry again);
  nlohmann::json get(const std::string& endpoint, const nlohmann::json& query);
  /// The items under `list` of every page of a search, following next_page_token.
  std::vector<nlohmann::json> all_pages(const std::string& method, const std::string& endpoint,
                                        nlohmann::json request, const char* list);
  /// The proxy path of `path` under `artifact_uri`.
  std::string artifact_path(const std::string& artifact_uri, const std::string& path) const;

  mlflow_config config_;
  curl_session curl_;
};

} // namespace expd::runtime

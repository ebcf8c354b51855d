#include "runtime/mlflow_client.hpp"

#include <cmath>
#include <cstdlib>
#include <nlohmann/json.hpp>

#include "core/percent_encoding.hpp"

namespace expd::runtime {

using json = nlohmann::json;

namespace {

constexpr std::string_view api = "/api/2.0/mlflow/";
constexpr std::string_view artifacts_api = "/api/2.0/mlflow-artifacts/artifacts";
constexpr std::string_view artifacts_scheme = "mlflow-artifacts:";

// MLflow writes int64 fields as numbers, protobuf's JSON mapping as strings: read both.
std::int64_t int64_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return 0;
  if (it->is_string())
    return std::stoll(it->get<std::string>());
  return it->get<std::int64_t>();
}

std::string string_of(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string{};
}

// Versions are strings on the wire ("3").
int version_of(const json& j, const char* key) {
  auto text = string_of(j, key);
  return text.empty() ? static_cast<int>(int64_of(j, key)) : std::stoi(text);
}

// Non-finite doubles are the strings of protobuf's JSON mapping, both ways.
json double_to_json(double value) {
  if (std::isnan(value))
    return "NaN";
  if (std::isinf(value))
    return value > 0 ? "Infinity" : "-Infinity";
  return value;
}

double double_of(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return 0;
  if (it->is_string()) {
    auto text = it->get<std::string>();
    if (text == "NaN")
      return std::nan("");
    if (text == "Infinity" || text == "-Infinity")
      return text[0] == '-' ? -HUGE_VAL : HUGE_VAL;
    return std::stod(text);
  }
  return it->get<double>();
}

mlflow_tags tags_of(const json& j, const char* key) {
  mlflow_tags tags;
  if (auto it = j.find(key); it != j.end() && it->is_array())
    for (auto& tag : *it)
      tags[string_of(tag, "key")] = string_of(tag, "value");
  return tags;
}

json tags_to_json(const mlflow_tags& tags) {
  auto out = json::array();
  for (auto& [key, value] : tags)
    out.push_back({{"key", key}, {"value", value}});
  return out;
}

json metric_to_json(const mlflow_metric& m) {
  return {{"key", m.key},
          {"value", double_to_json(m.value)},
          {"timestamp", m.timestamp},
          {"step", m.step}};
}

mlflow_metric metric_of(const json& j) {
  return {string_of(j, "key"), double_of(j, "value"), int64_of(j, "timestamp"),
          int64_of(j, "step")};
}

mlflow_experiment experiment_of(const json& j) {
  return {string_of(j, "experiment_id"),  string_of(j, "name"),
          string_of(j, "artifact_location"), string_of(j, "lifecycle_stage"),
          int64_of(j, "creation_time"),    int64_of(j, "last_update_time"),
          tags_of(j, "tags")};
}

mlflow_run_status status_of(const std::string& text) {
  if (text == "SCHEDULED")
    return mlflow_run_status::scheduled;
  if (text == "FINISHED")
    return mlflow_run_status::finished;
  if (text == "FAILED")
    return mlflow_run_status::failed;
  if (text == "KILLED")
    return mlflow_run_status::killed;
  return mlflow_run_status::running;
}

mlflow_run run_of(const json& j) {
  mlflow_run run;
  auto info = j.value("info", json::object());
  run.run_id = string_of(info, "run_id");
  run.experiment_id = string_of(info, "experiment_id");
  run.run_name = string_of(info, "run_name");
  run.user_id = string_of(info, "user_id");
  run.status = status_of(string_of(info, "status"));
  run.start_time = int64_of(info, "start_time");
  if (info.contains("end_time") && !info["end_time"].is_null())
    run.end_time = int64_of(info, "end_time");
  run.artifact_uri = string_of(info, "artifact_uri");
  run.lifecycle_stage = string_of(info, "lifecycle_stage");
  auto data = j.value("data", json::object());
  for (auto& m : data.value("metrics", json::array()))
    run.metrics.push_back(metric_of(m));
  run.params = tags_of(data, "params");
  run.tags = tags_of(data, "tags");
  return run;
}

mlflow_model_version model_version_of(const json& j) {
  mlflow_model_version v;
  v.name = string_of(j, "name");
  v.version = version_of(j, "version");
  v.source = string_of(j, "source");
  v.run_id = string_of(j, "run_id");
  v.status = string_of(j, "status");
  v.description = string_of(j, "description");
  v.creation_timestamp = int64_of(j, "creation_timestamp");
  v.last_updated_timestamp = int64_of(j, "last_updated_timestamp");
  v.tags = tags_of(j, "tags");
  for (auto& alias : j.value("aliases", json::array()))
    v.aliases.push_back(alias.get<std::string>());
  return v;
}

mlflow_registered_model registered_model_of(const json& j) {
  mlflow_registered_model m;
  m.name = string_of(j, "name");
  m.description = string_of(j, "description");
  m.creation_timestamp = int64_of(j, "creation_timestamp");
  m.last_updated_timestamp = int64_of(j, "last_updated_timestamp");
  m.tags = tags_of(j, "tags");
  for (auto& alias : j.value("aliases", json::array()))
    m.aliases[string_of(alias, "alias")] = version_of(alias, "version");
  return m;
}

std::string query_string(const std::vector<std::pair<std::string, std::string>>& query) {
  std::string out;
  for (auto& [name, value] : query)
    out += (out.empty() ? "?" : "&") + name + "=" + core::uri_encode(value, false);
  return out;
}

// What one entity adds to a log-batch body, near enough to keep under MLflow's 1 MB.
std::size_t json_size(const std::string& key, std::size_t value_size) {
  return key.size() + value_size + 64;
}

} // namespace

mlflow_api_error::mlflow_api_error(const std::string& what, long http_status,
                                   std::string error_code, std::string message)
  : mlflow_error(what), http_status_(http_status), error_code_(std::move(error_code)),
    message_(std::move(message)) {
}

mlflow_code mlflow_api_error::code() const noexcept {
  if (error_code_ == "RESOURCE_ALREADY_EXISTS")
    return mlflow_code::resource_already_exists;
  if (error_code_ == "RESOURCE_DOES_NOT_EXIST")
    return mlflow_code::resource_does_not_exist;
  if (error_code_ == "INVALID_PARAMETER_VALUE")
    return mlflow_code::invalid_parameter_value;
  return mlflow_code::other;
}

std::string_view to_string(mlflow_run_status status) {
  switch (status) {
    case mlflow_run_status::running:
      return "RUNNING";
    case mlflow_run_status::scheduled:
      return "SCHEDULED";
    case mlflow_run_status::finished:
      return "FINISHED";
    case mlflow_run_status::failed:
      return "FAILED";
    case mlflow_run_status::killed:
      return "KILLED";
  }
  return "RUNNING";
}

mlflow_config mlflow_config_from_uri(const std::string& uri) {
  auto scheme_end = uri.find("://");
  auto scheme = uri.substr(0, scheme_end);
  if (scheme_end == std::string::npos || (scheme != "http" && scheme != "https")
      || uri.size() == scheme_end + 3 || uri.find_first_of("?#@", scheme_end + 3) != std::string::npos)
    throw mlflow_error("MLflow tracking URI '" + uri
                       + "' is not http(s)://host[:port][/prefix] (expd talks to a tracking "
                         "server, not to a local folder or database)");
  mlflow_config config;
  config.tracking_uri = uri;
  while (config.tracking_uri.back() == '/')
    config.tracking_uri.pop_back();
  return config;
}

mlflow_config mlflow_config_from_env() {
  auto* uri = std::getenv("MLFLOW_TRACKING_URI");
  if (uri == nullptr || *uri == '\0')
    throw mlflow_error("MLFLOW_TRACKING_URI is not set (for the local server: source var/env.sh)");
  return mlflow_config_from_uri(uri);
}

mlflow_client::mlflow_client(mlflow_config config) : config_(std::move(config)) {
}

mlflow_client::~mlflow_client() = default;

curl_reply mlflow_client::send(const std::string& method, const std::string& path,
                               std::string_view body, std::string_view content_type, retry again) {
  auto what = "MLflow " + config_.tracking_uri + ": " + method + " " + path;
  auto attempts = again == retry::yes ? std::max(config_.attempts, 1) : 1;
  curl_request request{method, config_.tracking_uri + path, {}, std::nullopt,
                       config_.connect_timeout, config_.timeout};
  if (!content_type.empty())
    request.headers.push_back("Content-Type: " + std::string{content_type});
  if (method != "GET")
    request.body = body;
  std::optional<curl_reply> answered;
  std::string last_error;
  for (int attempt = 1; attempt <= attempts; ++attempt) {
    if (attempt > 1)
      curl_.wait_before_try(attempt, config_.backoff);
    answered = curl_.perform(request, last_error);
    if (answered && answered->status < 500 && answered->status != 429)
      break;
  }
  if (!answered)
    throw mlflow_transport_error(what + ": " + last_error
                                 + (attempts > 1 ? " (" + std::to_string(attempts) + " tries)" : ""));
  if (answered->status >= 400) {
    std::string code;
    std::string message;
    auto error_body = json::parse(answered->body, nullptr, false);
    if (error_body.is_object()) {
      code = string_of(error_body, "error_code");
      message = string_of(error_body, "message");
    }
    if (code.empty() && message.empty())
      message = answered->body.substr(0, 300);
    throw mlflow_api_error(what + ": HTTP " + std::to_string(answered->status)
                               + (code.empty() ? "" : " " + code) + ": " + message,
                           answered->status, code, message);
  }
  return std::move(*answered);
}

json mlflow_client::call(const std::string& method, const std::string& endpoint,
                         const json& request, retry again) {
  auto path = std::string{api} + endpoint;
  std::string body;
  if (method == "GET") {
    std::vector<std::pair<std::string, std::string>> query;
    for (auto& [name, value] : request.items())
      query.emplace_back(name, value.is_string() ? value.get<std::string>() : value.dump());
    path += query_string(query);
  } else {
    body = request.dump();
  }
  auto r = send(method, path, body, method == "GET" ? "" : "application/json", again);
  auto answer = json::parse(r.body, nullptr, false);
  if (!answer.is_object())
    throw mlflow_error("MLflow " + config_.tracking_uri + ": " + method + " " + path
                       + ": the answer is not a JSON object: " + r.body.substr(0, 200));
  return answer;
}

json mlflow_client::get(const std::string& endpoint, const json& query) {
  return call("GET", endpoint, query, retry::yes);
}

std::vector<json> mlflow_client::all_pages(const std::string& method, const std::string& endpoint,
                                           json request, const char* list) {
  std::vector<json> out;
  std::string token;
  do {
    if (!token.empty())
      request["page_token"] = token;
    auto answer = call(method, endpoint, request, retry::yes);
    for (auto& item : answer.value(list, json::array()))
      out.push_back(std::move(item));
    token = string_of(answer, "next_page_token");
  } while (!token.empty());
  return out;
}

// ---------------------------------------------------------------- experiments

std::string mlflow_client::create_experiment(const std::string& name, const mlflow_tags& tags) {
  auto answer = call("POST", "experiments/create", {{"name", name}, {"tags", tags_to_json(tags)}},
                     retry::no);
  return string_of(answer, "experiment_id");
}

mlflow_experiment mlflow_client::get_experiment(const std::string& experiment_id) {
  return experiment_of(get("experiments/get", {{"experiment_id", experiment_id}})["experiment"]);
}

std::optional<mlflow_experiment> mlflow_client::find_experiment(const std::string& name) {
  try {
    return experiment_of(get("experiments/get-by-name", {{"experiment_name", name}})["experiment"]);
  } catch (const mlflow_api_error& e) {
    if (e.code() == mlflow_code::resource_does_not_exist)
      return std::nullopt;
    throw;
  }
}

std::vector<mlflow_experiment> mlflow_client::search_experiments(const std::string& filter) {
  json request = {{"max_results", 1000}};
  if (!filter.empty())
    request["filter"] = filter;
  std::vector<mlflow_experiment> out;
  for (auto& e : all_pages("POST", "experiments/search", request, "experiments"))
    out.push_back(experiment_of(e));
  return out;
}

void mlflow_client::set_experiment_tag(const std::string& experiment_id, const std::string& key,
                                       const std::string& value) {
  call("POST", "experiments/set-experiment-tag",
       {{"experiment_id", experiment_id}, {"key", key}, {"value", value}}, retry::yes);
}

// ----------------------------------------------------------------------- runs

mlflow_run mlflow_client::create_run(const std::string& experiment_id, const std::string& run_name,
                                     std::int64_t start_time, const mlflow_tags& tags) {
  auto answer = call("POST", "runs/create",
                     {{"experiment_id", experiment_id},
                      {"run_name", run_name},
                      {"start_time", start_time},
                      {"tags", tags_to_json(tags)}},
                     retry::no);
  return run_of(answer["run"]);
}

mlflow_run mlflow_client::get_run(const std::string& run_id) {
  return run_of(get("runs/get", {{"run_id", run_id}})["run"]);
}

void mlflow_client::update_run(const std::string& run_id, mlflow_run_status status,
                               std::optional<std::int64_t> end_time) {
  json body = {{"run_id", run_id}, {"status", to_string(status)}};
  if (end_time)
    body["end_time"] = *end_time;
  call("POST", "runs/update", body, retry::yes);
}

std::vector<mlflow_run> mlflow_client::search_runs(const std::vector<std::string>& experiment_ids,
                                                   const std::string& filter) {
  json request = {{"experiment_ids", experiment_ids},
                  {"max_results", 1000},
                  {"order_by", {"attributes.start_time DESC"}}};
  if (!filter.empty())
    request["filter"] = filter;
  std::vector<mlflow_run> out;
  for (auto& r : all_pages("POST", "runs/search", request, "runs"))
    out.push_back(run_of(r));
  return out;
}

void mlflow_client::log_param(const std::string& run_id, const std::string& key,
                              const std::string& value) {
  // Logging the same value again is allowed, so a retry is safe.
  call("POST", "runs/log-parameter", {{"run_id", run_id}, {"key", key}, {"value", value}},
       retry::yes);
}

void mlflow_client::set_tag(const std::string& run_id, const std::string& key,
                            const std::string& value) {
  call("POST", "runs/set-tag", {{"run_id", run_id}, {"key", key}, {"value", value}}, retry::yes);
}

void mlflow_client::log_input(const std::string& run_id, const mlflow_dataset& dataset,
                              const mlflow_tags& input_tags) {
  auto tags = nlohmann::json::array();
  for (const auto& [key, value] : input_tags)
    tags.push_back({{"key", key}, {"value", value}});
  call("POST", "runs/log-inputs",
       {{"run_id", run_id},
        {"datasets", {{{"tags", std::move(tags)},
                       {"dataset", {{"name", dataset.name},
                                    {"digest", dataset.digest},
                                    {"source_type", dataset.source_type},
                                    {"source", dataset.source},
                                    {"schema", dataset.schema},
                                    {"profile", dataset.profile}}}}}}},
       retry::yes);
}

std::vector<mlflow_client::batch>
mlflow_client::split_batch(const std::vector<mlflow_metric>& metrics, const mlflow_tags& params,
                           const mlflow_tags& tags, const mlflow_batch_limits& limits) {
  std::vector<batch> out;
  std::size_t bytes = 0;
  // Starts a new part unless the current one has room for one more of a kind that holds
  // `count_now` of `cap`, `size` bytes large.
  auto make_room = [&](std::size_t count_now, std::size_t cap, std::size_t size) {
    if (!out.empty()) {
      auto& b = out.back();
      auto entities = b.metrics.size() + b.params.size() + b.tags.size();
      if (count_now < cap && entities < limits.entities && bytes + size <= limits.bytes) {
        bytes += size;
        return;
      }
    }
    out.emplace_back();
    bytes = size;
  };
  for (auto& m : metrics) {
    make_room(out.empty() ? 0 : out.back().metrics.size(), limits.metrics, json_size(m.key, 24));
    out.back().metrics.push_back(m);
  }
  for (auto& [key, value] : params) {
    make_room(out.empty() ? 0 : out.back().params.size(), limits.params,
                  json_size(key, value.size()));
    out.back().params.emplace_back(key, value);
  }
  for (auto& [key, value] : tags) {
    make_room(out.empty() ? 0 : out.back().tags.size(), limits.tags,
                  json_size(key, value.size()));
    out.back().tags.emplace_back(key, value);
  }
  return out;
}

void mlflow_client::log_batch(const std::string& run_id, const std::vector<mlflow_metric>& metrics,
                              const mlflow_tags& params, const mlflow_tags& tags) {
  for (auto& part : split_batch(metrics, params, tags)) {
    json body = {{"run_id", run_id},
                 {"metrics", json::array()},
                 {"params", json::array()},
                 {"tags", json::array()}};
    for (auto& m : part.metrics)
      body["metrics"].push_back(metric_to_json(m));
    for (auto& [key, value] : part.params)
      body["params"].push_back({{"key", key}, {"value", value}});
    for (auto& [key, value] : part.tags)
      body["tags"].push_back({{"key", key}, {"value", value}});
    // Metric values are appended, never replaced: a batch with metrics is sent once.
    call("POST", "runs/log-batch", body, part.metrics.empty() ? retry::yes : retry::no);
  }
}

std::vector<mlflow_metric> mlflow_client::metric_history(const std::string& run_id,
                                                         const std::string& key) {
  std::vector<mlflow_metric> out;
  for (auto& m : all_pages("GET", "metrics/get-history",
                           {{"run_id", run_id}, {"metric_key", key}, {"max_results", 25000}},
                           "metrics"))
    out.push_back(metric_of(m));
  return out;
}

// ------------------------------------------------------------------ artifacts

std::string mlflow_client::artifact_path(const std::string& artifact_uri,
                                         const std::string& path) const {
  if (artifact_uri.compare(0, artifacts_scheme.size(), artifacts_scheme) != 0)
    throw mlflow_error("MLflow " + config_.tracking_uri + ": artifact URI '" + artifact_uri
                       + "' is not served by the artifact proxy (mlflow-artifacts:/...); start "
                         "the server with --serve-artifacts");
  std::string_view rest{artifact_uri};
  rest.remove_prefix(artifacts_scheme.size());
  // "mlflow-artifacts://host:port/path" names a server: this client's is the one asked.
  if (rest.substr(0, 2) == "//") {
    rest.remove_prefix(2);
    rest.remove_prefix(std::min(rest.size(), rest.find('/')));
  }
  while (!rest.empty() && rest.front() == '/')
    rest.remove_prefix(1);
  std::string relative{rest};
  if (!path.empty())
    relative += (relative.empty() ? "" : "/") + path;
  return relative;
}

void mlflow_client::upload_artifact(const std::string& artifact_uri, const std::string& path,
                                    std::string_view bytes) {
  auto relative = artifact_path(artifact_uri, path);
  // The same bytes to the same path: a retry is safe.
  send("PUT", std::string{artifacts_api} + "/" + core::uri_encode(relative, true), bytes,
       "application/octet-stream", retry::yes);
}

std::string mlflow_client::download_artifact(const std::string& artifact_uri,
                                             const std::string& path) {
  auto relative = artifact_path(artifact_uri, path);
  return send("GET", std::string{artifacts_api} + "/" + core::uri_encode(relative, true), {}, {},
              retry::yes)
    .body;
}

std::vector<mlflow_artifact> mlflow_client::list_artifacts(const std::string& artifact_uri,
                                                           const std::string& path) {
  auto relative = artifact_path(artifact_uri, path);
  auto r = send("GET", std::string{artifacts_api} + query_string({{"path", relative}}), {}, {},
                retry::yes);
  auto answer = json::parse(r.body, nullptr, false);
  if (!answer.is_object())
    throw mlflow_error("MLflow " + config_.tracking_uri + ": listing '" + relative
                       + "': the answer is not JSON: " + r.body.substr(0, 200));
  std::vector<mlflow_artifact> out;
  for (auto& f : answer.value("files", json::array()))
    out.push_back({string_of(f, "path"), f.value("is_dir", false), int64_of(f, "file_size")});
  return out;
}

// ------------------------------------------------------------- model registry

mlflow_registered_model mlflow_client::create_registered_model(const std::string& name,
                                                               const mlflow_tags& tags,
                                                               const std::string& description) {
  auto answer =
    call("POST", "registered-models/create",
         {{"name", name}, {"tags", tags_to_json(tags)}, {"description", description}}, retry::no);
  return registered_model_of(answer["registered_model"]);
}

mlflow_registered_model mlflow_client::get_registered_model(const std::string& name) {
  return registered_model_of(get("registered-models/get", {{"name", name}})["registered_model"]);
}

std::vector<mlflow_registered_model>
mlflow_client::search_registered_models(const std::string& filter) {
  json query = {{"max_results", 1000}};
  if (!filter.empty())
    query["filter"] = filter;
  std::vector<mlflow_registered_model> out;
  for (auto& m : all_pages("GET", "registered-models/search", query, "registered_models"))
    out.push_back(registered_model_of(m));
  return out;
}

void mlflow_client::set_registered_model_tag(const std::string& name, const std::string& key,
                                             const std::string& value) {
  call("POST", "registered-models/set-tag", {{"name", name}, {"key", key}, {"value", value}},
       retry::yes);
}

mlflow_model_version mlflow_client::create_model_version(const std::string& name,
                                                         const std::string& source,
                                                         const std::string& run_id,
                                                         const mlflow_tags& tags) {
  auto answer = call(
    "POST", "model-versions/create",
    {{"name", name}, {"source", source}, {"run_id", run_id}, {"tags", tags_to_json(tags)}},
    retry::no);
  return model_version_of(answer["model_version"]);
}

mlflow_model_version mlflow_client::get_model_version(const std::string& name, int version) {
  return model_version_of(
    get("model-versions/get", {{"name", name}, {"version", std::to_string(version)}})["model_version"]);
}

std::vector<mlflow_model_version> mlflow_client::search_model_versions(const std::string& filter) {
  json query = {{"max_results", 1000}};
  if (!filter.empty())
    query["filter"] = filter;
  std::vector<mlflow_model_version> out;
  for (auto& v : all_pages("GET", "model-versions/search", query, "model_versions"))
    out.push_back(model_version_of(v));
  return out;
}

void mlflow_client::set_model_version_tag(const std::string& name, int version,
                                          const std::string& key, const std::string& value) {
  call("POST", "model-versions/set-tag",
       {{"name", name}, {"version", std::to_string(version)}, {"key", key}, {"value", value}},
       retry::yes);
}

void mlflow_client::set_alias(const std::string& name, const std::string& alias, int version) {
  call("POST", "registered-models/alias",
       {{"name", name}, {"alias", alias}, {"version", std::to_string(version)}}, retry::yes);
}

void mlflow_client::delete_alias(const std::string& name, const std::string& alias) {
  call("DELETE", "registered-models/alias", {{"name", name}, {"alias", alias}}, retry::yes);
}

mlflow_model_version mlflow_client::get_model_version_by_alias(const std::string& name,
                                                               const std::string& alias) {
  return model_version_of(
    get("registered-models/alias", {{"name", name}, {"alias", alias}})["model_version"]);
}

} // namespace expd::runtime

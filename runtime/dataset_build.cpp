#include "runtime/dataset_build.hpp"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <pqxx/pqxx>
#include <unistd.h>
#include <xxhash.h>

#include "runtime/mlflow_client.hpp"
#include "runtime/parquet_dataset.hpp"
#include "runtime/pg_binary_copy.hpp"

namespace expd::runtime {

namespace {

namespace fs = std::filesystem;

// The join query's output columns (sql/domain/planner_dataset.sql), in its order.
enum query_column : std::size_t {
  q_request_id,
  q_household_id,
  q_timestamp,
  q_policy_version_id,
  q_generated_event_id,
  q_accepted_event_id,
  q_input,
  q_target,
  query_columns
};

// The file's columns: the text dataset's three first (what training reads), then the
// metadata of spec 9.1.
enum file_column : std::size_t {
  f_input,
  f_target,
  f_split,
  f_household_id,
  f_timestamp,
  f_policy_version_id,
  f_request_id,
  f_generated_event_id,
  f_accepted_event_id,
};

const std::vector<column_spec>& file_columns() {
  static const std::vector<column_spec> columns{
    {"input", column_type::text},
    {"target", column_type::text},
    {"split", column_type::text},
    {"household_id", column_type::text},
    {"timestamp", column_type::timestamp_micros},
    {"policy_version_id", column_type::text},
    {"request_id", column_type::text},
    {"generated_event_id", column_type::text},
    {"accepted_event_id", column_type::text},
  };
  return columns;
}

std::string hex64(std::uint64_t value) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(value));
  return hex;
}

std::string_view or_empty(std::string_view field) {
  return field.data() ? field : std::string_view{};
}

// Removes what a failed build stored; what cannot be removed now is only an object no
// row names (the API lists exp.datasets), so it is logged by the caller's error.
void remove_quietly(object_store& store, const std::string& key) noexcept {
  try {
    store.remove(key);
  } catch (...) {
  }
}

nlohmann::json row_summary(const pqxx::row& r) {
  auto manifest = nlohmann::json::parse(r["manifest"].c_str());
  manifest["uri"] = r["data_uri"].c_str();
  manifest["mlflow_run_id"] = r["mlflow_run_id"].c_str();
  return manifest;
}

} // namespace

dataset_builder::dataset_builder(dataset_build_config config)
  : config_(std::move(config)), store_(open_object_store(config_.store_url)), store_description_(store_->describe()),
    session_(config_.pg_url) {
  if (config_.scratch_dir.empty())
    config_.scratch_dir = store_description_.rfind("file://", 0) == 0
                            ? store_description_.substr(7) + "/.expd-tmp-datasets"
                            : fs::temp_directory_path().string();
  fs::create_directories(config_.scratch_dir);
}

std::string dataset_builder::local_copy(const std::string& name, const std::string& version,
                                       const std::string& scratch_dir) {
  const auto key = core::dataset_data_key(name, version);
  if (store_description_.rfind("file://", 0) == 0) {
    auto path = store_description_.substr(7) + "/" + key;
    if (!fs::exists(path))
      throw dataset_error(path, "", "the dataset's file is gone from the store");
    return path;
  }
  auto body = store_->get(key);
  if (!body)
    throw dataset_error(uri_of(key), "", "the dataset's file is gone from the store");
  fs::create_directories(scratch_dir);
  auto path = scratch_dir + "/" + name + "-" + version + "-" + std::to_string(::getpid()) + ".parquet";
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(body->data(), static_cast<std::streamsize>(body->size()));
  if (!out.flush())
    throw dataset_error(path, "", "cannot write a copy of the dataset");
  return path;
}

std::string dataset_builder::uri_of(const std::string& key) const {
  // describe() is "file:///abs" or "s3://bucket (endpoint)": the URI is its first word.
  return store_description_.substr(0, store_description_.find(' ')) + "/" + key;
}

dataset_build_result dataset_builder::build(const core::dataset_build_request& request, core::unix_micros now) {
  auto query = config_.queries.find(request.name);
  if (query == config_.queries.end())
    throw std::invalid_argument("no join query for the dataset " + request.name);
  const auto sql = core::bind_window(query->second, request.from, request.to);
  const auto query_hash = hex64(XXH3_64bits(sql.data(), sql.size()));

  static std::atomic<std::uint64_t> counter{0};
  const auto scratch = config_.scratch_dir + "/build-" + std::to_string(::getpid()) + "-" +
                       std::to_string(counter++) + ".parquet";
  core::dataset_contents contents;
  {
    dataset_writer writer(scratch, file_columns(),
                          {{"dataset", request.name},
                           {"window_from", core::format_rfc3339(request.from)},
                           {"window_to", core::format_rfc3339(request.to)},
                           {"validation_fraction", nlohmann::json(request.validation).dump()},
                           {"query_xxh3_64", query_hash}});
    pg_binary_copy copy(config_.pg_url);
    std::string split;
    copy.rows(sql, [&](const binary_row& row) {
      if (row.size() != query_columns)
        throw std::runtime_error("the join query answers " + std::to_string(row.size()) + " columns, not " +
                                 std::to_string(query_columns) + " (sql/domain/" + request.name + "_dataset.sql)");
      // A row without its input or target (an event missing a field the query needs)
      // cannot train anything; the manifest counts them.
      if (!row[q_input].data() || !row[q_target].data() || !row[q_household_id].data() ||
          !row[q_timestamp].data()) {
        ++contents.skipped_rows;
        return;
      }
      split = core::dataset_split(row[q_household_id], request.validation);
      ++(split == "train" ? contents.train_rows : contents.validation_rows);
      writer.text(f_input, row[q_input]);
      writer.text(f_target, row[q_target]);
      writer.text(f_split, split);
      writer.text(f_household_id, row[q_household_id]);
      writer.timestamp(f_timestamp, binary_field::timestamp_micros(row[q_timestamp]));
      writer.text(f_policy_version_id, or_empty(row[q_policy_version_id]));
      writer.text(f_request_id, or_empty(row[q_request_id]));
      writer.text(f_generated_event_id, or_empty(row[q_generated_event_id]));
      writer.text(f_accepted_event_id, or_empty(row[q_accepted_event_id]));
      writer.end_row();
    });
    contents.rows = writer.rows();
    if (contents.rows == 0)
      throw empty_dataset_error("no plan_generated event in [" + core::format_rfc3339(request.from) + ", " +
                                core::format_rfc3339(request.to) + ") has an accepted plan_accepted answer in it");
    const auto types = writer.type_names();
    for (std::size_t i = 0; i < types.size(); ++i)
      contents.schema.push_back({file_columns()[i].name, types[i]});
    writer.commit();
  }
  struct scratch_remover {
    std::string path;
    ~scratch_remover() {
      std::error_code ignored;
      fs::remove(path, ignored);
    }
  } remover{scratch};
  contents.bytes = fs::file_size(scratch);
  contents.content_hash = xxh3_of_files({scratch});

  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    // One build of a name at a time across nodes: the version is chosen and stored
    // under this lock, which the transaction's end releases.
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext('exp.datasets'), hashtext($1))", request.name);
    const auto day = core::utc_day(now);
    auto same = tx.exec_params("SELECT manifest, data_uri, mlflow_run_id FROM exp.datasets"
                               " WHERE name = $1 AND content_hash = $2 AND window_from = $3::timestamptz"
                               "   AND window_to = $4::timestamptz AND validation_fraction = $5"
                               "   AND (version = $6 OR version LIKE $6 || '.%')",
                               request.name, contents.content_hash, core::format_rfc3339(request.from),
                               core::format_rfc3339(request.to), request.validation, day);
    if (!same.empty()) {
      dataset_build_result existing{row_summary(same[0]), false};
      existing.manifest["created"] = false;
      return existing;
    }
    std::vector<std::string> stored;
    for (const auto& r : tx.exec_params("SELECT version FROM exp.datasets WHERE name = $1 AND"
                                        " (version = $2 OR version LIKE $2 || '.%')",
                                        request.name, day))
      stored.emplace_back(r[0].c_str());
    const auto version = core::next_dataset_version(day, stored);
    const auto data_key = core::dataset_data_key(request.name, version);
    const auto manifest_key = core::dataset_manifest_key(request.name, version);
    auto manifest = core::dataset_manifest(request, version, data_key, contents, query_hash, now);
    try {
      // The file first, then its manifest, then the row: each names only what exists.
      store_->put_file(data_key, scratch);
      store_->put(manifest_key, manifest.dump(2) + "\n");
      tx.exec_params("INSERT INTO exp.datasets (name, version, window_from, window_to, validation_fraction, rows,"
                     " train_rows, validation_rows, content_hash, query_hash, data_uri, manifest, built_at)"
                     " VALUES ($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7, $8, $9, $10, $11, $12::jsonb,"
                     " $13::timestamptz)",
                     request.name, version, core::format_rfc3339(request.from), core::format_rfc3339(request.to),
                     request.validation, static_cast<long long>(contents.rows),
                     static_cast<long long>(contents.train_rows), static_cast<long long>(contents.validation_rows),
                     contents.content_hash, query_hash, uri_of(data_key), manifest.dump(),
                     core::format_rfc3339(now));
      tx.commit();
    } catch (...) {
      remove_quietly(*store_, manifest_key);
      remove_quietly(*store_, data_key);
      throw;
    }
    manifest["uri"] = uri_of(data_key);
    manifest["mlflow_run_id"] = "";
    manifest["created"] = true;
    return dataset_build_result{std::move(manifest), true};
  });
}

nlohmann::json dataset_builder::list() {
  return with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::read_transaction tx{conn};
    auto all = nlohmann::json::array();
    for (const auto& r : tx.exec("SELECT manifest, data_uri, mlflow_run_id FROM exp.datasets"
                                 " ORDER BY built_at DESC, name, version DESC"))
      all.push_back(row_summary(r));
    return nlohmann::json{{"datasets", std::move(all)}};
  });
}

std::optional<nlohmann::json> dataset_builder::find(const std::string& name, const std::string& version) {
  return with_reconnect(session_, [&](pqxx::connection& conn) -> std::optional<nlohmann::json> {
    pqxx::read_transaction tx{conn};
    auto r = tx.exec_params("SELECT manifest, data_uri, mlflow_run_id FROM exp.datasets"
                            " WHERE name = $1 AND version = $2",
                            name, version);
    if (r.empty())
      return std::nullopt;
    return row_summary(r[0]);
  });
}

void dataset_builder::set_mlflow_run(const std::string& name, const std::string& version, const std::string& run_id) {
  with_reconnect(session_, [&](pqxx::connection& conn) {
    pqxx::work tx{conn};
    tx.exec_params("UPDATE exp.datasets SET mlflow_run_id = $3 WHERE name = $1 AND version = $2", name, version,
                   run_id);
    tx.commit();
  });
}

std::string log_dataset_run(mlflow_client& mlflow, const nlohmann::json& manifest, const std::string& experiment,
                            const std::string& policy_id, core::unix_micros now) {
  std::string experiment_id;
  if (auto found = mlflow.find_experiment(experiment)) {
    experiment_id = found->experiment_id;
  } else {
    try {
      experiment_id = mlflow.create_experiment(experiment, {{"expd.kind", "datasets"}});
    } catch (const mlflow_api_error& e) { // another node made it first
      if (e.code() != mlflow_code::resource_already_exists)
        throw;
      experiment_id = mlflow.find_experiment(experiment).value().experiment_id;
    }
  }
  const std::string version = manifest.at("dataset_version");
  const std::string uri = manifest.at("uri");
  const auto ms = now / 1000;
  auto run = mlflow.create_run(experiment_id, "dataset " + version, ms,
                               {{"dataset_version", version},
                                {"policy_id", policy_id},
                                {"expd.dataset", manifest.at("name").get<std::string>()},
                                {"expd.content_hash", manifest.at("content_hash").get<std::string>()}});
  mlflow_dataset dataset{manifest.at("name"),
                         manifest.at("content_hash"),
                         uri.rfind("s3://", 0) == 0 ? "s3" : "local",
                         nlohmann::json{{"uri", uri}}.dump(),
                         nlohmann::json{{"columns", manifest.at("schema")}}.dump(),
                         nlohmann::json{{"rows", manifest.at("rows")}, {"split", manifest.at("split")}}.dump()};
  mlflow.log_input(run.run_id, dataset, {{"mlflow.data.context", "training"}});
  const auto& source = manifest.at("source");
  mlflow.log_batch(run.run_id, {},
                   {{"dataset_version", version},
                    {"window_from", source.at("from")},
                    {"window_to", source.at("to")},
                    {"validation_fraction", manifest.at("split").at("validation_fraction").dump()},
                    {"rows", manifest.at("rows").dump()},
                    {"uri", uri}});
  mlflow.update_run(run.run_id, mlflow_run_status::finished, ms);
  return run.run_id;
}

} // namespace expd::runtime

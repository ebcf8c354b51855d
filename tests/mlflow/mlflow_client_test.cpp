// expd's MLflow client against the real MLflow tracking server that deploy/servers.sh
// starts (MLFLOW_TRACKING_URI in var/env.sh), and MLflow's own Python client reading back
// what it wrote. Names carry the pid and the time, so runs never meet.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>

#include <nlohmann/json.hpp>
#include <unistd.h>

#include "core/sigv4.hpp"
#include "runtime/mlflow_client.hpp"

using namespace expd::runtime;

namespace {

constexpr std::int64_t t0 = 1'760'000'000'000;

std::string unique(const std::string& what) {
  static int counter = 0;
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::system_clock::now().time_since_epoch())
              .count();
  return "expd-test-" + what + "-" + std::to_string(getpid()) + "-" + std::to_string(ms) + "-"
         + std::to_string(counter++);
}

// Which MLflow error a call threw: "RESOURCE_DOES_NOT_EXIST", "transport", or "(none)".
template <class F>
std::string error_of(F&& call) {
  try {
    call();
  } catch (const mlflow_api_error& e) {
    return e.error_code();
  } catch (const mlflow_transport_error&) {
    return "transport";
  }
  return "(none)";
}

std::string random_bytes(std::size_t size) {
  std::mt19937_64 gen(42);
  std::string out(size, '\0');
  for (auto& c : out)
    c = static_cast<char>(gen());
  // Every byte value, NUL and CR LF included, at the start.
  for (int i = 0; i < 256; ++i)
    out[i] = static_cast<char>(i);
  return out;
}

std::string run_command(const std::string& command) {
  std::string out;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe)
    return out;
  char buffer[4096];
  while (auto n = fread(buffer, 1, sizeof buffer, pipe.get()))
    out.append(buffer, n);
  return out;
}

class mlflow_server : public ::testing::Test {
protected:
  void SetUp() override {
    auto* uri = std::getenv("MLFLOW_TRACKING_URI");
    if (uri == nullptr || *uri == '\0')
      GTEST_SKIP() << "MLFLOW_TRACKING_URI is not set: bash deploy/servers.sh start, then "
                      "source var/env.sh (deploy/test.sh does both)";
    client_ = std::make_unique<mlflow_client>(mlflow_config_from_env());
  }

  // An experiment and a running run in it.
  mlflow_run new_run(const std::string& what) {
    auto experiment = client_->create_experiment(unique(what));
    return client_->create_run(experiment, "train-" + what, t0);
  }

  std::unique_ptr<mlflow_client> client_;
};

} // namespace

TEST_F(mlflow_server, experiments) {
  auto name = unique("policy");
  auto id = client_->create_experiment(name, {{"policy_id", "planner"}});
  ASSERT_FALSE(id.empty());
  auto found = client_->find_experiment(name);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->experiment_id, id);
  EXPECT_EQ(found->tags.at("policy_id"), "planner");
  EXPECT_EQ(found->lifecycle_stage, "active");
  // Artifacts go through the server's proxy (--serve-artifacts).
  EXPECT_EQ(found->artifact_location.rfind("mlflow-artifacts:", 0), 0u) << found->artifact_location;

  client_->set_experiment_tag(id, "task", "plan_generation");
  auto got = client_->get_experiment(id);
  EXPECT_EQ(got.name, name);
  EXPECT_EQ(got.tags.at("task"), "plan_generation");
  EXPECT_GT(got.creation_time, 0);

  auto searched = client_->search_experiments("name = '" + name + "'");
  ASSERT_EQ(searched.size(), 1u);
  EXPECT_EQ(searched[0].experiment_id, id);
  EXPECT_EQ(client_->search_experiments("tags.task = 'plan_generation' AND name = '" + name + "'").size(), 1u);
  EXPECT_FALSE(client_->find_experiment(unique("never-made")));
}

TEST_F(mlflow_server, a_run_with_params_tags_and_2500_metrics) {
  auto experiment = client_->create_experiment(unique("runs"));
  auto run = client_->create_run(experiment, "train-1", t0, {{"policy_id", "planner"}});
  EXPECT_EQ(run.status, mlflow_run_status::running);
  EXPECT_EQ(run.run_name, "train-1");
  EXPECT_EQ(run.start_time, t0);
  EXPECT_EQ(run.tags.at("policy_id"), "planner");
  EXPECT_FALSE(run.end_time);

  client_->log_param(run.run_id, "learning_rate", "0.0002");
  client_->log_param(run.run_id, "learning_rate", "0.0002"); // the same value again is fine
  client_->set_tag(run.run_id, "task", "plan_generation");
  client_->set_tag(run.run_id, "task", "plan_generation_v2"); // tags can change

  // 2,500 values of one metric: three log-batch requests (1,000 each at most), with
  // 150 params (two parts) and a tag beside them.
  std::vector<mlflow_metric> losses;
  for (int step = 0; step < 2500; ++step)
    losses.push_back({"val_loss", 2.0 / (step + 1), t0 + 10 * step, step});
  mlflow_tags params;
  for (int i = 0; i < 150; ++i)
    params["p" + std::to_string(i)] = std::to_string(i * i);
  params["epochs"] = "3";
  client_->log_batch(run.run_id, losses, params, {{"dataset_version", "2025-01-01"}});
  client_->log_batch(run.run_id, {{"offline_eval_score", 0.81, t0 + 30000, 0}});

  auto history = client_->metric_history(run.run_id, "val_loss");
  ASSERT_EQ(history.size(), 2500u);
  for (int step = 0; step < 2500; ++step) {
    EXPECT_EQ(history[step].step, step);
    EXPECT_DOUBLE_EQ(history[step].value, 2.0 / (step + 1));
    EXPECT_EQ(history[step].timestamp, t0 + 10 * step);
    EXPECT_EQ(history[step].key, "val_loss");
  }

  client_->update_run(run.run_id, mlflow_run_status::finished, t0 + 60000);
  auto got = client_->get_run(run.run_id);
  EXPECT_EQ(got.status, mlflow_run_status::finished);
  EXPECT_EQ(got.end_time, t0 + 60000);
  EXPECT_EQ(got.experiment_id, experiment);
  EXPECT_EQ(got.params.size(), 152u);
  EXPECT_EQ(got.params.at("learning_rate"), "0.0002");
  EXPECT_EQ(got.params.at("p149"), "22201");
  EXPECT_EQ(got.tags.at("task"), "plan_generation_v2");
  EXPECT_EQ(got.tags.at("dataset_version"), "2025-01-01");
  auto latest = std::find_if(got.metrics.begin(), got.metrics.end(),
                             [](auto& m) { return m.key == "val_loss"; });
  ASSERT_NE(latest, got.metrics.end());
  EXPECT_EQ(latest->step, 2499);

  auto other = client_->create_run(experiment, "train-2", t0 + 1000);
  client_->log_param(other.run_id, "learning_rate", "0.01");
  auto matching = client_->search_runs({experiment}, "params.learning_rate = '0.0002'");
  ASSERT_EQ(matching.size(), 1u);
  EXPECT_EQ(matching[0].run_id, run.run_id);
  auto all = client_->search_runs({experiment});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].run_id, other.run_id); // newest first
  EXPECT_EQ(client_->search_runs({experiment}, "attributes.status = 'FINISHED'").size(), 1u);
}

TEST_F(mlflow_server, artifacts_through_the_proxy_come_back_byte_identical) {
  auto run = new_run("artifacts");
  ASSERT_EQ(run.artifact_uri.rfind("mlflow-artifacts:", 0), 0u) << run.artifact_uri;
  auto weights = random_bytes(3 * 1024 * 1024 + 17);
  client_->upload_artifact(run.artifact_uri, "model/adapter weights.bin", weights);
  client_->upload_artifact(run.artifact_uri, "model/config.json", R"({"rank":8})");
  client_->upload_artifact(run.artifact_uri, "empty.txt", "");

  EXPECT_EQ(client_->download_artifact(run.artifact_uri, "model/adapter weights.bin"), weights);
  EXPECT_EQ(client_->download_artifact(run.artifact_uri, "model/config.json"), R"({"rank":8})");
  EXPECT_EQ(client_->download_artifact(run.artifact_uri, "empty.txt"), "");

  auto root = client_->list_artifacts(run.artifact_uri);
  std::sort(root.begin(), root.end(), [](auto& a, auto& b) { return a.path < b.path; });
  ASSERT_EQ(root.size(), 2u);
  EXPECT_EQ(root[0].path, "empty.txt");
  EXPECT_FALSE(root[0].is_dir);
  EXPECT_EQ(root[1].path, "model");
  EXPECT_TRUE(root[1].is_dir);
  auto model = client_->list_artifacts(run.artifact_uri, "model");
  std::sort(model.begin(), model.end(), [](auto& a, auto& b) { return a.path < b.path; });
  ASSERT_EQ(model.size(), 2u);
  EXPECT_EQ(model[0].path, "adapter weights.bin");
  EXPECT_EQ(model[0].file_size, static_cast<std::int64_t>(weights.size()));
  EXPECT_EQ(model[1].path, "config.json");

  // Uploading again replaces the file.
  client_->upload_artifact(run.artifact_uri, "model/config.json", R"({"rank":16})");
  EXPECT_EQ(client_->download_artifact(run.artifact_uri, "model/config.json"), R"({"rank":16})");
  EXPECT_NE(error_of([&] { client_->download_artifact(run.artifact_uri, "model/missing.bin"); }),
            "(none)");
}

TEST_F(mlflow_server, registry_versions_tags_and_aliases) {
  auto run = new_run("registry");
  client_->upload_artifact(run.artifact_uri, "model/weights.bin", random_bytes(4096));
  auto name = unique("planner_model");
  auto model = client_->create_registered_model(name, {{"task", "plan_generation"}}, "the planner");
  EXPECT_EQ(model.name, name);
  EXPECT_EQ(model.description, "the planner");
  client_->set_registered_model_tag(name, "owner", "ml-platform");

  auto source = run.artifact_uri + "/model";
  auto v1 = client_->create_model_version(name, source, run.run_id, {{"dataset_version", "d1"}});
  auto v2 = client_->create_model_version(name, source, run.run_id);
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v1.source, source);
  EXPECT_EQ(v1.run_id, run.run_id);
  EXPECT_EQ(v1.tags.at("dataset_version"), "d1");

  // The spec's stage tag, kept beside the aliases MLflow replaced stages with.
  client_->set_model_version_tag(name, 1, "stage", "production");
  client_->set_model_version_tag(name, 2, "stage", "candidate");
  client_->set_alias(name, "production", 1);
  client_->set_alias(name, "candidate", 2);

  auto production = client_->get_model_version_by_alias(name, "production");
  EXPECT_EQ(production.version, 1);
  EXPECT_EQ(production.tags.at("stage"), "production");
  EXPECT_EQ(client_->get_model_version_by_alias(name, "candidate").version, 2);
  auto got = client_->get_registered_model(name);
  EXPECT_EQ(got.tags.at("owner"), "ml-platform");
  EXPECT_EQ(got.aliases, (std::map<std::string, int>{{"candidate", 2}, {"production", 1}}));

  // Promotion: production moves to version 2, the candidate alias goes away.
  client_->set_alias(name, "production", 2);
  client_->set_model_version_tag(name, 2, "stage", "production");
  client_->set_model_version_tag(name, 1, "stage", "retired");
  client_->delete_alias(name, "candidate");
  EXPECT_EQ(client_->get_model_version_by_alias(name, "production").version, 2);
  // MLflow answers an alias that is not set as a bad parameter, a missing model as missing.
  EXPECT_EQ(error_of([&] { client_->get_model_version_by_alias(name, "candidate"); }),
            "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(error_of([&] { client_->get_model_version_by_alias(unique("none"), "candidate"); }),
            "RESOURCE_DOES_NOT_EXIST");
  auto now = client_->get_model_version(name, 2);
  EXPECT_EQ(now.aliases, std::vector<std::string>{"production"});
  EXPECT_EQ(now.tags.at("stage"), "production");
  EXPECT_TRUE(client_->get_model_version(name, 1).aliases.empty());
  EXPECT_EQ(client_->get_registered_model(name).aliases, (std::map<std::string, int>{{"production", 2}}));

  auto versions = client_->search_model_versions("name = '" + name + "'");
  EXPECT_EQ(versions.size(), 2u);
  auto models = client_->search_registered_models("name = '" + name + "'");
  ASSERT_EQ(models.size(), 1u);
  EXPECT_EQ(models[0].name, name);
}

TEST_F(mlflow_server, refusals_carry_mlflow_error_codes) {
  auto name = unique("dup");
  client_->create_experiment(name);
  try {
    client_->create_experiment(name);
    FAIL() << "a second experiment of the same name was made";
  } catch (const mlflow_api_error& e) {
    EXPECT_EQ(e.code(), mlflow_code::resource_already_exists);
    EXPECT_EQ(e.error_code(), "RESOURCE_ALREADY_EXISTS");
    EXPECT_EQ(e.http_status(), 400);
    EXPECT_NE(e.message().find(name), std::string::npos) << e.message();
  }
  try {
    client_->get_run("0123456789abcdef0123456789abcdef");
    FAIL() << "an unknown run was found";
  } catch (const mlflow_api_error& e) {
    EXPECT_EQ(e.code(), mlflow_code::resource_does_not_exist);
    EXPECT_EQ(e.http_status(), 404);
  }
  auto model = unique("dup_model");
  client_->create_registered_model(model);
  EXPECT_EQ(error_of([&] { client_->create_registered_model(model); }), "RESOURCE_ALREADY_EXISTS");
  EXPECT_EQ(error_of([&] { client_->get_model_version(model, 7); }), "RESOURCE_DOES_NOT_EXIST");
  EXPECT_EQ(error_of([&] { client_->set_alias(model, "production", 7); }), "RESOURCE_DOES_NOT_EXIST");

  auto run = new_run("bad-input");
  EXPECT_EQ(error_of([&] { client_->log_param(run.run_id, std::string(300, 'k'), "v"); }),
            "INVALID_PARAMETER_VALUE");
  client_->log_param(run.run_id, "lr", "0.1");
  // A param never changes once logged.
  EXPECT_EQ(error_of([&] { client_->log_param(run.run_id, "lr", "0.2"); }), "INVALID_PARAMETER_VALUE");
}

TEST_F(mlflow_server, a_server_that_is_down_is_a_transport_error) {
  // A port that was free a moment ago: nothing listens there.
  auto config = mlflow_config_from_uri("http://127.0.0.1:1");
  config.attempts = 3;
  config.backoff = std::chrono::milliseconds{10};
  mlflow_client down(config);
  auto started = std::chrono::steady_clock::now();
  try {
    down.get_experiment("0");
    FAIL() << "an answer came from a port where nothing listens";
  } catch (const mlflow_transport_error& e) {
    EXPECT_NE(std::string{e.what()}.find("3 tries"), std::string::npos) << e.what();
  }
  EXPECT_EQ(error_of([&] { down.create_experiment("x"); }), "transport");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{5});
}

TEST_F(mlflow_server, mlflows_python_client_reads_what_expd_wrote) {
  auto run = new_run("python");
  std::vector<mlflow_metric> losses;
  for (int step = 0; step < 1200; ++step)
    losses.push_back({"val_loss", 1.0 / (step + 1), t0 + step, step});
  client_->log_batch(run.run_id, losses, {{"learning_rate", "0.0002"}, {"batch_size", "16"}},
                     {{"policy_id", "planner"}});
  auto weights = random_bytes(1024 * 1024);
  client_->upload_artifact(run.artifact_uri, "model/weights.bin", weights);
  client_->update_run(run.run_id, mlflow_run_status::finished, t0 + 5000);
  auto name = unique("planner_model");
  client_->create_registered_model(name);
  client_->create_model_version(name, run.artifact_uri + "/model", run.run_id);
  client_->create_model_version(name, run.artifact_uri + "/model", run.run_id);
  client_->set_alias(name, "production", 2);
  client_->set_alias(name, "candidate", 1);
  client_->set_model_version_tag(name, 2, "stage", "production");

  auto output = run_command(std::string{EXPD_SOURCE_DIR} + "/var/venv/bin/python " + EXPD_SOURCE_DIR
                            + "/tests/mlflow/mlflow_reference.py " + run.run_id + " val_loss "
                            + name + " model/weights.bin 2>&1");
  // The answer is the last line; warnings may come before it.
  auto last_line = output.substr(output.rfind('\n', output.size() - 2) + 1);
  auto read = nlohmann::json::parse(last_line, nullptr, false);
  ASSERT_TRUE(read.is_object()) << output;
  EXPECT_EQ(read["status"], "FINISHED");
  EXPECT_EQ(read["end_time"], t0 + 5000);
  EXPECT_EQ(read["params"], (nlohmann::json{{"batch_size", "16"}, {"learning_rate", "0.0002"}}));
  EXPECT_EQ(read["tags"], (nlohmann::json{{"policy_id", "planner"}}));
  ASSERT_EQ(read["history"].size(), 1200u);
  for (int step = 0; step < 1200; ++step) {
    EXPECT_EQ(read["history"][step][0], step);
    EXPECT_DOUBLE_EQ(read["history"][step][1].get<double>(), 1.0 / (step + 1));
  }
  EXPECT_EQ(read["production_version"], 2);
  EXPECT_EQ(read["production_stage_tag"], "production");
  EXPECT_EQ(read["production_run_id"], run.run_id);
  EXPECT_EQ(read["aliases"], (nlohmann::json{{"candidate", 1}, {"production", 2}}));
  EXPECT_EQ(read["artifact_sha256"], expd::core::sha256_hex(weights));
}

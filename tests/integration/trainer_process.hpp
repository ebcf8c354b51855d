#pragma once

// What the tests that train need: a process of theirs (expd-trainer), the tiny
// checkpoint with its tokenizer and the planning corpus as a dataset (made once per
// suite), and a training job over them.
#include <csignal>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <spawn.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "tests/integration/expd_process.hpp"
#include "tests/support/run_command.hpp"

extern char** environ;

namespace expd::testing {

namespace fs = std::filesystem;
using nlohmann::json;

// A process of the test's (expd-trainer), killed at the end if it still runs.
class child {
public:
  child(std::vector<std::string> argv, const std::string& log) {
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    if (posix_spawn(&pid_, args[0], &files, nullptr, args.data(), environ) != 0)
      pid_ = -1;
    posix_spawn_file_actions_destroy(&files);
  }
  ~child() {
    kill(SIGKILL);
  }
  void kill(int sig) {
    if (pid_ > 0) {
      ::kill(pid_, sig);
      ::waitpid(pid_, nullptr, 0);
      pid_ = -1;
    }
  }
  bool running() const {
    return pid_ > 0 && ::waitpid(pid_, nullptr, WNOHANG) == 0;
  }

private:
  pid_t pid_ = -1;
};

// The tiny checkpoint of the tokenizer's vocabulary with that tokenizer beside it, and
// the planning corpus as a Parquet dataset: made once for the suite.
struct training_inputs {
  fs::path dir, model, dataset;
};

inline const training_inputs& inputs() {
  static const training_inputs made = [] {
    training_inputs in;
    in.dir = fs::temp_directory_path() / ("expd-trainer-inputs-" + std::to_string(::getpid()));
    in.model = in.dir / "model";
    in.dataset = in.dir / "datasets" / "training.parquet";
    fs::create_directories(in.dataset.parent_path());
    auto run = [](const std::string& command) {
      auto r = expd::test::run_command(command + " 2>&1");
      if (r.status != 0)
        throw std::runtime_error(command + " failed: " + r.out);
    };
    run(std::string{EXPD_TORCH_PYTHON} + " " + EXPD_SOURCE_DIR + "/tests/gpu/make_tiny_checkpoint.py sized "
        + in.model.string() + " 384");
    run(std::string{EXPD_SOURCE_DIR} + "/tools/tiny-tokenizer.sh --vocab 384 --corpus-bin "
        + EXPD_CORPUS_BINARY + " " + in.model.string());
    run(std::string{EXPD_CORPUS_BINARY} + " --rows=96 --seed=7 --validation=0.2 --format=parquet --out="
        + in.dataset.string());
    return in;
  }();
  return made;
}

inline json job_of(const std::string& name, const fs::path& output, std::uint64_t steps) {
  return {{"name", name},
          {"dataset", inputs().dataset.string()},
          {"base_model", inputs().model.string()},
          {"output", output.string()},
          {"lora", {{"rank", 4}, {"alpha", 8}, {"dropout", 0.0}, {"target_modules", {"q_proj", "v_proj"}}}},
          {"optimizer", {{"learning_rate", 0.01}, {"warmup_steps", 2}}},
          {"batch_size", 4},
          {"max_steps", steps},
          {"sequence_length", 512},
          {"checkpoint_every_steps", 3},
          {"eval_every_steps", 3},
          {"seed", 3}};
}

// Runs `command`, failing the test with its output unless it exits 0.
inline void run_ok(const std::string& command) {
  auto r = expd::test::run_command(command + " 2>&1");
  ASSERT_EQ(r.status, 0) << command << "\n" << r.out;
}

// What MLflow's REST API says of a registered model's version (its tags, aliases,
// run); null when it has none such.
inline json registered_version(const std::string& model, int version) {
  auto r = expd::test::run_command("curl -s '" + required_env("MLFLOW_TRACKING_URI", "MLflow")
                                   + "/api/2.0/mlflow/model-versions/get?name=" + model
                                   + "&version=" + std::to_string(version) + "'");
  return json::parse(r.out, nullptr, false)["model_version"];
}

inline bool has_alias(const json& version, const std::string& alias) {
  for (auto& a : version.value("aliases", json::array()))
    if (a == alias)
      return true;
  return false;
}

inline bool has_tag(const json& version, const std::string& key, const std::string& value) {
  for (auto& t : version.value("tags", json::array()))
    if (t["key"] == key && t["value"] == value)
      return true;
  return false;
}

// Submits the training job `doc` to `node`, waits for it to succeed and for MLflow to
// hold `model`'s version `version`; fails the test (with the trainer's log) otherwise.
inline void train_and_register(const expd_process& node, const json& doc, const std::string& model, int version,
                               const fs::path& trainer_log) {
  auto created = node.request("POST", "/admin/v1/training-jobs", doc.dump(), true);
  ASSERT_EQ(created.status, 201) << created.body;
  json job;
  ASSERT_TRUE(eventually(
    [&] {
      job = node.request("GET", "/admin/v1/training-jobs/" + created.json()["id"].get<std::string>(), "", true).json();
      return job["status"] == "succeeded" || job["status"] == "failed";
    },
    1800));
  ASSERT_EQ(job["status"], "succeeded") << job.dump() << read_file(trainer_log.string());
  ASSERT_TRUE(eventually([&] { return registered_version(model, version).is_object(); }, 300));
}

// A name no earlier run used: MLflow keeps experiments and models between runs.
inline std::string unique_name(const std::string& name) {
  return name + "-" + std::to_string(::getpid()) + "-" + std::to_string(std::time(nullptr));
}

} // namespace expd::testing

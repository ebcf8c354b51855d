// Trainer workers (expd-trainer) on a real expd: a job sent over HTTP is tokenised,
// trained with LoRA on the generated tiny checkpoint and its tokenizer, and leaves its
// adapter; a bad job fails naming its fault and the worker takes the next; a cancelled
// job stops; a worker killed mid-run is a failure the job resumes from its checkpoint.
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <ctime>
#include <fstream>
#include <map>
#include <spawn.h>
#include <sys/wait.h>

#include <gtest/gtest.h>

#include "tests/integration/expd_process.hpp"
#include "tests/integration/trainer_process.hpp"
#include "tests/support/run_command.hpp"
#include "tests/support/tcp_forwarder.hpp"

extern char** environ;

using namespace expd::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

const std::string jobs = "/admin/v1/training-jobs";

class trainer_worker : public ::testing::Test {
protected:
  void SetUp() override {
    inputs();
    out = fs::temp_directory_path() / ("expd-trainer-" + std::to_string(::getpid()) + "-"
                                       + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(out);
    fs::create_directories(out);
    node = std::make_unique<expd_process>(
      db, std::vector<std::string>{"--trainer-listen=" + listen,
                                   "--mlflow=" + required_env("MLFLOW_TRACKING_URI", "MLflow")});
    start_trainer();
  }

  void start_trainer(int workers = 1) {
    trainer = std::make_unique<child>(
      std::vector<std::string>{EXPD_TRAINER_BINARY, "--registry=" + listen, "--threads=1",
                               "--workers=" + std::to_string(workers)},
      (out / "trainer.log").string());
  }

  std::string submit(const json& doc) {
    auto created = node->request("POST", jobs, doc.dump(), true);
    EXPECT_EQ(created.status, 201) << created.body;
    return created.json().value("id", "");
  }

  json job(const std::string& id) {
    return node->request("GET", jobs + "/" + id, "", true).json();
  }

  // Waits until the job's status is `status` (up to `seconds`), and returns the job.
  json until(const std::string& id, const std::string& status, int seconds = 120) {
    json last;
    auto settled = [&] {
      auto now = (last = job(id))["status"];
      return now == status || now == "succeeded" || now == "failed" || now == "cancelled";
    };
    eventually(settled, seconds * 10);
    EXPECT_EQ(last["status"], status) << last.dump() << "\ntrainer log:\n" << read_file((out / "trainer.log").string());
    return last;
  }

  std::vector<std::string> log_messages(const std::string& id) {
    std::vector<std::string> messages;
    // The rows held by name: a loop over a temporary's ["logs"] would read freed memory.
    auto rows = node->request("GET", jobs + "/" + id + "/logs", "", true).json()["logs"];
    for (auto& row : rows)
      if (row["message"].is_string())
        messages.push_back(row["message"]);
    return messages;
  }

  // What MLflow's Python client reads of the job's run and the model's versions.
  static json mlflow_read(const std::string& experiment, const std::string& id, const std::string& model) {
    auto reply = expd::test::run_command(std::string{EXPD_SOURCE_DIR} + "/var/venv/bin/python " + EXPD_SOURCE_DIR
                                         + "/tests/integration/mlflow_training_run.py " + experiment + " "
                                         + id + " " + model + " 2>&1");
    // The answer is the last line; warnings may come before it.
    auto read = json::parse(reply.out.substr(reply.out.rfind('\n', reply.out.size() - 2) + 1), nullptr, false);
    EXPECT_TRUE(read.is_object()) << reply.out;
    return read;
  }

  // A job of 6 steps whose run goes to a fresh experiment and model of this test's.
  json tracked_job(const std::string& experiment, const std::string& model) {
    auto doc = job_of("tracked", out / "tracked", 6);
    doc["mlflow"] = {{"experiment", experiment},
                     {"register_model", model},
                     {"tags", {{"policy_id", "planner_policy"}, {"dataset_version", "2026-12-01"},
                               {"task", "meal_planning"}}}};
    return doc;
  }

  scratch_database db;
  std::string listen = "127.0.0.1:" + std::to_string(free_port());
  fs::path out;
  std::unique_ptr<expd_process> node;
  std::unique_ptr<child> trainer;
};

::testing::AssertionResult has_text(const std::vector<std::string>& lines, const std::string& text) {
  std::string all;
  for (auto& l : lines) {
    if (l.find(text) != std::string::npos)
      return ::testing::AssertionSuccess();
    all += "\n  " + l;
  }
  return ::testing::AssertionFailure() << "no line has \"" << text << "\" among:" << all;
}

} // namespace

TEST_F(trainer_worker, a_job_sent_over_http_trains_and_leaves_its_adapter_and_curves) {
  auto id = submit(job_of("planner-lora", out / "run", 6));
  auto done = until(id, "succeeded");
  EXPECT_EQ(done["step"], 6);
  EXPECT_EQ(done["total_steps"], 6);
  EXPECT_GT(done["loss"].get<double>(), 0.0);
  EXPECT_GT(done["tokens"].get<std::uint64_t>(), 0u);
  EXPECT_GT(done["tokens_per_second"].get<double>(), 0.0);
  EXPECT_EQ(done["checkpoint"], (out / "run" / "checkpoint").string());
  EXPECT_TRUE(fs::exists(out / "run" / "adapter" / "adapter_config.json"));
  EXPECT_TRUE(fs::exists(out / "run" / "adapter" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(out / "run" / "checkpoint" / "optimizer.pt"));
  // Two evaluations (steps 3 and 6) of the validation split, and the curve falls.
  std::ifstream metrics(out / "run" / "metrics.jsonl");
  std::vector<json> evals;
  for (std::string line; std::getline(metrics, line);)
    evals.push_back(json::parse(line));
  ASSERT_EQ(evals.size(), 2u);
  EXPECT_EQ(evals[0]["step"], 3);
  EXPECT_LT(evals[1]["validation_loss"].get<double>(), evals[0]["validation_loss"].get<double>());
  EXPECT_TRUE(has_text(log_messages(id), "started on 1 trainer worker"));
  // A progress row per step: the loss curve the logs show.
  json rows = node->request("GET", jobs + "/" + id + "/logs", "", true).json()["logs"];
  int steps = 0;
  for (auto& row : rows)
    steps += row["loss"].is_number();
  EXPECT_EQ(steps, 6);
}

TEST_F(trainer_worker, a_bad_job_fails_naming_its_fault_and_the_worker_takes_the_next) {
  auto bad = job_of("no-dataset", out / "bad", 3);
  bad["dataset"] = (out / "missing.parquet").string();
  auto id = submit(bad);
  auto failed = until(id, "failed");
  EXPECT_NE(failed["error"].get<std::string>().find("missing.parquet"), std::string::npos) << failed.dump();
  // The job's own fault: not retried.
  EXPECT_EQ(failed["failures"], 1);

  auto good = submit(job_of("after-a-bad-one", out / "good", 3));
  until(good, "succeeded");
  EXPECT_TRUE(trainer->running());
}

TEST_F(trainer_worker, a_cancelled_job_stops_at_a_step) {
  auto id = submit(job_of("long", out / "long", 100000));
  json running;
  eventually([&] { return (running = job(id))["step"].get<std::uint64_t>() >= 2; }, 1200);
  ASSERT_GE(running["step"].get<std::uint64_t>(), 2u) << running.dump();
  auto asked = node->request("POST", jobs + "/" + id + "/cancel", "", true);
  EXPECT_EQ(asked.status, 202) << asked.body;
  auto cancelled = until(id, "cancelled", 60);
  EXPECT_LT(cancelled["step"].get<std::uint64_t>(), 100000u);
  EXPECT_TRUE(trainer->running());
}

TEST_F(trainer_worker, a_worker_killed_mid_run_is_a_failure_the_job_resumes_from_its_checkpoint) {
  auto id = submit(job_of("resumed", out / "resumed", 15));
  json running;
  eventually([&] { return (running = job(id))["checkpoint"].is_string(); }, 1200);
  ASSERT_TRUE(running["checkpoint"].is_string()) << running.dump();
  trainer->kill(SIGKILL);
  auto queued = until(id, "queued", 30);
  EXPECT_EQ(queued["failures"], 1);
  start_trainer();
  auto done = until(id, "succeeded", 240);
  EXPECT_EQ(done["step"], 15);
  EXPECT_TRUE(has_text(log_messages(id), "resuming from " + (out / "resumed" / "checkpoint").string()));
  // The second run went on from the checkpoint's step, not from the start.
  json rows = node->request("GET", jobs + "/" + id + "/logs", "", true).json()["logs"];
  bool resumed = false;
  for (auto& row : rows) {
    if (row["message"].is_string() && row["message"].get<std::string>().find("resuming") != std::string::npos)
      resumed = true;
    else if (resumed && row["loss"].is_number()) {
      EXPECT_GE(row["step"].get<int>(), 4) << "the first step after resuming";
      break;
    }
  }
  EXPECT_TRUE(resumed);
}

// Two workers of one trainer run the two ranks of one job; they meet through c10d gloo.
TEST_F(trainer_worker, two_ranks_of_a_job_train_together_on_two_workers) {
  trainer->kill(SIGKILL);
  start_trainer(2);
  auto doc = job_of("two-ranks", out / "ranks", 4);
  doc["ranks"] = 2;
  doc["batch_size"] = 2;
  auto id = submit(doc);
  auto done = until(id, "succeeded");
  EXPECT_EQ(done["step"], 4);
  EXPECT_EQ(done["ranks"], 2);
  EXPECT_TRUE(has_text(log_messages(id), "started on 2 trainer workers"));
  EXPECT_TRUE(fs::exists(out / "ranks" / "adapter" / "adapter_model.safetensors"));
  EXPECT_TRUE(fs::exists(out / "ranks" / ".rendezvous"));
}

// The job's MLflow run, as MLflow's own Python client reads it: spec 8's params and tags,
// a loss per step and the validation curve, the adapter, tokenizer and config, the run
// ended, and a new version of the registered model linked to it.
TEST_F(trainer_worker, a_successful_job_is_an_mlflow_run_and_a_registered_version) {
  auto experiment = unique_name("planner-training"), model = unique_name("planner_model");
  auto id = submit(tracked_job(experiment, model));
  until(id, "succeeded");
  // The tracker logs the end after the job's row says succeeded.
  EXPECT_TRUE(eventually([&] { return has_text(log_messages(id), "mlflow: registered " + model); }, 300))
    << ::testing::PrintToString(log_messages(id));
  auto read = mlflow_read(experiment, id, model);
  ASSERT_TRUE(read.is_object());
  EXPECT_EQ(read["runs"], 1);
  EXPECT_EQ(read["status"], "FINISHED");
  EXPECT_EQ(read["params"]["learning_rate"], "0.01");
  EXPECT_EQ(read["params"]["batch_size"], "4");
  EXPECT_EQ(read["params"]["max_steps"], "6");
  EXPECT_EQ(read["params"]["dataset_version"], "2026-12-01");
  EXPECT_EQ(read["params"]["dataset"], inputs().dataset.string());
  EXPECT_EQ(read["tags"]["policy_id"], "planner_policy");
  EXPECT_EQ(read["tags"]["task"], "meal_planning");
  EXPECT_EQ(read["tags"]["expd.job_id"], id);
  ASSERT_EQ(read["loss"].size(), 6u);
  EXPECT_EQ(read["loss"][0][0], 1);
  // The losses MLflow holds are the job's log rows, step for step.
  json rows = node->request("GET", jobs + "/" + id + "/logs", "", true).json()["logs"];
  std::map<int, double> logged;
  for (auto& row : rows)
    if (row["loss"].is_number())
      logged[row["step"].get<int>()] = row["loss"].get<double>();
  for (auto& point : read["loss"])
    EXPECT_DOUBLE_EQ(point[1].get<double>(), logged.at(point[0].get<int>()));
  EXPECT_EQ(read["validation_loss"].size(), 2u);
  for (auto* file : {"adapter/adapter_config.json", "adapter/adapter_model.safetensors", "metrics.jsonl",
                     "config/config.json", "tokenizer/tokenizer.model", "tokenizer/tokenizer_config.json"})
    EXPECT_NE(std::find(read["artifacts"].begin(), read["artifacts"].end(), file), read["artifacts"].end())
      << file << " in " << read["artifacts"].dump();
  auto sha = expd::test::run_command("sha256sum " + (out / "tracked" / "adapter" / "adapter_model.safetensors").string());
  EXPECT_EQ(sha.out.substr(0, 64), read["adapter_sha256"]);
  ASSERT_EQ(read["versions"].size(), 1u);
  EXPECT_EQ(read["versions"][0]["version"], 1);
  EXPECT_EQ(read["versions"][0]["run_id"], read["run_id"]);
  EXPECT_EQ(read["versions"][0]["tags"]["dataset_version"], "2026-12-01");
  EXPECT_EQ(read["versions"][0]["tags"]["expd.job_id"], id);
}

// MLflow away while a job trains: the job is not held up, and once MLflow answers again
// the tracker logs the whole run and registers the version.
TEST_F(trainer_worker, mlflow_away_delays_the_logging_not_the_job) {
  auto uri = expd::testing::required_env("MLFLOW_TRACKING_URI", "MLflow");
  auto mlflow_port = std::stoi(uri.substr(uri.rfind(':') + 1));
  expd::testing::tcp_forwarder away{"127.0.0.1", free_port()};
  trainer->kill(SIGKILL);
  node.reset();
  node = std::make_unique<expd_process>(
    db, std::vector<std::string>{"--trainer-listen=" + listen,
                                 "--mlflow=http://127.0.0.1:" + std::to_string(away.port())});
  start_trainer();
  auto experiment = unique_name("away-training"), model = unique_name("away_model");
  auto id = submit(tracked_job(experiment, model));
  until(id, "succeeded");
  EXPECT_FALSE(has_text(log_messages(id), "mlflow: run"));

  away.retarget(mlflow_port);
  EXPECT_TRUE(eventually([&] { return has_text(log_messages(id), "mlflow: registered " + model); }, 300))
    << ::testing::PrintToString(log_messages(id));
  auto read = mlflow_read(experiment, id, model);
  EXPECT_EQ(read["runs"], 1);
  EXPECT_EQ(read["status"], "FINISHED");
  EXPECT_EQ(read["loss"].size(), 6u);
  EXPECT_EQ(read["validation_loss"].size(), 2u);
  EXPECT_EQ(read["versions"].size(), 1u);
}

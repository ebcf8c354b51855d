// /admin/v1/training-jobs on a real expd, and `expctl train` against it. No trainer
// worker registers here (trainer_worker_test.cpp starts one): jobs stay queued and say why.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include "tests/integration/expd_process.hpp"

using namespace expd::testing;
using nlohmann::json;

namespace {

const std::string jobs = "/admin/v1/training-jobs";
const std::string example = std::string{EXPD_SOURCE_DIR} + "/jobs/planner-lora.example.yml";

json job_doc() {
  return {{"name", "planner-lora"}, {"dataset", "d.parquet"}, {"base_model", "m"}, {"max_steps", 10}};
}

std::string field_of(const http_reply& reply) {
  return reply.json()["error"].value("field", "");
}

std::string code_of(const http_reply& reply) {
  return reply.json()["error"].value("code", "");
}

} // namespace

TEST(training_jobs, submit_list_get_logs_and_cancel) {
  scratch_database db;
  expd_process node{db};
  auto created = node.request("POST", jobs, job_doc().dump(), true);
  ASSERT_EQ(created.status, 201) << created.body;
  auto job = created.json();
  auto id = job["id"].get<std::string>();
  EXPECT_EQ(job["status"], "queued");
  EXPECT_EQ(job["reason"], "no trainer worker is registered on this node");
  EXPECT_EQ(job["total_steps"], 10);
  EXPECT_EQ(job["spec"]["optimizer"]["schedule"], "cosine");
  EXPECT_EQ(db.scalar("SELECT status FROM exp.training_jobs WHERE id = '" + id + "'"), "queued");

  auto list = node.request("GET", jobs, "", true);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.json()["jobs"].size(), 1u);
  EXPECT_EQ(list.json()["jobs"][0]["id"], id);
  auto one = node.request("GET", jobs + "/" + id, "", true);
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.json()["name"], "planner-lora");
  auto logs = node.request("GET", jobs + "/" + id + "/logs?after=0&limit=10", "", true);
  ASSERT_EQ(logs.status, 200) << logs.body;
  EXPECT_EQ(logs.json()["logs"].size(), 0u);
  EXPECT_EQ(logs.json()["job"]["status"], "queued");

  auto cancelled = node.request("POST", jobs + "/" + id + "/cancel", "", true);
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(cancelled.json()["status"], "cancelled");
  // Twice is answered as once (docs/api.md).
  auto again = node.request("POST", jobs + "/" + id + "/cancel", "", true);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.json()["status"], "cancelled");
  auto log_rows = node.request("GET", jobs + "/" + id + "/logs", "", true).json()["logs"];
  ASSERT_EQ(log_rows.size(), 1u);
  EXPECT_EQ(log_rows[0]["message"], "cancelled while queued");

  auto dry = node.request("POST", jobs + "?dry_run=true", job_doc().dump(), true);
  EXPECT_EQ(dry.status, 200);
  EXPECT_EQ(dry.json()["dry_run"], true);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.training_jobs"), "1");
}

TEST(training_jobs, bad_input) {
  scratch_database db;
  expd_process node{db};
  auto no_token = node.request("POST", jobs, job_doc().dump());
  EXPECT_EQ(no_token.status, 401);
  EXPECT_EQ(field_of(no_token), "Authorization");
  EXPECT_EQ(node.request("GET", jobs).status, 401);

  auto malformed = node.request("POST", jobs, "{\"name\":", true);
  EXPECT_EQ(malformed.status, 400);
  EXPECT_EQ(code_of(malformed), "invalid_json");
  auto twice = node.request("POST", jobs, R"({"name":"a","name":"b"})", true);
  EXPECT_EQ(twice.status, 400);
  EXPECT_EQ(field_of(twice), "name");

  auto bad = job_doc();
  bad["optimizer"] = {{"learning_rate", -1}};
  auto bad_field = node.request("POST", jobs, bad.dump(), true);
  EXPECT_EQ(bad_field.status, 400);
  EXPECT_EQ(field_of(bad_field), "optimizer.learning_rate");
  auto missing = job_doc();
  missing.erase("dataset");
  EXPECT_EQ(field_of(node.request("POST", jobs, missing.dump(), true)), "dataset");
  EXPECT_EQ(field_of(node.request("POST", jobs + "?dry_run=maybe", job_doc().dump(), true)),
            "dry_run");

  const std::string unknown = "0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b";
  for (auto& path : {jobs + "/" + unknown, jobs + "/" + unknown + "/logs"}) {
    auto reply = node.request("GET", path, "", true);
    EXPECT_EQ(reply.status, 404) << path;
    EXPECT_EQ(field_of(reply), "id");
  }
  EXPECT_EQ(node.request("POST", jobs + "/" + unknown + "/cancel", "", true).status, 404);
  EXPECT_EQ(field_of(node.request("GET", jobs + "/not-a-uuid", "", true)), "id");
  EXPECT_EQ(field_of(node.request("GET", jobs + "/" + unknown + "/logs?after=x", "", true)),
            "after");
  EXPECT_EQ(node.request("GET", jobs + "/" + unknown + "/cancel", "", true).status, 405);
  EXPECT_EQ(node.request("DELETE", jobs, "", true).status, 405);
  EXPECT_EQ(node.request("GET", jobs + "/" + unknown + "/other", "", true).status, 404);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM exp.training_jobs"), "0");
}

TEST(training_jobs, expctl_train) {
  scratch_database db;
  expd_process node{db};
  auto sent = run_expctl(node, "train -f " + example);
  ASSERT_EQ(sent.status, 0) << sent.out;
  auto id = sent.out.substr(0, sent.out.find('\n'));
  EXPECT_EQ(db.scalar("SELECT name FROM exp.training_jobs WHERE id = '" + id + "'"),
            "planner-lora-example");
  // The example trains for epochs: the total is not known before a worker reads the data.
  auto status = run_expctl(node, "train status " + id);
  ASSERT_EQ(status.status, 0) << status.out;
  EXPECT_NE(status.out.find("queued"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("step 0 of ?"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("waiting: no trainer worker is registered on this node"),
            std::string::npos)
    << status.out;
  auto listed = run_expctl(node, "train list");
  EXPECT_NE(listed.out.find(id), std::string::npos) << listed.out;
  EXPECT_EQ(run_expctl(node, "train -f " + example + " --dry-run").out,
            "dry run: the job is valid; nothing stored\n");

  auto cancel = run_expctl(node, "train cancel " + id);
  ASSERT_EQ(cancel.status, 0) << cancel.out;
  EXPECT_EQ(cancel.out, id + ": cancelled\n");
  // Follows until the job ended, which it has.
  auto logs = run_expctl(node, "train logs -f " + id);
  ASSERT_EQ(logs.status, 0) << logs.out;
  EXPECT_NE(logs.out.find("cancelled while queued"), std::string::npos) << logs.out;
  EXPECT_NE(logs.out.find("job cancelled"), std::string::npos) << logs.out;

  auto unknown = run_expctl(node, "train status 0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b");
  EXPECT_EQ(WEXITSTATUS(unknown.status), 1) << unknown.out;
  EXPECT_NE(unknown.out.find("no training job has the id"), std::string::npos) << unknown.out;
  auto usage = run_expctl(node, "train frobnicate");
  EXPECT_EQ(WEXITSTATUS(usage.status), 2) << usage.out;
}

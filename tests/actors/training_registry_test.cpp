// The training registry against a scratch PostgreSQL and fake trainer workers that the
// test drives (recording_fakes.hpp): what it stores, whom it hands a job to, and what a
// job becomes when its ranks report, fail or die (docs/gpu.md, "Training jobs").
#include <gtest/gtest.h>

#include <thread>

#include "actor_system_fixture.hpp"
#include "actors/training/training_registry.hpp"
#include "core/training_job.hpp"
#include "recording_fakes.hpp"
#include "runtime/migrations.hpp"
#include "tests/integration/expd_process.hpp"

using namespace expd;
using namespace std::chrono_literals;
using nlohmann::json;
using entry = test::journal::entry;
using entries = std::vector<entry>;

namespace {

json job_doc(std::uint32_t ranks = 1, std::uint32_t max_failures = 2) {
  return {{"name", "planner-lora"}, {"dataset", "d.parquet"}, {"base_model", "m"},
          {"max_steps", 10},        {"ranks", ranks},         {"max_failures", max_failures}};
}

std::size_t count(const entries& es, const std::string& what, const std::string& job = "") {
  return std::count_if(es.begin(), es.end(), [&](const entry& e) {
    return e.what == what && (job.empty() || e.job == job);
  });
}

// The newest entry of `what` for `job`.
const entry* last(const entries& es, const std::string& what, const std::string& job) {
  for (auto it = es.rbegin(); it != es.rend(); ++it)
    if (it->what == what && it->job == job)
      return &*it;
  return nullptr;
}

struct training_registry_test : test::actor_system_fixture {
  training_registry_test() {
    runtime::migrate(db.url());
    registry = spawn_training_registry(sys, {db.url(), 100ms, 100, 1s});
  }

  ~training_registry_test() override {
    // Before the database goes: the registry holds a connection to it.
    self->send_exit(registry, caf::exit_reason::user_shutdown);
    self->wait_for(registry);
    for (auto& w : workers)
      self->send_exit(w, caf::exit_reason::user_shutdown);
  }

  test::fake_trainer_actor add_worker(const std::string& name) {
    auto w = sys.spawn(test::fake_trainer, log, name, registry);
    workers.push_back(w);
    caf::anon_send(registry, atom::subscribe::value, caf::actor_cast<trainer_worker_actor>(w));
    return w;
  }

  // An answer of the registry: its status and JSON, or the refusal's code and field.
  struct answer {
    int status = 0;
    json body;
    std::string field;
  };

  template <class... Ts>
  answer ask(Ts&&... xs) {
    answer out;
    self->request(registry, 10s, std::forward<Ts>(xs)...)
      .receive(
        [&](api_reply& r) {
          out.status = r.status;
          out.body = json::parse(r.body);
        },
        [&](caf::error& err) {
          out.status = -static_cast<int>(expd_code(err));
          out.field = error_field(err);
        });
    return out;
  }

  std::string submit(const json& doc) {
    auto a = ask(atom::submit::value, doc.dump(), false);
    EXPECT_EQ(a.status, 201) << a.body;
    return a.body.value("id", "");
  }

  json job(const std::string& id) {
    return ask(atom::get::value, id).body;
  }

  bool status_becomes(const std::string& id, const std::string& status) {
    return expd::testing::eventually([&] { return job(id)["status"] == status; }, 100);
  }

  // Waits for the `n`th train message of `job` and answers it.
  entry trained(const std::string& id, std::size_t n = 1) {
    EXPECT_TRUE(log->wait_until([&](const entries& es) { return count(es, "train", id) >= n; }))
      << "no train #" << n << " of " << id;
    auto es = log->entries();
    auto* e = last(es, "train", id);
    return e ? *e : entry{};
  }

  void report(const test::fake_trainer_actor& w, training_progress p) {
    caf::anon_send(w, atom::progress::value, std::move(p));
  }

  void finish(const test::fake_trainer_actor& w, const std::string& id, core::rank_result r,
              bool retriable = false, std::string error = "") {
    caf::anon_send(w, atom::finished::value, training_outcome{id, r, std::move(error), retriable});
  }

  expd::testing::scratch_database db;
  test::journal_ptr log = std::make_shared<test::journal>();
  training_registry_actor registry;
  std::vector<test::fake_trainer_actor> workers;
};

} // namespace

TEST_F(training_registry_test, a_job_runs_to_success_with_its_log) {
  auto w = add_worker("w0");
  auto id = submit(job_doc());
  auto e = trained(id);
  EXPECT_EQ(e.who, "w0");
  EXPECT_EQ(e.resume_from, "");
  EXPECT_EQ(e.run, 0u);
  EXPECT_EQ(e.value, 0u);
  EXPECT_EQ(e.observed, 1);
  EXPECT_TRUE(status_becomes(id, "running"));
  for (std::uint64_t step = 1; step <= 3; ++step)
    report(w, {id, step, 10, 3.0 - step * 0.5, 1e-4, 0.5, step * 1000, 500,
               step == 2 ? "ckpt/step-2" : ""});
  ASSERT_TRUE(expd::testing::eventually([&] { return job(id)["step"] == 3; }, 100));
  auto running = job(id);
  EXPECT_EQ(running["total_steps"], 10);
  EXPECT_DOUBLE_EQ(running["loss"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(running["tokens_per_second"].get<double>(), 500);
  // 1000 tokens per step at 500 tokens/s, 7 steps left.
  EXPECT_DOUBLE_EQ(running["eta_seconds"].get<double>(), 14);
  EXPECT_EQ(running["checkpoint"], "ckpt/step-2");
  EXPECT_EQ(running["spec"]["lora"]["rank"], 8);
  finish(w, id, core::rank_result::succeeded);
  ASSERT_TRUE(status_becomes(id, "succeeded"));
  EXPECT_FALSE(job(id)["finished_at"].is_null());
  EXPECT_TRUE(job(id)["eta_seconds"].is_null());

  auto logs = ask(atom::logs::value, id, std::uint64_t{0}, std::uint32_t{100}).body;
  auto& rows = logs["logs"];
  // started, three steps, succeeded.
  ASSERT_EQ(rows.size(), 5u) << logs;
  EXPECT_EQ(rows[0]["message"], "started on 1 trainer worker");
  EXPECT_EQ(rows[1]["step"], 1);
  EXPECT_DOUBLE_EQ(rows[3]["loss"].get<double>(), 1.5);
  EXPECT_EQ(rows[4]["message"], "succeeded");
  EXPECT_EQ(logs["job"]["status"], "succeeded");
  auto after = ask(atom::logs::value, id, std::uint64_t{3}, std::uint32_t{1}).body;
  ASSERT_EQ(after["logs"].size(), 1u);
  EXPECT_EQ(after["logs"][0]["seq"], 4);
  EXPECT_EQ(after["next_after"], 4);

  auto list = ask(atom::list::value).body;
  ASSERT_EQ(list["jobs"].size(), 1u);
  EXPECT_EQ(list["jobs"][0]["id"], id);
  // A finished job stays so: a cancel is refused, a late report is ignored.
  EXPECT_EQ(ask(atom::cancel::value, id).status, -static_cast<int>(ec::invalid_transition));
  report(w, {id, 9, 10, 0.1, 1e-4, 0.5, 9000, 500, ""});
  EXPECT_EQ(ask(atom::get::value, id).body["step"], 3);
}

TEST_F(training_registry_test, a_retriable_failure_resumes_from_the_checkpoint_up_to_max_failures) {
  auto w = add_worker("w0");
  auto id = submit(job_doc(1, 2));
  trained(id, 1);
  report(w, {id, 5, 10, 1.0, 1e-4, 0.5, 5000, 500, "ckpt/step-5"});
  ASSERT_TRUE(expd::testing::eventually([&] { return job(id)["step"] == 5; }, 100));
  finish(w, id, core::rank_result::failed, true, "NCCL: rank lost");
  auto second = trained(id, 2);
  EXPECT_EQ(second.resume_from, "ckpt/step-5");
  EXPECT_EQ(second.run, 1u); // the retry's ranks meet afresh
  EXPECT_TRUE(status_becomes(id, "running"));
  EXPECT_EQ(job(id)["failures"], 1);
  EXPECT_EQ(job(id)["error"], "NCCL: rank lost");
  report(w, {id, 7, 10, 0.9, 1e-4, 0.5, 7000, 500, "ckpt/step-7"});
  ASSERT_TRUE(expd::testing::eventually([&] { return job(id)["step"] == 7; }, 100));
  finish(w, id, core::rank_result::failed, true, "out of memory");
  EXPECT_EQ(trained(id, 3).resume_from, "ckpt/step-7");
  EXPECT_EQ(trained(id, 3).run, 2u);
  finish(w, id, core::rank_result::failed, true, "out of memory again");
  ASSERT_TRUE(status_becomes(id, "failed"));
  auto failed = job(id);
  EXPECT_EQ(failed["failures"], 3);
  EXPECT_EQ(failed["error"], "out of memory again");
  EXPECT_EQ(count(log->entries(), "train", id), 3u);
  auto rows = ask(atom::logs::value, id, std::uint64_t{0}, std::uint32_t{100}).body["logs"];
  std::vector<std::string> messages;
  for (auto& r : rows)
    if (r["message"].is_string())
      messages.push_back(r["message"]);
  ASSERT_FALSE(messages.empty());
  EXPECT_EQ(messages.back(), "failed: out of memory again");
  EXPECT_NE(std::find(messages.begin(), messages.end(),
                      "started on 1 trainer worker, resuming from ckpt/step-5"),
            messages.end());
}

TEST_F(training_registry_test, a_fault_of_the_job_itself_is_not_retried) {
  auto w = add_worker("w0");
  auto id = submit(job_doc(1, 3));
  trained(id);
  finish(w, id, core::rank_result::failed, false, "dataset: no such file d.parquet");
  ASSERT_TRUE(status_becomes(id, "failed"));
  EXPECT_EQ(job(id)["error"], "dataset: no such file d.parquet");
  EXPECT_EQ(count(log->entries(), "train", id), 1u);
}

TEST_F(training_registry_test, a_dying_worker_counts_as_a_failure_and_another_resumes) {
  auto w0 = add_worker("w0");
  auto id = submit(job_doc(1, 2));
  EXPECT_EQ(trained(id).who, "w0");
  report(w0, {id, 4, 10, 1.0, 1e-4, 0.5, 4000, 500, "ckpt/step-4"});
  ASSERT_TRUE(expd::testing::eventually([&] { return job(id)["step"] == 4; }, 100));
  auto w1 = add_worker("w1");
  caf::anon_send_exit(w0, caf::exit_reason::kill);
  auto second = trained(id, 2);
  EXPECT_EQ(second.who, "w1");
  EXPECT_EQ(second.resume_from, "ckpt/step-4");
  EXPECT_TRUE(status_becomes(id, "running"));
  EXPECT_EQ(job(id)["failures"], 1);
  EXPECT_EQ(job(id)["error"], "the trainer worker of rank 0 died");
  finish(w1, id, core::rank_result::succeeded);
  EXPECT_TRUE(status_becomes(id, "succeeded"));
}

TEST_F(training_registry_test, a_run_whose_node_went_quiet_is_retried_from_its_checkpoint) {
  // As a node that died mid-run left it: running for a registry that no longer reports.
  const std::string id = "0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b";
  auto spec = core::training_job_json(core::parse_training_job(job_doc(1, 2))).dump();
  db.scalar("INSERT INTO exp.training_jobs (id, name, spec, status, ranks, max_failures, runner,"
            " heartbeat_at, checkpoint, started_at) VALUES ('" + id + "', 'orphan', '" + spec
            + "', 'running', 1, 2, gen_random_uuid(), now() - interval '1 hour', 'ckpt/step-8',"
              " now())");
  auto w = add_worker("w0");
  EXPECT_EQ(trained(id).resume_from, "ckpt/step-8");
  EXPECT_TRUE(status_becomes(id, "running"));
  auto resumed = job(id);
  EXPECT_EQ(resumed["failures"], 1);
  EXPECT_NE(resumed["error"].get<std::string>().find("stopped reporting"), std::string::npos)
    << resumed;
  // This registry's own run is not taken for abandoned while it reports.
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(count(log->entries(), "train", id), 1u);
  finish(w, id, core::rank_result::succeeded);
  EXPECT_TRUE(status_becomes(id, "succeeded"));
}

TEST_F(training_registry_test, cancel_a_queued_job_at_once_and_a_running_one_once_confirmed) {
  auto queued = submit(job_doc());
  EXPECT_EQ(job(queued)["status"], "queued");
  EXPECT_EQ(job(queued)["reason"], "no trainer worker is registered on this node");
  auto first = ask(atom::cancel::value, queued);
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body["status"], "cancelled");
  // Twice is answered as once.
  auto again = ask(atom::cancel::value, queued);
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body["status"], "cancelled");

  auto w = add_worker("w0");
  auto running = submit(job_doc());
  trained(running);
  // The cancelled job was never handed out.
  EXPECT_EQ(count(log->entries(), "train", queued), 0u);
  auto asked = ask(atom::cancel::value, running);
  EXPECT_EQ(asked.status, 202);
  EXPECT_EQ(asked.body["status"], "running");
  EXPECT_EQ(asked.body["cancel_requested"], true);
  EXPECT_TRUE(log->wait_until([&](const entries& es) { return count(es, "cancel", running) == 1; }));
  EXPECT_EQ(ask(atom::cancel::value, running).status, 202);
  // The worker stops with a failure on its way out: still cancelled, not retried.
  finish(w, running, core::rank_result::failed, true, "interrupted");
  ASSERT_TRUE(status_becomes(running, "cancelled"));
  EXPECT_EQ(count(log->entries(), "train", running), 1u);
  EXPECT_EQ(ask(atom::cancel::value, running).status, 200);
}

TEST_F(training_registry_test, a_job_needing_more_ranks_than_workers_waits) {
  auto w0 = add_worker("w0");
  auto id = submit(job_doc(2));
  EXPECT_EQ(job(id)["status"], "queued");
  EXPECT_EQ(job(id)["reason"], "needs 2 ranks; this node has 1 trainer worker registered");
  // A narrower job behind it is not held up.
  auto narrow = submit(job_doc(1));
  EXPECT_EQ(trained(narrow).who, "w0");
  auto w1 = add_worker("w1");
  ASSERT_TRUE(expd::testing::eventually([&] {
    return job(id)["reason"] == "waiting for 2 idle trainer workers (1 idle)";
  }, 100));
  finish(w0, narrow, core::rank_result::succeeded);
  ASSERT_TRUE(log->wait_until([&](const entries& es) { return count(es, "train", id) == 2; }));
  std::set<std::uint64_t> ranks;
  for (auto& e : log->entries())
    if (e.what == "train" && e.job == id) {
      ranks.insert(e.value);
      EXPECT_EQ(e.observed, 2);
    }
  EXPECT_EQ(ranks, (std::set<std::uint64_t>{0, 1}));
  EXPECT_TRUE(status_becomes(id, "running"));
  EXPECT_EQ(job(id)["reason"], nullptr);
  // One rank failing stops the other, and the job is retried on both.
  finish(w1, id, core::rank_result::failed, true, "rank 1 lost");
  EXPECT_TRUE(log->wait_until([&](const entries& es) { return count(es, "cancel", id) >= 1; }));
  auto* cancelled = last(log->entries(), "cancel", id);
  ASSERT_NE(cancelled, nullptr);
  EXPECT_EQ(cancelled->who, "w0");
  finish(w0, id, core::rank_result::cancelled);
  EXPECT_TRUE(log->wait_until([&](const entries& es) { return count(es, "train", id) == 4; }));
  EXPECT_EQ(job(id)["failures"], 1);
}

TEST_F(training_registry_test, refusals_name_the_field) {
  auto bad = job_doc();
  bad["lora"] = {{"rank", 0}};
  auto a = ask(atom::submit::value, bad.dump(), false);
  EXPECT_EQ(a.status, -static_cast<int>(ec::invalid_field));
  EXPECT_EQ(a.field, "lora.rank");
  EXPECT_EQ(ask(atom::submit::value, std::string{"{"}, false).status,
            -static_cast<int>(ec::invalid_json));
  auto dry = ask(atom::submit::value, job_doc().dump(), true);
  EXPECT_EQ(dry.status, 200);
  EXPECT_EQ(dry.body["dry_run"], true);
  EXPECT_EQ(ask(atom::list::value).body["jobs"].size(), 0u);
  auto unknown = ask(atom::get::value, std::string{"0190a1b2-c3d4-4e5f-8a9b-0c1d2e3f4a5b"});
  EXPECT_EQ(unknown.status, -static_cast<int>(ec::not_found));
  EXPECT_EQ(unknown.field, "id");
}

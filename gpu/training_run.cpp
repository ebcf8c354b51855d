#include "gpu/training_run.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sys/wait.h>

#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <nlohmann/json.hpp>

#include "core/field_error.hpp"
#include "core/training_batches.hpp"
#include "core/training_job.hpp"
#include "gpu/checkpoint_error.hpp"
#include "gpu/lora.hpp"
#include "gpu/lora_trainer.hpp"
#include "gpu/rank_group.hpp"
#include "gpu/token_batches.hpp"

namespace expd::gpu {

namespace {

namespace fs = std::filesystem;

// A fault of the job itself: another try would fail the same way.
struct job_fault : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

// expd-tokenize into `out`: its exit 2 is the dataset's or tokenizer's fault (its one
// line says which), anything else a failure another try may not have.
void tokenize(const training_run_config& cfg, const core::training_job& job, const fs::path& out) {
  auto command = quoted(cfg.tokenize_binary) + " --dataset " + quoted(job.dataset) + " --tokenizer "
                 + quoted(job.base_model) + " --max-length " + std::to_string(job.sequence_length)
                 + " --out " + quoted(out.string()) + " 2>&1";
  auto* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr)
    throw std::runtime_error("cannot run " + cfg.tokenize_binary);
  std::string said;
  char buffer[4096];
  while (auto n = std::fread(buffer, 1, sizeof buffer, pipe))
    said.append(buffer, n);
  auto status = ::pclose(pipe);
  while (!said.empty() && (said.back() == '\n' || said.back() == '\r'))
    said.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
    return;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 2)
    throw job_fault("tokenising the dataset: " + said);
  throw std::runtime_error("expd-tokenize (" + cfg.tokenize_binary + ") failed with status "
                           + std::to_string(status) + ": " + said);
}

bool out_of_memory(const std::string& what) {
  return what.find("out of memory") != std::string::npos
         || what.find("DefaultCPUAllocator: can't allocate") != std::string::npos;
}

training_outcome run(const training_assignment& work, const training_run_config& cfg,
                     const std::atomic<bool>& cancel,
                     const std::function<void(const training_progress&)>& report) {
  core::training_job job;
  try {
    job = core::parse_training_job(nlohmann::json::parse(work.spec));
  } catch (const std::exception& e) {
    throw job_fault(std::string{"the job's spec: "} + e.what());
  }
  if (job.device == core::device_kind::cuda)
    throw job_fault("device cuda: this trainer worker runs on CPU");
  if (job.dtype != core::precision::fp32)
    throw job_fault("precision bf16 needs a GPU; this trainer worker runs fp32 on CPU");
  if (cfg.threads > 0)
    at::set_num_threads(cfg.threads);
  fs::path output = job.output;
  fs::create_directories(output);

  auto tokens = output / ("tokens-rank" + std::to_string(work.rank) + ".parquet");
  tokenize(cfg, job, tokens);
  runtime::token_rows data;
  try {
    data = runtime::read_token_rows(tokens.string());
  } catch (const runtime::dataset_error& e) {
    throw job_fault(e.what());
  }
  auto train_rows = rows_in_split(data, "train");
  auto validation_rows = rows_in_split(data, "validation");
  if (train_rows.empty())
    throw job_fault(job.dataset + ": no rows in the train split");
  core::training_batches plan(job, train_rows.size());
  auto total = core::total_optimizer_steps(job, train_rows.size());

  llama_model model = nullptr;
  try {
    model = load_llama_model(job.base_model);
  } catch (const checkpoint_error& e) {
    throw job_fault(e.what());
  }
  std::unique_ptr<lora_adapter> adapter;
  try {
    adapter = std::make_unique<lora_adapter>(model, job.lora, job.seed, job.base_model);
  } catch (const std::invalid_argument& e) {
    throw job_fault(std::string{"lora: "} + e.what());
  }
  lora_trainer trainer(model, *adapter, job.optimizer, total);
  if (!work.resume_from.empty())
    trainer.resume(work.resume_from);

  std::optional<rank_group> ranks;
  if (work.world_size > 1) {
    auto meet = output / ".rendezvous";
    fs::create_directories(meet);
    ranks.emplace((meet / ("run-" + std::to_string(work.run))).string(), work.rank,
                  work.world_size, cfg.gloo_host, cfg.join_timeout);
  }
  auto* group = ranks ? &*ranks : nullptr;
  // Padding sits after each row's tokens and is masked out of the loss; causal
  // attention never looks ahead at it, so its id does not matter.
  constexpr std::int64_t pad = 0;

  // Indices of the training plan are positions among the train rows.
  auto rows_of = [&](std::uint64_t step) {
    auto micro = plan.step_rows(step, work.rank);
    for (auto& m : micro)
      for (auto& i : m)
        i = train_rows[i];
    return micro;
  };
  auto evaluate = [&] {
    std::vector<std::vector<std::size_t>> batches;
    for (std::size_t i = 0; i < validation_rows.size(); i += job.batch_size)
      batches.emplace_back(validation_rows.begin() + static_cast<std::ptrdiff_t>(i),
                           validation_rows.begin()
                             + static_cast<std::ptrdiff_t>(std::min(validation_rows.size(), i + job.batch_size)));
    return trainer.evaluate(token_batches_of(data, batches, pad, job.sequence_length));
  };
  std::ofstream metrics;
  if (work.rank == 0)
    metrics.open(output / "metrics.jsonl", std::ios::app);

  std::uint64_t tokens_seen = 0;
  auto started = std::chrono::steady_clock::now();
  while (trainer.steps_done() < total) {
    auto stop = cancel.load() ? 1.0 : 0.0;
    if ((group ? group->sum(stop) : stop) > 0)
      return {work.job_id, core::rank_result::cancelled, "cancelled", false};
    auto step = trainer.steps_done();
    auto result = trainer.step(token_batches_of(data, rows_of(step), pad, job.sequence_length), group);
    tokens_seen += static_cast<std::uint64_t>(result.tokens);
    training_progress p;
    p.job_id = work.job_id;
    p.step = trainer.steps_done();
    p.total_steps = total;
    p.loss = result.loss;
    p.learning_rate = result.learning_rate;
    p.grad_norm = result.grad_norm;
    p.tokens = tokens_seen;
    std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - started;
    p.tokens_per_second = elapsed.count() > 0 ? static_cast<double>(tokens_seen) / elapsed.count() : 0;
    bool last = p.step == total;
    if (work.rank == 0 && job.checkpoint_every_steps > 0
        && (p.step % job.checkpoint_every_steps == 0 || last)) {
      trainer.save_checkpoint(output / "checkpoint");
      p.checkpoint = (output / "checkpoint").string();
    }
    if (work.rank == 0 && !validation_rows.empty() && job.eval_every_steps > 0
        && (p.step % job.eval_every_steps == 0 || last)) {
      nlohmann::json line = {{"step", p.step}, {"loss", p.loss}, {"validation_loss", evaluate()}};
      metrics << line.dump() << "\n" << std::flush;
    }
    if (work.rank == 0)
      report(p);
  }
  if (work.rank == 0)
    adapter->save(output / "adapter");
  return {work.job_id, core::rank_result::succeeded, "", false};
}

} // namespace

training_outcome run_training(const training_assignment& work, const training_run_config& cfg,
                              const std::atomic<bool>& cancel,
                              const std::function<void(const training_progress&)>& report) {
  auto failed = [&](const std::string& why, bool retriable) {
    return training_outcome{work.job_id, core::rank_result::failed, why, retriable};
  };
  try {
    return run(work, cfg, cancel, report);
  } catch (const job_fault& e) {
    return failed(e.what(), false);
  } catch (const checkpoint_error& e) {
    // A checkpoint to resume from that cannot be read: the job cannot go on from it.
    return failed(e.what(), false);
  } catch (const c10::Error& e) {
    std::string what = e.what_without_backtrace();
    return failed(what, true);
  } catch (const std::bad_alloc&) {
    return failed("out of memory", true);
  } catch (const std::exception& e) {
    return failed(e.what(), true);
  }
}

} // namespace expd::gpu

// expd_train_bench: LoRA training throughput of gpu::lora_trainer on a Hugging
// Face-layout checkpoint, over fixed random token batches (every token real, every
// position a target). bench/train_throughput.py is the same computation in PyTorch
// eager; bench/train_vs_pytorch.sh runs both, alternating (docs/benchmarks.md,
// "Training (issue 12)"). Prints one JSON line.
//
//   expd_train_bench --model=DIR [--batch=4] [--seq=256] [--steps=10] [--warmup-steps=2]
//                    [--threads=1] [--seed=1] [--lora-rank=8] [--lora-alpha=16]
//                    [--targets=q_proj,v_proj]
//                    [--rank=R --world-size=N --store=FILE]   one rank of N processes
//                    [--profile=FILE]   one more step, untimed, under torch's autograd
//                                       profiler: a Chrome trace of its operators
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <time.h>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/csrc/autograd/profiler_legacy.h>

#include "gpu/llama_model.hpp"
#include "gpu/lora.hpp"
#include "gpu/lora_trainer.hpp"
#include "gpu/rank_group.hpp"
#include "tools/cli_errors.hpp"
#include "tools/command_line.hpp"

namespace {

using namespace expd;

struct settings {
  std::string model;
  std::int64_t batch = 4, seq = 256, steps = 10, warmup_steps = 2, threads = 1;
  std::uint64_t seed = 1;
  // The job's defaults (core::lora_spec) but no dropout: the peer runs none either, and
  // its masks could not be the same.
  core::lora_spec lora{8, 16.0, 0.0, {"q_proj", "v_proj"}};
  std::uint32_t rank = 0, world_size = 1;
  std::string store;
  std::string profile;
};

std::int64_t positive(const tools::command_line& line, std::string_view name, std::int64_t fallback) {
  auto value = line.unsigned_value(name);
  if (value && *value == 0)
    throw tools::usage_error("--" + std::string(name) + " must be at least 1");
  return value ? static_cast<std::int64_t>(*value) : fallback;
}

settings parse(int argc, char** argv) {
  static const std::vector<tools::option_spec> specs{
    {"model", 0, true},      {"batch", 0, true},      {"seq", 0, true},
    {"steps", 0, true},      {"warmup-steps", 0, true}, {"threads", 0, true},
    {"seed", 0, true},       {"lora-rank", 0, true},  {"lora-alpha", 0, true},
    {"targets", 0, true},    {"rank", 0, true},       {"world-size", 0, true},
    {"store", 0, true},      {"profile", 0, true}};
  auto line = tools::parse_command_line(argc, argv, specs);
  if (!line.words.empty())
    throw tools::usage_error("unexpected argument " + line.words.front());
  settings s;
  s.model = line.value("model").value_or("");
  if (s.model.empty())
    throw tools::usage_error("--model=DIR (a Hugging Face-layout checkpoint folder) is needed");
  s.batch = positive(line, "batch", s.batch);
  s.seq = positive(line, "seq", s.seq);
  s.steps = positive(line, "steps", s.steps);
  s.warmup_steps = static_cast<std::int64_t>(line.unsigned_value("warmup-steps").value_or(s.warmup_steps));
  s.threads = positive(line, "threads", s.threads);
  s.seed = line.unsigned_value("seed").value_or(s.seed);
  s.lora.rank = static_cast<std::uint32_t>(positive(line, "lora-rank", s.lora.rank));
  if (auto alpha = line.value("lora-alpha"))
    s.lora.alpha = std::stod(*alpha);
  if (auto targets = line.value("targets")) {
    s.lora.target_modules.clear();
    std::istringstream in(*targets);
    for (std::string t; std::getline(in, t, ',');)
      s.lora.target_modules.push_back(t);
  }
  s.world_size = static_cast<std::uint32_t>(positive(line, "world-size", 1));
  s.rank = static_cast<std::uint32_t>(line.unsigned_value("rank").value_or(0));
  s.store = line.value("store").value_or("");
  s.profile = line.value("profile").value_or("");
  if (s.rank >= s.world_size)
    throw tools::usage_error("--rank must be below --world-size");
  if (s.world_size > 1 && s.store.empty())
    throw tools::usage_error("--world-size above 1 needs --store=FILE, where the ranks meet");
  return s;
}

// CPU time of the whole process (every thread: torch's, gloo's), which the machine's
// other load does not inflate the way it does wall time.
double process_cpu_seconds() {
  timespec t{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

int run(const settings& s) {
  at::set_num_threads(static_cast<int>(s.threads));
  auto model = gpu::load_llama_model(s.model);
  gpu::lora_adapter adapter(model, s.lora, s.seed, s.model);
  auto total = s.warmup_steps + s.steps;
  gpu::lora_trainer trainer(model, adapter, core::optimizer_spec{}, static_cast<std::uint64_t>(total));

  // The global batch of every step, from the seed (the peer draws the same from the same
  // generator); this rank trains on its share of the rows.
  auto generator = at::make_generator<at::CPUGeneratorImpl>(s.seed);
  auto ids = at::randint(model->config().vocab_size, {total, s.world_size * s.batch, s.seq},
                         generator, at::TensorOptions(at::kLong));
  // The profiled step after the last takes the first step's rows again.
  auto rows_of = [&](std::int64_t step) {
    auto rows = ids[step % total].narrow(0, s.rank * s.batch, s.batch).contiguous();
    return gpu::token_batch{rows, at::ones_like(rows, at::kBool), {}};
  };
  std::optional<gpu::rank_group> group;
  if (s.world_size > 1)
    group.emplace(s.store, s.rank, s.world_size, "127.0.0.1", std::chrono::seconds{60});

  double first_loss = 0, last_loss = 0, timed_seconds = 0, timed_cpu_seconds = 0;
  std::int64_t timed_tokens = 0;
  for (std::int64_t step = 0; step < total; ++step) {
    auto batch = rows_of(step);
    auto start = std::chrono::steady_clock::now();
    auto cpu_start = process_cpu_seconds();
    auto result = trainer.step({batch}, group ? &*group : nullptr);
    std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    auto cpu_took = process_cpu_seconds() - cpu_start;
    if (step == 0)
      first_loss = result.loss;
    last_loss = result.loss;
    if (step >= s.warmup_steps) {
      timed_seconds += took.count();
      timed_cpu_seconds += cpu_took;
      timed_tokens += result.tokens;
    }
  }
  if (!s.profile.empty()) {
    torch::autograd::profiler::RecordProfile profile(s.profile);
    trainer.step({rows_of(total)}, group ? &*group : nullptr);
  }
  nlohmann::json out = {
    {"side", "expd"},
    {"tokens_per_second", static_cast<double>(timed_tokens) / timed_seconds},
    {"seconds_per_step", timed_seconds / static_cast<double>(s.steps)},
    {"cpu_seconds_per_step", timed_cpu_seconds / static_cast<double>(s.steps)},
    {"first_loss", first_loss},
    {"last_loss", last_loss},
    {"threads", s.threads},
    {"batch", s.batch},
    {"seq", s.seq},
    {"steps", s.steps},
    {"warmup_steps", s.warmup_steps},
    {"world_size", s.world_size},
    {"rank", s.rank},
    {"lora_rank", s.lora.rank},
    {"lora_alpha", s.lora.alpha},
    {"targets", s.lora.target_modules},
    {"model", s.model},
  };
  std::cout << out.dump() << std::endl;
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const tools::usage_error& e) {
    std::cerr << "expd_train_bench: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "expd_train_bench: " << e.what() << "\n";
    return 1;
  }
}

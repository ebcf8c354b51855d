// Tokens/s of gpu::generate at several batch sizes: the C++ side of
// bench/generate_vs_pytorch.sh, whose Python peer (bench/generate_throughput.py) runs
// PyTorch eager's generate loop on the same checkpoint, prompts and threads.
//
//   expd_generate_bench --model=DIR [--batches=1,8,32] [--prompt=32] [--new=64] [--threads=2]
//
// One JSON line per batch size: greedy decoding of `new` tokens after `prompt`-token
// prompts, timed from the prefill to the last token.
#include <chrono>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "gpu/generation.hpp"

namespace {

using expd::core::generation_request;

// The Python side computes the same formula.
std::vector<generation_request> prompts(std::int64_t rows, std::int64_t length, std::int64_t vocab,
                                        std::uint32_t new_tokens) {
  std::vector<generation_request> out(static_cast<std::size_t>(rows));
  for (std::int64_t r = 0; r < rows; ++r) {
    auto& req = out[static_cast<std::size_t>(r)];
    for (std::int64_t t = 0; t < length; ++t)
      req.prompt.push_back(static_cast<std::int32_t>((r * 7919 + t * 104729 + 13) % vocab));
    req.max_new_tokens = new_tokens;
  }
  return out;
}

const char* usage = "usage: expd_generate_bench --model=DIR [--batches=1,8,32] [--prompt=32] [--new=64] [--threads=2]\n";

} // namespace

int main(int argc, char** argv) {
  std::string model_dir, batches = "1,8,32";
  std::int64_t prompt = 32, threads = 2;
  std::uint32_t new_tokens = 64;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto eq = arg.find('=');
    auto name = arg.substr(0, eq), value = eq == std::string::npos ? "" : arg.substr(eq + 1);
    if (name == "--model")
      model_dir = value;
    else if (name == "--batches")
      batches = value;
    else if (name == "--prompt")
      prompt = std::stoll(value);
    else if (name == "--new")
      new_tokens = static_cast<std::uint32_t>(std::stoul(value));
    else if (name == "--threads")
      threads = std::stoll(value);
    else {
      std::cerr << usage;
      return 2;
    }
  }
  if (model_dir.empty()) {
    std::cerr << usage;
    return 2;
  }
  at::set_num_threads(static_cast<int>(threads));
  auto model = expd::gpu::load_llama_model(model_dir);
  auto vocab = model->config().vocab_size;
  expd::gpu::generate(model, prompts(2, prompt, vocab, 4)); // warm-up
  std::stringstream list(batches);
  for (std::string item; std::getline(list, item, ',');) {
    auto batch = std::stoll(item);
    auto requests = prompts(batch, prompt, vocab, new_tokens);
    auto start = std::chrono::steady_clock::now();
    auto out = expd::gpu::generate(model, requests);
    std::chrono::duration<double> seconds = std::chrono::steady_clock::now() - start;
    // The completions, so the script can say how many rows both sides agree on.
    nlohmann::json rows = nlohmann::json::array();
    std::size_t tokens = 0;
    for (auto& o : out) {
      rows.push_back(o.tokens);
      tokens += o.tokens.size();
    }
    std::cout << nlohmann::json{{"side", "expd"},
                                {"batch", batch},
                                {"tokens", tokens},
                                {"seconds", seconds.count()},
                                {"tokens_per_second", static_cast<double>(tokens) / seconds.count()},
                                {"tokens_json", rows.dump()}}
                   .dump()
              << std::endl;
  }
}

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>

#include "gpu/lora.hpp"
#include "gpu/lora_trainer.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"
#include "tools/planning_corpus.hpp"

using namespace expd::gpu;

namespace {

constexpr std::int64_t window = 64;
constexpr int vocab = 384, bos = 1, pad = 3; // tools/tiny-tokenizer.sh's --vocab and ids

// Each row's tokens: bos, its input line, its target line, as spm_encode gives them with
// the tiny tokenizer's model. The test binary cannot hold libsentencepiece beside
// libtorch (tests/CMakeLists.txt), so the encoding runs in another process.
std::vector<std::vector<int>> encode_rows(const std::filesystem::path& dir,
                                          const std::vector<expd::tools::planning_example>& rows) {
  {
    std::ofstream text(dir / "rows.txt");
    for (auto& row : rows)
      text << row.input << "\n" << row.target << "\n";
  }
  auto ids = test::run_command("spm_encode --model=" + (dir / "tokenizer" / "tokenizer.model").string()
                               + " --output_format=id < " + (dir / "rows.txt").string());
  std::istringstream lines(ids);
  std::vector<std::vector<int>> out;
  std::string line;
  for (std::size_t i = 0; std::getline(lines, line); ++i) {
    if (i % 2 == 0)
      out.push_back({bos});
    std::istringstream pieces(line);
    for (int id; pieces >> id;)
      out.back().push_back(id);
  }
  EXPECT_EQ(out.size(), rows.size());
  return out;
}

// Every row cut into windows of 64 tokens, the last window of a row right-padded.
std::vector<token_batch> windows_of(const std::vector<std::vector<int>>& rows) {
  std::vector<token_batch> out;
  for (auto& ids : rows) {
    for (std::size_t begin = 0; begin + 1 < ids.size(); begin += window) {
      auto ids_t = at::full({1, window}, pad, at::kLong);
      auto mask = at::zeros({1, window}, at::kBool);
      auto n = std::min<std::size_t>(window, ids.size() - begin);
      for (std::size_t i = 0; i < n; ++i)
        ids_t[0][static_cast<std::int64_t>(i)] = ids[begin + i];
      mask.narrow(1, 0, static_cast<std::int64_t>(n)).fill_(true);
      out.push_back({ids_t, mask});
    }
  }
  return out;
}

token_batch stack(const std::vector<token_batch>& rows) {
  std::vector<at::Tensor> ids, masks;
  for (auto& r : rows) {
    ids.push_back(r.input_ids);
    masks.push_back(r.mask);
  }
  return {at::cat(ids), at::cat(masks)};
}

} // namespace

// On the synthetic planning corpus, tokenised by the tiny tokenizer, LoRA on a random
// checkpoint of the tokenizer's vocabulary learns: held-out loss falls below the base's.
TEST(fine_tuning, lora_on_the_planning_corpus_beats_the_base_on_held_out_rows) {
  if (std::system("command -v spm_train >/dev/null && command -v spm_encode >/dev/null") != 0)
    GTEST_SKIP() << "spm_train or spm_encode is not installed (deploy/install-deps.sh installs sentencepiece)";
  auto dir = test::scratch_dir("fine-tuning");
  test::run_command(std::string{EXPD_SOURCE_DIR} + "/tools/tiny-tokenizer.sh --vocab "
                    + std::to_string(vocab) + " --corpus-bin " + EXPD_CORPUS_BIN + " "
                    + (dir / "tokenizer").string());
  test::run_python("sized " + (dir / "model").string() + " " + std::to_string(vocab));

  // Rows the tokenizer was not trained on (another seed); held-out rows apart from both.
  auto rows = expd::tools::generate_planning_corpus(7, 224);
  auto encoded = encode_rows(dir, rows);
  auto train = windows_of({encoded.begin(), encoded.begin() + 200});
  auto held_out = windows_of({encoded.begin() + 200, encoded.end()});
  std::vector<token_batch> held_out_batches;
  for (std::size_t i = 0; i < held_out.size(); i += 16)
    held_out_batches.push_back(stack({held_out.begin() + static_cast<std::ptrdiff_t>(i),
                                      held_out.begin() + static_cast<std::ptrdiff_t>(std::min(i + 16, held_out.size()))}));

  // One thread: tiny matrices gain nothing from more, and ctest runs tests side by side.
  at::set_num_threads(1);
  constexpr std::uint64_t steps = 200;
  expd::core::optimizer_spec opt;
  opt.learning_rate = 1e-2;
  opt.warmup_steps = 20;
  opt.min_lr_ratio = 0.1;
  opt.max_grad_norm = 1.0;
  auto model = load_llama_model(dir / "model");
  lora_adapter adapter(model, {8, 16, 0.05, expd::core::lora_target_names()}, 1, (dir / "model").string());
  lora_trainer trainer(model, adapter, opt, steps);

  auto start = std::chrono::steady_clock::now();
  auto base_loss = trainer.evaluate(held_out_batches);
  std::cout << train.size() << " training windows, " << held_out.size() << " held-out; base held-out loss "
            << base_loss << "\n";
  std::mt19937_64 draw(2);
  std::vector<double> curve;
  for (std::uint64_t s = 0; s < steps; ++s) {
    std::vector<token_batch> picked;
    for (int i = 0; i < 8; ++i)
      picked.push_back(train[draw() % train.size()]);
    auto r = trainer.step({stack(picked)});
    if ((s + 1) % 100 == 0) {
      curve.push_back(trainer.evaluate(held_out_batches));
      std::cout << "step " << s + 1 << ": train loss " << r.loss << ", held-out loss " << curve.back() << "\n";
    }
  }
  std::cout << "took " << std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()
            << " s\n";
  ASSERT_EQ(curve.size(), 2u);
  EXPECT_LT(curve[0], base_loss);
  EXPECT_LT(curve[1], curve[0]);
  EXPECT_LT(curve[1], 0.7 * base_loss);
  RecordProperty("base_held_out_loss", std::to_string(base_loss));
  RecordProperty("tuned_held_out_loss", std::to_string(curve[1]));
}

#include <iostream>
#include <set>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "gpu/checkpoint_error.hpp"
#include "gpu/lora.hpp"
#include "gpu/safetensors.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;

namespace {

const std::vector<std::string> all_targets{"q_proj", "k_proj", "v_proj", "o_proj",
                                           "gate_proj", "up_proj", "down_proj"};

expd::core::lora_spec spec_of(std::uint32_t rank, std::vector<std::string> targets) {
  return {rank, 2.0 * rank, 0.0, std::move(targets)};
}

std::filesystem::path folder_of(const std::string& variant) {
  return test::tiny_checkpoints() / variant;
}

at::Tensor input_ids_of(const std::string& variant) {
  return read_safetensors(folder_of(variant) / "reference.safetensors").tensors.at("input_ids");
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

// B drawn at random, as after training: a fresh adapter's zero B would hide every
// mistake in merging and saving.
void randomise_b(lora_adapter& adapter, std::uint64_t seed) {
  at::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (auto& [name, tensor] : adapter.peft_tensors())
    if (name.find("lora_B") != std::string::npos)
      tensor.copy_(at::empty(tensor.sizes(), at::kFloat).normal_(0, 0.1, gen));
}

std::map<std::string, at::Tensor> base_copy(llama_model& model) {
  std::map<std::string, at::Tensor> out;
  for (auto& item : model->named_parameters())
    out.emplace(item.key(), item.value().detach().clone());
  return out;
}

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "no error";
}

} // namespace

TEST(lora, a_fresh_adapter_leaves_the_logits_bit_identical) {
  at::NoGradGuard no_grad;
  for (auto variant : {"plain", "gqa", "qwen2", "tied", "mistral"}) {
    SCOPED_TRACE(variant);
    auto model = load_llama_model(folder_of(variant));
    auto ids = input_ids_of(variant);
    auto before = model->forward(ids);
    lora_adapter adapter(model, spec_of(8, all_targets), 1, variant);
    auto after = model->forward(ids);
    EXPECT_TRUE(at::equal(before, after)) << max_difference(before, after);
  }
}

TEST(lora, only_a_and_b_are_trainable_and_named_as_peft_names_them) {
  auto model = load_llama_model(folder_of("plain"));
  lora_adapter adapter(model, spec_of(4, {"q_proj", "v_proj"}), 1, "plain");
  std::set<std::string> trainable;
  for (auto& item : model->named_parameters())
    if (item.value().requires_grad())
      trainable.insert(item.key());
  std::set<std::string> expected;
  for (int layer = 0; layer < 2; ++layer)
    for (auto module : {"q_proj", "v_proj"})
      for (auto part : {"lora_A", "lora_B"})
        expected.insert("model.layers." + std::to_string(layer) + ".self_attn." + module + "." + part
                        + ".weight");
  EXPECT_EQ(trainable, expected);
  EXPECT_EQ(adapter.parameters().size(), 8u);
  // PEFT's init: A uniform in +-1/sqrt(in) (kaiming_uniform_ with a = sqrt(5)), B zero.
  auto tensors = adapter.peft_tensors();
  auto& a = tensors.at("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight");
  auto& b = tensors.at("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight");
  EXPECT_EQ(a.sizes(), (at::IntArrayRef{4, 64}));
  EXPECT_EQ(b.sizes(), (at::IntArrayRef{64, 4}));
  EXPECT_LE(a.abs().max().item<double>(), 1 / 8.0);
  EXPECT_GT(a.abs().max().item<double>(), 0.9 / 8.0);
  EXPECT_EQ(b.abs().max().item<double>(), 0.0);
}

TEST(lora, merged_logits_equal_the_adapters_and_unmerge_restores_the_base) {
  at::NoGradGuard no_grad;
  for (auto variant : {"plain", "qwen2", "mistral"}) {
    SCOPED_TRACE(variant);
    auto model = load_llama_model(folder_of(variant));
    auto ids = input_ids_of(variant);
    auto base_logits = model->forward(ids);
    auto base = base_copy(model);
    lora_adapter adapter(model, spec_of(4, all_targets), 2, variant);
    randomise_b(adapter, 3);
    auto adapted = model->forward(ids);
    EXPECT_GT(max_difference(adapted, base_logits), 1e-2) << "B != 0 must change the logits";
    adapter.merge();
    auto merged = model->forward(ids);
    auto merge_diff = max_difference(merged, adapted);
    adapter.unmerge();
    double weight_diff = 0;
    for (auto& [name, tensor] : base)
      weight_diff = std::max(weight_diff, max_difference(model->named_parameters()[name], tensor));
    auto unmerged_diff = max_difference(model->forward(ids), adapted);
    std::cout << variant << ": merged vs adapter logits " << merge_diff << ", base weights after unmerge "
              << weight_diff << ", logits after unmerge " << unmerged_diff << "\n";
    EXPECT_LT(merge_diff, 1e-5);
    EXPECT_LT(weight_diff, 1e-6);
    EXPECT_LT(unmerged_diff, 1e-5);
  }
}

TEST(lora, saves_in_peft_layout_loads_back_and_saves_a_merged_checkpoint) {
  at::NoGradGuard no_grad;
  auto dir = test::scratch_dir("lora-save");
  auto model = load_llama_model(folder_of("gqa"));
  auto ids = input_ids_of("gqa");
  lora_adapter adapter(model, spec_of(4, {"q_proj", "v_proj", "down_proj"}), 5,
                       folder_of("gqa").string());
  randomise_b(adapter, 6);
  auto adapted = model->forward(ids);
  adapter.save(dir / "adapter");

  // PEFT's names and config keys, as the Python side reads them. gqa's v_proj is
  // [32, 64] (two k/v heads), so a swapped in/out would show.
  auto found = nlohmann::json::parse(test::run_command(
    std::string{EXPD_TORCH_PYTHON} + " " + EXPD_LORA_REFERENCE_SCRIPT + " peft "
    + (dir / "adapter").string() + " " + folder_of("gqa").string()));
  EXPECT_EQ(found["tensors"].size(), 12u);
  EXPECT_EQ(found["tensors"]["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"],
            nlohmann::json({32, 4}));
  EXPECT_EQ(found["tensors"]["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight"],
            nlohmann::json({4, 128}));
  EXPECT_EQ(found["config"]["r"], 4);
  EXPECT_EQ(found["config"]["lora_alpha"], 8);
  EXPECT_EQ(found["config"]["target_modules"], nlohmann::json({"q_proj", "v_proj", "down_proj"}));

  auto fresh = load_llama_model(folder_of("gqa"));
  auto loaded = lora_adapter(fresh, read_adapter_config(dir / "adapter"), 99, "gqa");
  loaded.load(dir / "adapter");
  auto reloaded = fresh->forward(ids);
  EXPECT_TRUE(at::equal(reloaded, adapted)) << max_difference(reloaded, adapted);

  adapter.save_merged(folder_of("gqa"), dir / "merged");
  auto merged = load_llama_model(dir / "merged");
  auto diff = max_difference(merged->forward(ids), adapted);
  std::cout << "merged checkpoint vs adapter logits: " << diff << "\n";
  EXPECT_LT(diff, 1e-5);
  EXPECT_FALSE(adapter.merged());
}

TEST(lora, a_rank_above_a_layers_width_is_refused_naming_the_module) {
  auto model = load_llama_model(folder_of("gqa"));
  // gqa's k_proj and v_proj are [32, 64]: rank 40 fits q_proj [64, 64] but not them.
  auto what = error_of([&] { lora_adapter(model, spec_of(40, {"q_proj", "k_proj"}), 1, "gqa"); });
  EXPECT_NE(what.find("lora.rank 40"), std::string::npos) << what;
  EXPECT_NE(what.find("model.layers.0.self_attn.k_proj"), std::string::npos) << what;
  EXPECT_NE(what.find("min(in 64, out 32)"), std::string::npos) << what;
}

TEST(lora, an_unknown_target_module_is_refused_naming_it) {
  auto model = load_llama_model(folder_of("plain"));
  auto what = error_of([&] { lora_adapter(model, spec_of(4, {"q_proj", "c_attn"}), 1, "plain"); });
  EXPECT_NE(what.find("\"c_attn\""), std::string::npos) << what;
  EXPECT_NE(what.find("q_proj"), std::string::npos) << what;
}

TEST(lora, an_adapter_for_another_base_is_refused_naming_the_tensor) {
  auto dir = test::scratch_dir("lora-other-base");
  // mistral's q_proj is [96, 64] (head_dim 24), plain's [64, 64].
  auto mistral = load_llama_model(folder_of("mistral"));
  lora_adapter(mistral, spec_of(4, {"q_proj"}), 1, "mistral").save(dir);
  auto plain = load_llama_model(folder_of("plain"));
  lora_adapter adapter(plain, spec_of(4, {"q_proj"}), 1, "plain");
  try {
    adapter.load(dir);
    FAIL() << "loaded an adapter of another base";
  } catch (const checkpoint_error& e) {
    EXPECT_NE(e.tensor().find("self_attn.q_proj.lora_B.weight"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("[96, 4]"), std::string::npos) << e.what();
    EXPECT_NE(std::string{e.what()}.find("[64, 4]"), std::string::npos) << e.what();
  }
  lora_adapter other_rank(load_llama_model(folder_of("plain")), spec_of(2, {"q_proj"}), 1, "plain");
  auto what = error_of([&] { other_rank.load(dir); });
  EXPECT_NE(what.find("adapter_config.json"), std::string::npos) << what;
  EXPECT_NE(what.find("r 4"), std::string::npos) << what;
}

#include <fstream>
#include <functional>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "gpu/checkpoint_error.hpp"
#include "gpu/llama_model.hpp"
#include "gpu/safetensors.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;
using nlohmann::json;

namespace {

// A copy of a generated variant that a test may spoil.
std::filesystem::path copy_of(const std::string& variant, const std::string& name) {
  auto dir = test::scratch_dir(name);
  std::filesystem::copy(test::tiny_checkpoints() / variant, dir,
                        std::filesystem::copy_options::recursive);
  return dir;
}

std::map<std::string, at::Tensor> weights_of(const std::filesystem::path& file) {
  return read_safetensors(file).tensors;
}

json json_of(const std::filesystem::path& file) {
  std::ifstream in(file);
  return json::parse(in);
}

void write_json(const std::filesystem::path& file, const json& doc) {
  std::ofstream(file) << doc.dump(2);
}

checkpoint_error refusal(const std::filesystem::path& folder) {
  try {
    load_llama_model(folder);
  } catch (const checkpoint_error& e) {
    if (!e.tensor().empty()) {
      EXPECT_NE(std::string{e.what()}.find("\"" + e.tensor() + "\""), std::string::npos) << e.what();
    }
    return e;
  }
  ADD_FAILURE() << folder << " was loaded";
  return checkpoint_error("", "", "");
}

bool mentions(const checkpoint_error& e, const std::string& text) {
  return std::string{e.what()}.find(text) != std::string::npos;
}

// The plain variant with its model.safetensors changed by `change`.
std::filesystem::path with_weights(const std::string& name,
                                   const std::function<void(std::map<std::string, at::Tensor>&)>& change) {
  auto dir = copy_of("plain", name);
  auto w = weights_of(dir / "model.safetensors");
  change(w);
  write_safetensors(dir / "model.safetensors", w);
  return dir;
}

} // namespace

TEST(checkpoint_loading, a_missing_tensor_is_named) {
  auto dir = with_weights("missing", [](auto& w) { w.erase("model.layers.1.mlp.up_proj.weight"); });
  auto e = refusal(dir);
  EXPECT_EQ(e.tensor(), "model.layers.1.mlp.up_proj.weight");
  EXPECT_TRUE(mentions(e, "missing"));
  EXPECT_TRUE(mentions(e, "[128, 64]"));
}

TEST(checkpoint_loading, a_tensor_of_the_wrong_shape_is_named_with_both_shapes) {
  auto dir = with_weights("shape", [](auto& w) {
    w["model.layers.0.self_attn.k_proj.weight"] = at::zeros({32, 64});
  });
  auto e = refusal(dir);
  EXPECT_EQ(e.tensor(), "model.layers.0.self_attn.k_proj.weight");
  EXPECT_TRUE(mentions(e, "shape [32, 64] in the checkpoint, [64, 64] expected"));
  EXPECT_NE(e.file().find("model.safetensors"), std::string::npos);
}

TEST(checkpoint_loading, an_unexpected_tensor_is_named) {
  auto extra = refusal(with_weights("extra", [](auto& w) {
    w["model.layers.2.mlp.up_proj.weight"] = at::zeros({128, 64});
  }));
  EXPECT_EQ(extra.tensor(), "model.layers.2.mlp.up_proj.weight");
  EXPECT_TRUE(mentions(extra, "unexpected"));

  // A bias LLaMA without attention_bias does not have.
  auto bias = refusal(with_weights("bias", [](auto& w) {
    w["model.layers.0.self_attn.q_proj.bias"] = at::zeros({64});
  }));
  EXPECT_EQ(bias.tensor(), "model.layers.0.self_attn.q_proj.bias");

  auto integer = refusal(with_weights("integer", [](auto& w) {
    w["model.norm.weight"] = at::ones({64}, at::kLong);
  }));
  EXPECT_EQ(integer.tensor(), "model.norm.weight");
}

TEST(checkpoint_loading, another_architectures_checkpoint_is_refused) {
  auto dir = copy_of("plain", "gpt2");
  auto config = json_of(dir / "config.json");
  config["architectures"] = {"GPT2LMHeadModel"};
  config["model_type"] = "gpt2";
  write_json(dir / "config.json", config);
  auto e = refusal(dir);
  EXPECT_NE(e.file().find("config.json"), std::string::npos);
  EXPECT_TRUE(mentions(e, "architectures[0]"));
  EXPECT_TRUE(mentions(e, "GPT2LMHeadModel"));

  // LLaMA's config over tensors of another model: the first foreign name is refused.
  auto foreign = with_weights("foreign", [](auto& w) { w["transformer.wte.weight"] = at::zeros({96, 64}); });
  EXPECT_EQ(refusal(foreign).tensor(), "transformer.wte.weight");
}

TEST(checkpoint_loading, a_missing_or_malformed_config_is_named) {
  auto dir = copy_of("plain", "config");
  auto config = json_of(dir / "config.json");
  config.erase("num_hidden_layers");
  write_json(dir / "config.json", config);
  EXPECT_TRUE(mentions(refusal(dir), "num_hidden_layers is required"));

  std::ofstream(dir / "config.json") << "{\"hidden_size\": ";
  EXPECT_TRUE(mentions(refusal(dir), "not a JSON object"));

  std::filesystem::remove(dir / "config.json");
  EXPECT_TRUE(mentions(refusal(dir), "config.json: cannot be opened"));
}

TEST(checkpoint_loading, a_folder_without_weights_is_refused) {
  auto dir = copy_of("plain", "empty");
  std::filesystem::remove(dir / "model.safetensors");
  EXPECT_TRUE(mentions(refusal(dir), "neither model.safetensors nor"));
}

TEST(checkpoint_loading, sharded_checkpoints_must_match_their_index) {
  auto shard = "model-00002-of-00002.safetensors";
  {
    auto dir = copy_of("gqa", "listed");
    auto index = json_of(dir / "model.safetensors.index.json");
    auto first = "model-00001-of-00002.safetensors";
    index["weight_map"]["model.norm.weight"] = first;
    auto w = weights_of(dir / first);
    ASSERT_FALSE(w.count("model.norm.weight"));
    write_json(dir / "model.safetensors.index.json", index);
    auto e = refusal(dir);
    EXPECT_EQ(e.tensor(), "model.norm.weight");
    EXPECT_TRUE(mentions(e, "listed in the index but not in the file"));
  }
  {
    auto dir = copy_of("gqa", "unlisted");
    auto index = json_of(dir / "model.safetensors.index.json");
    auto name = index["weight_map"].begin().key();
    index["weight_map"].erase(name);
    write_json(dir / "model.safetensors.index.json", index);
    auto e = refusal(dir);
    EXPECT_EQ(e.tensor(), name);
    EXPECT_TRUE(mentions(e, "not listed"));
  }
  {
    auto dir = copy_of("gqa", "twice");
    auto first = "model-00001-of-00002.safetensors";
    auto a = weights_of(dir / first);
    auto b = weights_of(dir / shard);
    b.insert(*a.begin());
    write_safetensors(dir / shard, b);
    auto e = refusal(dir);
    EXPECT_EQ(e.tensor(), a.begin()->first);
    EXPECT_TRUE(mentions(e, "is also in"));
  }
  {
    auto dir = copy_of("gqa", "outside");
    auto index = json_of(dir / "model.safetensors.index.json");
    index["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors";
    write_json(dir / "model.safetensors.index.json", index);
    auto e = refusal(dir);
    EXPECT_EQ(e.tensor(), "model.norm.weight");
    EXPECT_TRUE(mentions(e, "not a file name in the folder"));
  }
}

TEST(checkpoint_loading, stored_rotary_frequencies_and_a_tied_head_are_taken) {
  at::NoGradGuard no_grad;
  auto ref = read_safetensors(test::tiny_checkpoints() / "tied" / "reference.safetensors").tensors;
  auto dir = copy_of("tied", "tied-head");
  auto w = weights_of(dir / "model.safetensors");
  w["lm_head.weight"] = w.at("model.embed_tokens.weight");
  w["model.layers.0.self_attn.rotary_emb.inv_freq"] = at::ones({8});
  write_safetensors(dir / "model.safetensors", w);
  auto logits = load_llama_model(dir)->forward(ref.at("input_ids"));
  EXPECT_LT((logits.to(at::kDouble) - ref.at("logits")).abs().max().item<double>(), 1e-5);

  w["lm_head.weight"] = at::zeros({96, 32});
  write_safetensors(dir / "model.safetensors", w);
  EXPECT_EQ(refusal(dir).tensor(), "lm_head.weight");
}

TEST(checkpoint_loading, bfloat16_weights_load_into_the_placement_dtype) {
  at::NoGradGuard no_grad;
  auto folder = test::tiny_checkpoints() / "qwen2";
  EXPECT_EQ(read_hf_checkpoint(folder).tensors.at("model.norm.weight").scalar_type(), at::kBFloat16);
  auto in_bf16 = load_llama_model(folder, {at::kBFloat16, at::kCPU});
  EXPECT_EQ(in_bf16->model->norm->weight.scalar_type(), at::kBFloat16);
  auto ref = read_safetensors(folder / "reference.safetensors").tensors;
  auto logits = in_bf16->forward(ref.at("input_ids"));
  EXPECT_EQ(logits.scalar_type(), at::kBFloat16);
  // bfloat16 keeps 8 bits of mantissa: close to the reference, not to 1e-5.
  EXPECT_LT((logits.to(at::kDouble) - ref.at("logits")).abs().max().item<double>(), 0.25);
}

#include <functional>
#include <iostream>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "gpu/llama_model.hpp"
#include "gpu/safetensors.hpp"
#include "tests/gpu/tiny_checkpoints.hpp"

using namespace expd::gpu;

namespace {

const char* const variants[] = {"plain", "gqa", "qwen2", "tied", "mistral"};

// The forward pass must agree with the float64 reference to this, in float32.
constexpr double tolerance = 1e-5;

struct reference {
  at::Tensor input_ids; // [2, 9]
  at::Tensor logits;    // [2, 9, vocab], float64
};

reference reference_of(const std::string& variant) {
  auto content = read_safetensors(test::tiny_checkpoints() / variant / "reference.safetensors");
  return {content.tensors.at("input_ids"), content.tensors.at("logits")};
}

llama_model model_of(const std::string& variant) {
  return load_llama_model(test::tiny_checkpoints() / variant);
}

double max_difference(const at::Tensor& a, const at::Tensor& b) {
  EXPECT_EQ(a.sizes(), b.sizes());
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

at::Tensor positions_from(std::int64_t first, std::int64_t steps) {
  return at::arange(first, first + steps, at::kLong).unsqueeze(0);
}

// Runs `check` on each variant's model and reference, without autograd.
void for_each_variant(const std::function<void(const reference&, llama_model&)>& check) {
  at::NoGradGuard no_grad;
  for (auto variant : variants) {
    SCOPED_TRACE(variant);
    auto model = model_of(variant);
    check(reference_of(variant), model);
  }
}

} // namespace

TEST(llama_model, logits_agree_with_the_reference) {
  at::NoGradGuard no_grad;
  for (auto variant : variants) {
    auto ref = reference_of(variant);
    auto logits = model_of(variant)->forward(ref.input_ids);
    EXPECT_EQ(logits.scalar_type(), at::kFloat);
    auto diff = max_difference(logits, ref.logits);
    std::cout << variant << ": max |logits - reference| = " << diff << "\n";
    RecordProperty(std::string{variant} + "_max_abs_difference", std::to_string(diff));
    EXPECT_LT(diff, tolerance) << variant;
  }
}

TEST(llama_model, a_batch_of_two_equals_each_row_alone) {
  for_each_variant([](const reference& ref, llama_model& model) {
    auto batched = model->forward(ref.input_ids);
    for (std::int64_t row = 0; row < 2; ++row) {
      auto alone = model->forward(ref.input_ids.slice(0, row, row + 1));
      EXPECT_LT(max_difference(alone[0], batched[row]), tolerance) << "row " << row;
      EXPECT_LT(max_difference(alone[0], ref.logits[row]), tolerance) << "row " << row;
    }
  });
}

TEST(llama_model, decoding_with_the_cache_gives_the_full_forward_logits) {
  for_each_variant([](const reference& ref, llama_model& model) {
    auto full = model->forward(ref.input_ids);
    auto steps = ref.input_ids.size(1);

    // A prompt of 4, a chunk of 2, then one token at a time.
    auto cache = model->empty_cache(2);
    auto prompt = model->forward(ref.input_ids.slice(1, 0, 4), positions_from(0, 4).expand({2, 4}), cache);
    EXPECT_LT(max_difference(prompt, ref.logits.slice(1, 0, 4)), tolerance);
    auto chunk = model->forward(ref.input_ids.slice(1, 4, 6), positions_from(4, 2).expand({2, 2}), cache);
    EXPECT_LT(max_difference(chunk, full.slice(1, 4, 6)), tolerance);
    for (std::int64_t t = 6; t < steps; ++t) {
      auto step = model->forward(ref.input_ids.slice(1, t, t + 1), positions_from(t, 1).expand({2, 1}), cache);
      EXPECT_LT(max_difference(step.select(1, 0), full.select(1, t)), tolerance) << "step " << t;
      EXPECT_LT(max_difference(step.select(1, 0), ref.logits.select(1, t)), tolerance) << "step " << t;
    }
    EXPECT_EQ(cache.positions.size(1), steps);
    EXPECT_EQ(cache.layers[0].keys.size(2), steps);
    EXPECT_EQ(cache.layers[0].keys.size(1), model->config().num_key_value_heads);
  });
}

TEST(llama_model, rows_of_different_lengths_decode_together_behind_left_padding) {
  for_each_variant([](const reference& ref, llama_model& model) {
    // Row 0: its first 7 tokens. Row 1: its first 4, after 3 padding tokens at position -1.
    auto ids = at::zeros({2, 7}, at::kLong);
    ids[0] = ref.input_ids[0].slice(0, 0, 7);
    ids[1].slice(0, 3, 7).copy_(ref.input_ids[1].slice(0, 0, 4));
    auto positions = at::full({2, 7}, -1, at::kLong);
    positions[0] = at::arange(7, at::kLong);
    positions[1].slice(0, 3, 7).copy_(at::arange(4, at::kLong));

    auto cache = model->empty_cache(2);
    auto prompt = model->forward(ids, positions, cache);
    EXPECT_LT(max_difference(prompt[0], ref.logits[0].slice(0, 0, 7)), tolerance);
    EXPECT_LT(max_difference(prompt[1].slice(0, 3, 7), ref.logits[1].slice(0, 0, 4)), tolerance);
    EXPECT_FALSE(prompt.isnan().any().item<bool>());

    // Each row's next two tokens at its own positions.
    for (std::int64_t k = 0; k < 2; ++k) {
      auto next = at::stack({ref.input_ids[0].slice(0, 7 + k, 8 + k), ref.input_ids[1].slice(0, 4 + k, 5 + k)});
      auto where = at::tensor({7 + k, 4 + k}, at::kLong).unsqueeze(1);
      auto step = model->forward(next, where, cache);
      EXPECT_LT(max_difference(step[0][0], ref.logits[0][7 + k]), tolerance) << "step " << k;
      EXPECT_LT(max_difference(step[1][0], ref.logits[1][4 + k]), tolerance) << "step " << k;
    }
  });
}

TEST(llama_model, linear_layers_are_found_by_their_hugging_face_names) {
  auto model = model_of("plain");
  auto& linears = model->linear_layers();
  EXPECT_EQ(linears.size(), 2u * 7 + 1);
  auto params = model->named_parameters();
  for (auto& [name, linear] : linears)
    EXPECT_TRUE(linear->weight.is_same(params[name + ".weight"])) << name;
  EXPECT_TRUE(linears.count("model.layers.1.mlp.down_proj"));
  // Tied: no lm_head of its own.
  EXPECT_FALSE(model_of("tied")->linear_layers().count("lm_head"));
  EXPECT_EQ(model_of("tied")->named_parameters().find("lm_head.weight"), nullptr);
}

TEST(llama_model, positions_past_mistrals_window_are_refused) {
  at::NoGradGuard no_grad;
  auto model = model_of("mistral");
  auto ids = at::zeros({1, 1}, at::kLong);
  EXPECT_NO_THROW(model->forward(ids, at::full({1, 1}, 63, at::kLong)));
  EXPECT_THROW(model->forward(ids, at::full({1, 1}, 64, at::kLong)), std::out_of_range);
}

TEST(llama_model, bad_inputs_are_refused) {
  auto model = model_of("plain");
  EXPECT_THROW(model->forward(at::zeros({4}, at::kLong)), std::invalid_argument);
  EXPECT_THROW(model->forward(at::zeros({1, 4}, at::kInt)), std::invalid_argument);
  EXPECT_THROW(model->forward(at::zeros({1, 4}, at::kLong), at::zeros({1, 3}, at::kLong)), std::invalid_argument);
  auto cache = model->empty_cache(2);
  EXPECT_THROW(model->forward(at::zeros({1, 4}, at::kLong), positions_from(0, 4), cache), std::invalid_argument);
}

// Autograd against central finite differences, in float64, on a model small enough to
// perturb parameter entries one by one; biases everywhere so they are checked too.
TEST(llama_model, gradients_match_finite_differences) {
  auto config = expd::core::parse_model_config(nlohmann::json::parse(R"({
    "architectures":["LlamaForCausalLM"],"model_type":"llama","hidden_act":"silu",
    "hidden_size":8,"intermediate_size":12,"num_hidden_layers":2,"num_attention_heads":2,
    "num_key_value_heads":1,"vocab_size":11,"max_position_embeddings":16,"rms_norm_eps":1e-6,
    "attention_bias":true,"mlp_bias":true})"));
  at::manual_seed(7);
  llama_model model(config);
  model->to(at::kDouble);
  {
    at::NoGradGuard no_grad;
    for (auto& p : model->parameters())
      p.copy_(at::randn_like(p) * 0.5 + (p.dim() == 1 && p.size(0) == 8 ? 1.0 : 0.0));
  }
  auto ids = at::randint(0, 11, {2, 5}, at::kLong);
  auto targets = at::randint(0, 11, {2, 5}, at::kLong);
  auto loss_of = [&] {
    auto logp = at::log_softmax(model->forward(ids), -1);
    return -logp.gather(-1, targets.unsqueeze(-1)).mean();
  };

  model->zero_grad();
  loss_of().backward();
  int checked = 0;
  for (auto& item : model->named_parameters()) {
    auto p = item.value();
    auto flat_grad = p.grad().flatten();
    auto flat = p.view({-1});
    for (auto index : {std::int64_t{0}, p.numel() / 2, p.numel() - 1}) {
      const double eps = 1e-6;
      double saved;
      double up, down;
      {
        at::NoGradGuard no_grad;
        saved = flat[index].item<double>();
        flat[index] = saved + eps;
        up = loss_of().item<double>();
        flat[index] = saved - eps;
        down = loss_of().item<double>();
        flat[index] = saved;
      }
      auto numeric = (up - down) / (2 * eps);
      auto analytic = flat_grad[index].item<double>();
      EXPECT_NEAR(analytic, numeric, 1e-7 + 1e-6 * std::abs(numeric)) << item.key() << "[" << index << "]";
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3 * static_cast<int>(model->named_parameters().size()));
}

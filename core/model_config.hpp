#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace expd::core {

/// The decoder families gpu/llama_model runs: one shape, told apart by their biases and
/// the attention window (docs/gpu.md).
enum class model_architecture { llama, mistral, qwen2 };

/// The dtype a checkpoint says its weights are in (config.json's torch_dtype).
enum class weight_dtype { float32, float16, bfloat16 };

/// Rotary scaling as Hugging Face's rope_scaling names it. Only those that change the
/// inverse frequencies alone are taken; the others are refused by name.
struct rope_scaling {
  enum class kind { none, linear, llama3 };
  kind type = kind::none;
  double factor = 1.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 1.0;
  std::int64_t original_max_position_embeddings = 0;
};

/// A Hugging Face config.json of LlamaForCausalLM, MistralForCausalLM or
/// Qwen2ForCausalLM, checked: every size positive and consistent.
struct model_config {
  model_architecture architecture = model_architecture::llama;
  std::string architecture_name; // "LlamaForCausalLM", as the file says
  std::int64_t hidden_size = 0;
  std::int64_t intermediate_size = 0;
  std::int64_t num_hidden_layers = 0;
  std::int64_t num_attention_heads = 0;
  std::int64_t num_key_value_heads = 0;
  std::int64_t head_dim = 0;
  std::int64_t vocab_size = 0;
  std::int64_t max_position_embeddings = 0;
  double rms_norm_eps = 0.0;
  double rope_theta = 10000.0;
  struct rope_scaling rope_scaling;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;   // LLaMA's attention_bias; always on for Qwen2
  bool o_bias = false;     // LLaMA's attention_bias; never for Qwen2 or Mistral
  bool mlp_bias = false;   // LLaMA's mlp_bias
  weight_dtype torch_dtype = weight_dtype::float32;
  /// Mistral's attention window. Positions below it attend to every earlier one, so the
  /// model runs them as plain causal attention and refuses positions at or past it.
  std::optional<std::int64_t> sliding_window;
};

/// Reads `config`; every missing or wrong field throws field_error naming it. Fields
/// that Hugging Face's config classes default are defaulted as they do
/// (num_key_value_heads = num_attention_heads, head_dim = hidden_size / heads,
/// rope_theta 10000, no rope_scaling, untied embeddings, float32).
model_config parse_model_config(const nlohmann::json& config);

/// The rotary inverse frequencies, head_dim / 2 of them: 1 / theta^(2i / head_dim),
/// then scaled as rope_scaling says (Hugging Face's formulas).
std::vector<double> rope_inverse_frequencies(const model_config& config);

} // namespace expd::core

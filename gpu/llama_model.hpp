#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "core/model_config.hpp"
#include "gpu/adaptable_linear.hpp"
#include "gpu/hf_checkpoint.hpp"

namespace expd::gpu {

// The LLaMA-architecture decoder (LLaMA, Mistral, Qwen2) as torch::nn modules, named as
// Hugging Face names them, so named_parameters() reads "model.layers.0.self_attn.q_proj.weight"
// and a checkpoint's tensors map onto parameters one to one (docs/gpu.md).

/// Root-mean-square normalisation with a learned scale, computed in at least float32.
class rms_norm_impl : public torch::nn::Module {
public:
  rms_norm_impl(std::int64_t size, double eps);
  at::Tensor forward(const at::Tensor& x);

  at::Tensor weight;

private:
  double eps_;
};
TORCH_MODULE_IMPL(rms_norm, rms_norm_impl);

/// One layer's keys and values so far, [batch, kv_heads, cached steps, head_dim], after
/// the rotary embedding. Undefined until the first step.
struct layer_cache {
  at::Tensor keys;
  at::Tensor values;
};

/// What incremental decoding keeps between forward calls, one row per batch row. Each
/// cached key keeps its position, so rows may be at different positions (left padding:
/// position -1) and attention is causal by position, not by index.
struct kv_cache {
  std::vector<layer_cache> layers;
  at::Tensor positions; // [batch, cached steps], int64
};

/// Attention with grouped queries: num_attention_heads query heads share
/// num_key_value_heads key/value heads, num_attention_heads / num_key_value_heads each.
class llama_attention_impl : public torch::nn::Module {
public:
  explicit llama_attention_impl(const core::model_config& config);
  /// x [B, T, hidden]; cos and sin [B, 1, T, head_dim]; allowed [B, 1, T, S] (S: cached
  /// plus new steps), true where a query may see a key.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& allowed, layer_cache* cache);

  adaptable_linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

private:
  std::int64_t heads_, kv_heads_, head_dim_;
};
TORCH_MODULE_IMPL(llama_attention, llama_attention_impl);

/// SwiGLU: down_proj(silu(gate_proj(x)) * up_proj(x)).
class llama_mlp_impl : public torch::nn::Module {
public:
  explicit llama_mlp_impl(const core::model_config& config);
  at::Tensor forward(const at::Tensor& x);

  adaptable_linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE_IMPL(llama_mlp, llama_mlp_impl);

/// Pre-norm residual block: x + attn(norm(x)), then h + mlp(norm(h)).
class llama_decoder_layer_impl : public torch::nn::Module {
public:
  explicit llama_decoder_layer_impl(const core::model_config& config);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin,
                     const at::Tensor& allowed, layer_cache* cache);

  llama_attention self_attn{nullptr};
  llama_mlp mlp{nullptr};
  rms_norm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE_IMPL(llama_decoder_layer, llama_decoder_layer_impl);

/// Hugging Face's `model`: embedding, layers, final norm.
class llama_backbone_impl : public torch::nn::Module {
public:
  explicit llama_backbone_impl(const core::model_config& config);

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  rms_norm norm{nullptr};
};
TORCH_MODULE_IMPL(llama_backbone, llama_backbone_impl);

/// LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM: the backbone and lm_head,
/// which is the embedding's weight when tie_word_embeddings is set. forward is
/// overloaded, so it is called as model->forward(...) (the holder's operator() needs one).
class llama_model_impl : public torch::nn::Module {
public:
  explicit llama_model_impl(core::model_config config);

  /// Logits [B, T, vocab] of input_ids [B, T] (int64) at positions 0..T-1.
  at::Tensor forward(const at::Tensor& input_ids);
  /// Logits at `positions` [B, T] (int64); a negative position marks padding, which no
  /// query sees (its own logits are meaningless).
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& positions);
  /// The same after the steps in `cache`, whose keys and values it then extends. An
  /// empty cache (from empty_cache) starts a sequence.
  at::Tensor forward(const at::Tensor& input_ids, const at::Tensor& positions, kv_cache& cache);

  /// A cache with nothing in it for `batch` rows, on the model's device.
  kv_cache empty_cache(std::int64_t batch) const;

  /// Every linear layer by its Hugging Face module name ("model.layers.0.self_attn.q_proj",
  /// "lm_head"), for adapters that wrap chosen target modules (gpu/lora.hpp).
  const std::map<std::string, adaptable_linear>& linear_layers() const {
    return linears_;
  }

  /// Copies `checkpoint`'s tensors into the parameters (converting dtype and device). A
  /// tensor missing, of another shape, or one the model has no parameter for throws
  /// checkpoint_error naming the tensor (and both shapes).
  void load_weights(const hf_checkpoint& checkpoint);

  const core::model_config& config() const {
    return config_;
  }

  llama_backbone model{nullptr};
  adaptable_linear lm_head{nullptr}; // null when tied to the embedding

private:
  at::Tensor run(const at::Tensor& input_ids, const at::Tensor& positions, kv_cache* cache);

  core::model_config config_;
  at::Tensor inverse_frequencies_; // float64, CPU; not a parameter
  std::map<std::string, adaptable_linear> linears_;
};
TORCH_MODULE_IMPL(llama_model, llama_model_impl);

/// Where and how load_llama_model places the weights.
struct model_placement {
  at::ScalarType dtype = at::kFloat;
  at::Device device = at::kCPU;
};

/// Reads the Hugging Face folder `folder` (read_hf_checkpoint) into a model in eval
/// mode with `placement`'s dtype and device.
llama_model load_llama_model(const std::filesystem::path& folder, model_placement placement = {});

} // namespace expd::gpu

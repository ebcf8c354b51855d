#include "gpu/llama_model.hpp"

#include <cmath>
#include <limits>
#include <set>
#include <stdexcept>

#include <ATen/ATen.h>

#include "gpu/checkpoint_error.hpp"

namespace expd::gpu {

namespace {

// Norms, rotary angles and softmax run in at least float32, as Hugging Face runs them,
// so bfloat16 weights do not cost their precision too.
at::ScalarType compute_type(at::ScalarType weights) {
  return at::promote_types(weights, at::kFloat);
}

at::Tensor rotate_half(const at::Tensor& x) {
  auto half = x.size(-1) / 2;
  return at::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

at::Tensor apply_rotary(const at::Tensor& x, const at::Tensor& cos, const at::Tensor& sin) {
  return x * cos + rotate_half(x) * sin;
}

adaptable_linear make_linear(std::int64_t in, std::int64_t out, bool bias) {
  return adaptable_linear(torch::nn::LinearOptions(in, out).bias(bias));
}

std::string shape_text(at::IntArrayRef shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i)
    out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

} // namespace

rms_norm_impl::rms_norm_impl(std::int64_t size, double eps) : eps_(eps) {
  weight = register_parameter("weight", at::ones({size}));
}

at::Tensor rms_norm_impl::forward(const at::Tensor& x) {
  auto wide = x.to(compute_type(x.scalar_type()));
  auto normed = wide * at::rsqrt(wide.pow(2).mean(-1, true) + eps_);
  return weight * normed.to(x.scalar_type());
}

llama_attention_impl::llama_attention_impl(const core::model_config& c)
  : heads_(c.num_attention_heads), kv_heads_(c.num_key_value_heads), head_dim_(c.head_dim) {
  q_proj = register_module("q_proj", make_linear(c.hidden_size, heads_ * head_dim_, c.qkv_bias));
  k_proj = register_module("k_proj", make_linear(c.hidden_size, kv_heads_ * head_dim_, c.qkv_bias));
  v_proj = register_module("v_proj", make_linear(c.hidden_size, kv_heads_ * head_dim_, c.qkv_bias));
  o_proj = register_module("o_proj", make_linear(heads_ * head_dim_, c.hidden_size, c.o_bias));
}

at::Tensor llama_attention_impl::forward(const at::Tensor& x, const at::Tensor& cos,
                                         const at::Tensor& sin, const at::Tensor& allowed,
                                         layer_cache* cache) {
  auto batch = x.size(0), steps = x.size(1);
  auto q = q_proj(x).view({batch, steps, heads_, head_dim_}).transpose(1, 2);
  auto k = k_proj(x).view({batch, steps, kv_heads_, head_dim_}).transpose(1, 2);
  auto v = v_proj(x).view({batch, steps, kv_heads_, head_dim_}).transpose(1, 2);
  q = apply_rotary(q, cos, sin);
  k = apply_rotary(k, cos, sin);
  if (cache) {
    if (cache->keys.defined()) {
      k = at::cat({cache->keys, k}, 2);
      v = at::cat({cache->values, v}, 2);
    }
    cache->keys = k;
    cache->values = v;
  }
  if (kv_heads_ != heads_) {
    // Query head h reads key/value head h / group, as Hugging Face's repeat_kv lays them.
    k = k.repeat_interleave(heads_ / kv_heads_, 1);
    v = v.repeat_interleave(heads_ / kv_heads_, 1);
  }
  auto wide = compute_type(q.scalar_type());
  auto scores = at::matmul(q, k.transpose(2, 3)).to(wide) / std::sqrt(static_cast<double>(head_dim_));
  // The lowest finite value rather than -inf: a padding query that may see nothing then
  // gets uniform weights instead of NaN, which would reach every row through its values.
  auto lowest = wide == at::kDouble ? std::numeric_limits<double>::lowest()
                                    : static_cast<double>(std::numeric_limits<float>::lowest());
  auto weights = at::softmax(scores.masked_fill(allowed.logical_not(), lowest), -1).to(q.scalar_type());
  auto out = at::matmul(weights, v).transpose(1, 2).reshape({batch, steps, heads_ * head_dim_});
  return o_proj(out);
}

llama_mlp_impl::llama_mlp_impl(const core::model_config& c) {
  gate_proj = register_module("gate_proj", make_linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  up_proj = register_module("up_proj", make_linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  down_proj = register_module("down_proj", make_linear(c.intermediate_size, c.hidden_size, c.mlp_bias));
}

at::Tensor llama_mlp_impl::forward(const at::Tensor& x) {
  return down_proj(at::silu(gate_proj(x)) * up_proj(x));
}

llama_decoder_layer_impl::llama_decoder_layer_impl(const core::model_config& c) {
  self_attn = register_module("self_attn", llama_attention(c));
  mlp = register_module("mlp", llama_mlp(c));
  input_layernorm = register_module("input_layernorm", rms_norm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm
    = register_module("post_attention_layernorm", rms_norm(c.hidden_size, c.rms_norm_eps));
}

at::Tensor llama_decoder_layer_impl::forward(const at::Tensor& x, const at::Tensor& cos,
                                             const at::Tensor& sin, const at::Tensor& allowed,
                                             layer_cache* cache) {
  auto h = x + self_attn->forward(input_layernorm(x), cos, sin, allowed, cache);
  return h + mlp(post_attention_layernorm(h));
}

llama_backbone_impl::llama_backbone_impl(const core::model_config& c) {
  embed_tokens = register_module(
    "embed_tokens", torch::nn::Embedding(torch::nn::EmbeddingOptions(c.vocab_size, c.hidden_size)));
  layers = register_module("layers", torch::nn::ModuleList());
  for (std::int64_t i = 0; i < c.num_hidden_layers; ++i)
    layers->push_back(llama_decoder_layer(c));
  norm = register_module("norm", rms_norm(c.hidden_size, c.rms_norm_eps));
}

llama_model_impl::llama_model_impl(core::model_config config) : config_(std::move(config)) {
  model = register_module("model", llama_backbone(config_));
  if (!config_.tie_word_embeddings)
    lm_head = register_module("lm_head", make_linear(config_.hidden_size, config_.vocab_size, false));
  auto frequencies = core::rope_inverse_frequencies(config_);
  inverse_frequencies_ = at::tensor(frequencies, at::kDouble);

  for (std::size_t i = 0; i < model->layers->size(); ++i) {
    auto prefix = "model.layers." + std::to_string(i) + ".";
    auto& layer = model->layers->at<llama_decoder_layer_impl>(i);
    linears_.emplace(prefix + "self_attn.q_proj", layer.self_attn->q_proj);
    linears_.emplace(prefix + "self_attn.k_proj", layer.self_attn->k_proj);
    linears_.emplace(prefix + "self_attn.v_proj", layer.self_attn->v_proj);
    linears_.emplace(prefix + "self_attn.o_proj", layer.self_attn->o_proj);
    linears_.emplace(prefix + "mlp.gate_proj", layer.mlp->gate_proj);
    linears_.emplace(prefix + "mlp.up_proj", layer.mlp->up_proj);
    linears_.emplace(prefix + "mlp.down_proj", layer.mlp->down_proj);
  }
  if (lm_head)
    linears_.emplace("lm_head", lm_head);
}

at::Tensor llama_model_impl::forward(const at::Tensor& input_ids) {
  if (input_ids.dim() != 2)
    throw std::invalid_argument("input_ids must be [batch, steps], not " + shape_text(input_ids.sizes()));
  auto positions = at::arange(input_ids.size(1), input_ids.options().dtype(at::kLong))
                     .unsqueeze(0).expand({input_ids.size(0), input_ids.size(1)});
  return run(input_ids, positions, nullptr);
}

at::Tensor llama_model_impl::forward(const at::Tensor& input_ids, const at::Tensor& positions) {
  return run(input_ids, positions, nullptr);
}

at::Tensor llama_model_impl::forward(const at::Tensor& input_ids, const at::Tensor& positions,
                                     kv_cache& cache) {
  return run(input_ids, positions, &cache);
}

kv_cache llama_model_impl::empty_cache(std::int64_t batch) const {
  kv_cache cache;
  cache.layers.resize(model->layers->size());
  cache.positions = at::empty({batch, 0}, model->embed_tokens->weight.options().dtype(at::kLong));
  return cache;
}

at::Tensor llama_model_impl::run(const at::Tensor& input_ids, const at::Tensor& positions,
                                 kv_cache* cache) {
  if (input_ids.dim() != 2 || input_ids.scalar_type() != at::kLong)
    throw std::invalid_argument("input_ids must be [batch, steps] int64, not "
                                + shape_text(input_ids.sizes()) + " "
                                + at::toString(input_ids.scalar_type()));
  if (positions.sizes() != input_ids.sizes() || positions.scalar_type() != at::kLong)
    throw std::invalid_argument("positions must be int64 of input_ids' shape "
                                + shape_text(input_ids.sizes()) + ", not "
                                + shape_text(positions.sizes()));
  if (cache && (cache->layers.size() != model->layers->size() || !cache->positions.defined()
                || cache->positions.size(0) != input_ids.size(0)))
    throw std::invalid_argument("the cache is not one of this model for "
                                + std::to_string(input_ids.size(0)) + " rows (empty_cache)");
  if (config_.sliding_window && positions.numel() > 0
      && positions.max().item<std::int64_t>() >= *config_.sliding_window)
    throw std::out_of_range("position " + std::to_string(positions.max().item<std::int64_t>())
                            + " reaches sliding_window " + std::to_string(*config_.sliding_window)
                            + ": attention past the window is not implemented");

  auto weights = model->embed_tokens->weight;
  auto wide = compute_type(weights.scalar_type());
  auto keys = cache ? at::cat({cache->positions, positions}, 1) : positions;
  // [B, 1, T, S]: a query sees the keys at its own position and before, padding never.
  auto allowed = (keys.unsqueeze(1) <= positions.unsqueeze(2)).logical_and(keys.ge(0).unsqueeze(1))
                   .unsqueeze(1);

  auto angles = positions.clamp_min(0).to(wide).unsqueeze(-1)
                * inverse_frequencies_.to(weights.device(), wide);
  auto both = at::cat({angles, angles}, -1).unsqueeze(1);
  auto cos = both.cos().to(weights.scalar_type());
  auto sin = both.sin().to(weights.scalar_type());

  auto h = model->embed_tokens(input_ids);
  for (std::size_t i = 0; i < model->layers->size(); ++i)
    h = model->layers->at<llama_decoder_layer_impl>(i).forward(h, cos, sin, allowed,
                                                               cache ? &cache->layers[i] : nullptr);
  h = model->norm(h);
  if (cache)
    cache->positions = keys;
  return lm_head ? lm_head(h) : at::linear(h, weights);
}

void llama_model_impl::load_weights(const hf_checkpoint& checkpoint) {
  auto folder = checkpoint.folder.string();
  auto params = named_parameters(true);
  std::set<std::string> loaded;
  at::NoGradGuard no_grad;
  for (auto& [name, tensor] : checkpoint.tensors) {
    auto file = checkpoint.files.count(name) ? checkpoint.files.at(name) : folder;
    // Older LLaMA checkpoints store the rotary frequencies; they follow from the config.
    static const std::string rotary = ".rotary_emb.inv_freq";
    if (name.size() > rotary.size() && name.compare(name.size() - rotary.size(), rotary.size(), rotary) == 0)
      continue;
    auto* param = params.find(name);
    if (!param && name == "lm_head.weight" && config_.tie_word_embeddings) {
      // Some tied checkpoints store the head too; it is the embedding's, so only its shape counts.
      param = params.find("model.embed_tokens.weight");
      if (tensor.sizes() != param->sizes())
        throw checkpoint_error(file, name, "shape " + shape_text(tensor.sizes())
                                             + " in the checkpoint, " + shape_text(param->sizes())
                                             + " expected (tied to model.embed_tokens.weight)");
      continue;
    }
    if (!param)
      throw checkpoint_error(file, name, "unexpected: " + config_.architecture_name
                                           + " with this config.json has no such parameter");
    if (tensor.sizes() != param->sizes())
      throw checkpoint_error(file, name, "shape " + shape_text(tensor.sizes())
                                           + " in the checkpoint, " + shape_text(param->sizes())
                                           + " expected from config.json");
    if (!at::isFloatingType(tensor.scalar_type()))
      throw checkpoint_error(file, name, std::string{"dtype "} + at::toString(tensor.scalar_type())
                                           + " is not a floating-point type");
    param->copy_(tensor);
    loaded.insert(name);
  }
  for (auto& item : params)
    if (!loaded.count(item.key()))
      throw checkpoint_error(folder, item.key(), "missing from the checkpoint (shape "
                                                   + shape_text(item.value().sizes()) + ")");
}

llama_model load_llama_model(const std::filesystem::path& folder, model_placement placement) {
  auto checkpoint = read_hf_checkpoint(folder);
  llama_model model(checkpoint.config);
  model->to(placement.device, placement.dtype);
  model->load_weights(checkpoint);
  model->eval();
  return model;
}

} // namespace expd::gpu

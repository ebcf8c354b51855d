#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>

#include "core/training_job.hpp"
#include "gpu/llama_model.hpp"

namespace expd::gpu {

class lora_layer;

// LoRA (Hu et al. 2021) as PEFT implements it: each target Linear computes
// W x (+ b) + (alpha / r) * B(A(dropout(x))), A [r, in] kaiming-uniform (a = sqrt(5)),
// B [out, r] zero, so a fresh adapter changes nothing. The base is frozen; only A and B
// train. Saved on its own in PEFT's layout (docs/gpu.md, "LoRA").

/// The adapter on one model: its layers by Hugging Face module name
/// ("model.layers.0.self_attn.q_proj"), A and B registered on the wrapped Linear as
/// lora_A and lora_B, so the model's named_parameters() read
/// "model.layers.0.self_attn.q_proj.lora_A.weight".
class lora_adapter {
public:
  /// Wraps every Linear whose name's last component is among spec.target_modules. A
  /// target the model has none of, or a rank above min(in, out) of a layer, throws
  /// std::invalid_argument naming the module and the numbers. `seed` draws A and the
  /// dropout masks; `base_model` is recorded as base_model_name_or_path.
  lora_adapter(llama_model model, core::lora_spec spec, std::uint64_t seed, std::string base_model);
  /// Takes A and B off the model; a merged adapter's change stays in the weights.
  ~lora_adapter();
  lora_adapter(const lora_adapter&) = delete;
  lora_adapter& operator=(const lora_adapter&) = delete;

  /// A and B of every layer, in name order: what the optimizer trains.
  std::vector<at::Tensor> parameters() const;
  /// The tensors under PEFT's names ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").
  std::map<std::string, at::Tensor> peft_tensors() const;

  /// Writes adapter_config.json and adapter_model.safetensors into `folder` (made if
  /// missing), each file replaced whole (temporary file, then rename).
  void save(const std::filesystem::path& folder) const;
  /// Copies a saved adapter's A and B in. Its config must name this adapter's rank and
  /// targets; a tensor missing, extra or of another shape (an adapter for another base)
  /// throws checkpoint_error naming the file and the tensor.
  void load(const std::filesystem::path& folder);

  /// W += (alpha / r) B A in every layer, and the adapters stop adding; unmerge undoes it.
  void merge();
  void unmerge();
  bool merged() const {
    return merged_;
  }
  /// The base weights with the adapter merged (the model is left as it is), written in
  /// Hugging Face's layout: base_folder's config.json and model.safetensors.
  void save_merged(const std::filesystem::path& base_folder, const std::filesystem::path& folder) const;

  const core::lora_spec& spec() const {
    return spec_;
  }
  double scale() const {
    return spec_.alpha / spec_.rank;
  }
  /// Draws the dropout masks; its state is part of a training checkpoint.
  at::Generator& generator() {
    return generator_;
  }

private:
  llama_model model_;
  core::lora_spec spec_;
  std::string base_model_;
  at::Generator generator_;
  std::map<std::string, std::shared_ptr<lora_layer>> layers_;
  bool merged_ = false;
};

/// Reads `folder`'s adapter_config.json into the spec it describes (PEFT's keys r,
/// lora_alpha, lora_dropout, target_modules); a missing or malformed one throws
/// checkpoint_error naming the file and the key.
core::lora_spec read_adapter_config(const std::filesystem::path& folder);

} // namespace expd::gpu

#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

#include "core/model_config.hpp"

namespace expd::gpu {

/// A Hugging Face model folder: config.json and its weights, from model.safetensors or
/// from the shards model.safetensors.index.json lists.
struct hf_checkpoint {
  std::filesystem::path folder;
  core::model_config config;
  std::map<std::string, at::Tensor> tensors; // CPU, in the files' dtypes
  std::map<std::string, std::string> files;  // tensor name -> the file that holds it
};

/// Reads `folder`. A missing or malformed config.json, index or safetensors file, an
/// index naming a file outside the folder, a tensor in two files or one the index
/// places elsewhere throws checkpoint_error naming the file and the tensor or field.
hf_checkpoint read_hf_checkpoint(const std::filesystem::path& folder);

} // namespace expd::gpu

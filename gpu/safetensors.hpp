#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace expd::gpu {

// The safetensors format (github.com/huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {"name":{"dtype","shape","data_offsets":[begin,end]},
// "__metadata__":{string:string}} padded with spaces to a multiple of 8, then the data,
// each tensor's bytes little-endian and row-major at its offsets from the data's start.

/// A file's tensors by name and its `__metadata__`.
struct safetensors_content {
  std::map<std::string, at::Tensor> tensors;
  std::map<std::string, std::string> metadata;
};

/// Headers past this are refused before anything is allocated, as the reference
/// implementation refuses them.
constexpr std::uint64_t safetensors_header_limit = 100'000'000;

/// Reads `file` into CPU tensors of its dtypes (BOOL, U8, I8, I16, I32, I64, F16, BF16,
/// F32, F64) and shapes. Anything but a well-formed file (truncated, a header length
/// past the file or the limit, malformed JSON, an unknown dtype, offsets out of range,
/// overlapping, leaving holes or not matching dtype and shape) throws checkpoint_error
/// naming the file and the tensor.
safetensors_content read_safetensors(const std::filesystem::path& file);

/// Writes `tensors` (any device, any layout; written as contiguous CPU data) and
/// `metadata` to `file`: into a temporary file in the same folder, fsynced, then renamed
/// over `file`, so a reader sees the old file or the whole new one, never a part. A
/// tensor of a dtype the format lacks throws checkpoint_error naming it.
void write_safetensors(const std::filesystem::path& file,
                       const std::map<std::string, at::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

} // namespace expd::gpu

#include "gpu/token_batches.hpp"

#include <algorithm>

#include <ATen/ATen.h>

namespace expd::gpu {

std::vector<token_batch> token_batches_of(const runtime::token_rows& data,
                                          const std::vector<std::vector<std::size_t>>& rows,
                                          std::int64_t pad_id, std::size_t max_length) {
  std::vector<token_batch> out;
  for (auto& micro : rows) {
    if (micro.empty())
      continue;
    std::size_t width = 0;
    for (auto r : micro)
      width = std::max(width, std::min(max_length, data.input_ids[r].size()));
    auto b = static_cast<std::int64_t>(micro.size()), t = static_cast<std::int64_t>(width);
    std::vector<std::int64_t> ids(micro.size() * width, pad_id);
    std::vector<std::uint8_t> mask(micro.size() * width, 0), targets(micro.size() * width, 0);
    for (std::size_t i = 0; i < micro.size(); ++i) {
      auto& row = data.input_ids[micro[i]];
      auto n = std::min(width, row.size());
      auto start = static_cast<std::size_t>(std::max<std::int32_t>(0, data.target_start[micro[i]]));
      for (std::size_t j = 0; j < n; ++j) {
        ids[i * width + j] = row[j];
        mask[i * width + j] = 1;
        targets[i * width + j] = j >= start;
      }
    }
    out.push_back({at::tensor(ids, at::kLong).view({b, t}),
                   at::tensor(mask, at::kByte).view({b, t}).to(at::kBool),
                   at::tensor(targets, at::kByte).view({b, t}).to(at::kBool)});
  }
  return out;
}

std::vector<std::size_t> rows_in_split(const runtime::token_rows& data, const std::string& split) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < data.split.size(); ++i)
    if (data.split[i] == split)
      out.push_back(i);
  return out;
}

} // namespace expd::gpu

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "gpu/lora_trainer.hpp"
#include "runtime/parquet_dataset.hpp"

namespace expd::gpu {

/// Rows `rows` of a tokenised dataset as one micro-batch: right-padded with `pad_id` to
/// the longest of them, each cut to `max_length` tokens, the loss counting from each
/// row's target_start. Empty when `rows` is.
std::vector<token_batch> token_batches_of(const runtime::token_rows& data,
                                          const std::vector<std::vector<std::size_t>>& rows,
                                          std::int64_t pad_id, std::size_t max_length);

/// The indices of the rows of `data` in `split` ("train" or "validation").
std::vector<std::size_t> rows_in_split(const runtime::token_rows& data, const std::string& split);

} // namespace expd::gpu

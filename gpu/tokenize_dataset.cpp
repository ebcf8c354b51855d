#include "gpu/tokenize_dataset.hpp"

#include <algorithm>
#include <stdexcept>

namespace expd::gpu {

tokenized_dataset tokenize_dataset(const runtime::text_rows& text, const tokenizer& tok, std::size_t max_length) {
  if (text.target.size() != text.input.size() || text.split.size() != text.input.size())
    throw std::invalid_argument("tokenize_dataset: the text rows' input, target and split differ in length");
  const added_tokens added = tok.default_added();
  tokenized_dataset out;
  for (std::size_t row = 0; row < text.input.size(); ++row) {
    std::vector<int> ids;
    if (added.bos)
      ids.push_back(tok.bos()->id);
    const auto input = tok.encode(text.input[row], added_tokens{});
    ids.insert(ids.end(), input.begin(), input.end());
    const auto target_start = ids.size();
    const auto target = tok.encode(text.target[row], added_tokens{});
    ids.insert(ids.end(), target.begin(), target.end());
    if (added.eos)
      ids.push_back(tok.eos()->id);
    if (target_start >= std::min(ids.size(), max_length)) {
      out.skipped.push_back(row);
      continue;
    }
    if (ids.size() > max_length) {
      ids.resize(max_length);
      ++out.truncated;
    }
    out.rows.input_ids.push_back(std::move(ids));
    out.rows.target_start.push_back(static_cast<std::int32_t>(target_start));
    out.rows.split.push_back(text.split[row]);
  }
  return out;
}

} // namespace expd::gpu

#include "core/batch_queue.hpp"

#include <algorithm>

namespace expd::core {

bool batch_queue::push(std::uint64_t ticket, std::uint32_t tokens, clock::time_point arrived) {
  if (full())
    return false;
  queue_.push_back({ticket, tokens, arrived});
  return true;
}

std::size_t batch_queue::next_batch() const {
  std::size_t rows = 0;
  std::uint64_t longest = 0;
  for (auto& e : queue_) {
    if (rows == policy_.max_batch)
      break;
    auto wider = std::max<std::uint64_t>(longest, e.tokens);
    if (rows > 0 && (rows + 1) * wider > policy_.max_batch_tokens)
      break;
    longest = wider;
    ++rows;
  }
  return rows;
}

std::optional<batch_queue::clock::time_point> batch_queue::due() const {
  if (queue_.empty())
    return std::nullopt;
  auto oldest = queue_.front().arrived;
  // A batch that can take no more starts now; waiting would only delay it.
  auto rows = next_batch();
  if (rows == policy_.max_batch || rows < queue_.size())
    return oldest;
  return oldest + policy_.max_wait;
}

std::vector<std::uint64_t> batch_queue::take() {
  auto rows = next_batch();
  std::vector<std::uint64_t> tickets;
  tickets.reserve(rows);
  for (std::size_t i = 0; i < rows; ++i) {
    tickets.push_back(queue_.front().ticket);
    queue_.pop_front();
  }
  return tickets;
}

} // namespace expd::core

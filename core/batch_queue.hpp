#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

// The inference worker's batching policy as plain logic (gpu/inference_worker only
// carries it out): when a batch starts and which queued requests go in it. Times are
// passed in, so tests need no clock.
namespace expd::core {

struct batch_policy {
  std::uint32_t max_batch = 32; ///< rows of one batch
  std::uint32_t max_queue = 256; ///< requests waiting (a running batch's not counted)
  /// rows x the longest row's tokens (prompt + max_new_tokens): what a batch's KV cache
  /// holds, left padding included. A request alone always fits (its checks saw to it).
  std::uint64_t max_batch_tokens = 32 * 2048;
  std::chrono::microseconds max_wait{5000}; ///< how long the oldest waits for company
};

/// Queued requests in order of arrival. A batch takes the oldest ones, in order, while
/// they fit max_batch and max_batch_tokens: no request is passed over, so none waits
/// longer than its wait bound plus the batches ahead of it.
class batch_queue {
public:
  using clock = std::chrono::steady_clock;

  explicit batch_queue(batch_policy policy) : policy_(policy) {
  }

  /// Queues request `ticket` of `tokens` (prompt + max_new_tokens), come at `arrived`;
  /// false (and nothing queued) when max_queue requests already wait.
  bool push(std::uint64_t ticket, std::uint32_t tokens, clock::time_point arrived);

  /// When the next batch is due: at once (the oldest's arrival) when as many wait as
  /// one batch takes, else when the oldest's max_wait ends; nullopt when none waits.
  std::optional<clock::time_point> due() const;

  /// Takes the next batch's tickets, oldest first (none when the queue is empty).
  std::vector<std::uint64_t> take();

  std::size_t size() const noexcept {
    return queue_.size();
  }
  bool full() const noexcept {
    return queue_.size() >= policy_.max_queue;
  }
  const batch_policy& policy() const noexcept {
    return policy_;
  }

private:
  struct entry {
    std::uint64_t ticket;
    std::uint32_t tokens;
    clock::time_point arrived;
  };

  /// How many of the oldest requests the next batch takes.
  std::size_t next_batch() const;

  batch_policy policy_;
  std::deque<entry> queue_;
};

} // namespace expd::core

#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/util/intrusive_ptr.h>

namespace c10d {
class ProcessGroup;
}

namespace expd::gpu {

/// The ranks of one data-parallel run, joined through c10d: each sum is an all-reduce
/// over every rank, so each rank's optimizer step sees the gradients of the whole
/// global batch. ProcessGroupGloo (CPU tensors); the ranks meet through a c10d
/// FileStore, a file every rank can reach (the job's output folder, where its
/// checkpoints are too). A rank that does not come within `timeout` fails the join and
/// every later sum, with c10d's error.
class rank_group {
public:
  /// Joins as `rank` of `size`; returns once every rank has joined. `host` is the address
  /// gloo listens on for the other ranks (127.0.0.1 when they all run on this machine).
  rank_group(const std::string& store_file, std::uint32_t rank, std::uint32_t size,
             const std::string& host, std::chrono::milliseconds timeout);
  ~rank_group();
  rank_group(const rank_group&) = delete;
  rank_group& operator=(const rank_group&) = delete;

  std::uint32_t rank() const noexcept {
    return rank_;
  }
  std::uint32_t size() const noexcept {
    return size_;
  }

  /// Sums `tensors` over the ranks, in place (every rank passes the same shapes, in the
  /// same order).
  void sum(std::vector<at::Tensor>& tensors);
  /// The sum of one number over the ranks.
  double sum(double value);

private:
  std::uint32_t rank_;
  std::uint32_t size_;
  c10::intrusive_ptr<c10d::ProcessGroup> group_;
};

} // namespace expd::gpu

#include "gpu/rank_group.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

namespace expd::gpu {

rank_group::rank_group(const std::string& store_file, std::uint32_t rank, std::uint32_t size,
                       const std::string& host, std::chrono::milliseconds timeout)
  : rank_(rank), size_(size) {
  auto store = c10::make_intrusive<c10d::FileStore>(store_file, static_cast<int>(size));
  store->setTimeout(timeout);
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(host));
  // One thread: the sums are of one step's adapter gradients, and the machine's cores
  // belong to the forward and backward passes.
  options->threads = 1;
  group_ = c10::make_intrusive<c10d::ProcessGroupGloo>(store, static_cast<int>(rank),
                                                       static_cast<int>(size), options);
}

rank_group::~rank_group() = default;

void rank_group::sum(std::vector<at::Tensor>& tensors) {
  if (size_ == 1 || tensors.empty())
    return;
  // One flat buffer, one all-reduce: the per-tensor calls cost a round trip each.
  std::vector<at::Tensor> flat{at::cat([&] {
    std::vector<at::Tensor> parts;
    for (auto& t : tensors)
      parts.push_back(t.reshape({-1}));
    return parts;
  }())};
  group_->allreduce(flat)->wait();
  std::int64_t offset = 0;
  for (auto& t : tensors) {
    auto n = t.numel();
    t.copy_(flat[0].narrow(0, offset, n).view_as(t));
    offset += n;
  }
}

double rank_group::sum(double value) {
  if (size_ == 1)
    return value;
  std::vector<at::Tensor> one{at::full({1}, value, at::kDouble)};
  group_->allreduce(one)->wait();
  return one[0].item<double>();
}

} // namespace expd::gpu

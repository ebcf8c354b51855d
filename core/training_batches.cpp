#include "core/training_batches.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <stdexcept>

namespace expd::core {

training_batches::training_batches(const training_job& job, std::size_t rows)
  : rows_(rows), batch_size_(job.batch_size), ranks_(job.ranks),
    accumulation_(job.gradient_accumulation), seed_(job.seed) {
  if (rows == 0)
    throw std::invalid_argument("the dataset has no training rows");
  std::uint64_t per_step = std::uint64_t{batch_size_} * ranks_ * accumulation_;
  steps_per_epoch_ = (rows + per_step - 1) / per_step;
}

std::vector<std::size_t> training_batches::epoch_order(std::uint64_t epoch) const {
  std::vector<std::size_t> order(rows_);
  std::iota(order.begin(), order.end(), std::size_t{0});
  // std::mt19937_64's outputs are fixed by the standard, its distributions are not: the
  // shuffle draws with a plain modulo so every standard library gives the same order.
  std::mt19937_64 rng{seed_ * 0x9E3779B97F4A7C15ULL + epoch + 1};
  for (std::size_t i = rows_; i > 1; --i)
    std::swap(order[i - 1], order[rng() % i]);
  return order;
}

std::vector<std::vector<std::size_t>> training_batches::step_rows(std::uint64_t step,
                                                                  std::uint32_t rank) const {
  if (rank >= ranks_)
    throw std::invalid_argument("rank " + std::to_string(rank) + " of " + std::to_string(ranks_));
  auto order = epoch_order(step / steps_per_epoch_);
  std::size_t per_step = std::size_t{batch_size_} * ranks_ * accumulation_;
  std::size_t begin = static_cast<std::size_t>(step % steps_per_epoch_) * per_step;
  std::size_t end = std::min(rows_, begin + per_step);
  std::vector<std::vector<std::size_t>> micro(accumulation_);
  for (std::uint32_t m = 0; m < accumulation_; ++m) {
    std::size_t from = begin + (std::size_t{m} * ranks_ + rank) * batch_size_;
    for (std::size_t i = from; i < std::min(end, from + batch_size_); ++i)
      micro[m].push_back(order[i]);
  }
  return micro;
}

} // namespace expd::core

#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/training_job.hpp"

// Which training rows go into which optimizer step, rank and micro-batch: the same on
// every rank and every machine (a run is fixed by its seed, and a resumed run finds the
// rows of the step it resumes at).
namespace expd::core {

/// Each epoch visits the `rows` training rows once, in an order shuffled by the job's
/// seed and the epoch. Step k of an epoch takes the next batch_size * ranks *
/// gradient_accumulation rows of that order (the epoch's last step fewer); micro-batch
/// m of rank r holds its rows [(m * ranks + r) * batch_size, + batch_size), so the ranks'
/// micro-batches together are the step's rows once. A share past the step's end is
/// empty (that rank then has fewer or no rows in the epoch's last step).
class training_batches {
public:
  training_batches(const training_job& job, std::size_t rows);

  std::uint64_t steps_per_epoch() const noexcept {
    return steps_per_epoch_;
  }

  /// The row indices of each micro-batch of rank `rank` in optimizer step `step`
  /// (0-based over the whole run; steps past the epochs wrap into more epochs).
  std::vector<std::vector<std::size_t>> step_rows(std::uint64_t step, std::uint32_t rank) const;

  /// The epoch's order of the rows.
  std::vector<std::size_t> epoch_order(std::uint64_t epoch) const;

private:
  std::size_t rows_;
  std::uint32_t batch_size_, ranks_, accumulation_;
  std::uint64_t seed_;
  std::uint64_t steps_per_epoch_;
};

} // namespace expd::core

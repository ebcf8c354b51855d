#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace expd::core {

/// Buckets per experiment: allocations are resolved to 1/10000 (0.01%).
inline constexpr std::uint32_t bucket_count = 10000;

/// XXH64 of the UTF-8 bytes of `salt + ":" + unit_id`, seed 0.
std::uint64_t unit_hash(std::string_view salt, std::string_view unit_id) noexcept;

/// unit_hash(salt, unit_id) mod 10000.
std::uint32_t bucket_of(std::string_view salt, std::string_view unit_id) noexcept;

/// Width in buckets of one variant: round(allocation * 10000), halves away from zero.
std::uint32_t bucket_width(double allocation) noexcept;

/// Exclusive end of each variant's bucket range; variants take consecutive ranges in
/// their listed order, starting at 0.
std::vector<std::uint32_t> bucket_range_ends(const std::vector<double>& allocations);

/// Index of the variant whose range holds `bucket`, or -1 when the bucket lies past
/// the last range (the unit is not in the experiment).
int variant_for_bucket(const std::vector<std::uint32_t>& range_ends,
                       std::uint32_t bucket) noexcept;

} // namespace expd::core

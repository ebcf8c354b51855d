#include "core/bucketing.hpp"

#include <cmath>
#include <string>

#include <xxhash.h>

namespace expd::core {

std::uint64_t unit_hash(std::string_view salt, std::string_view unit_id) noexcept {
  // Hash the concatenation without allocating for the usual short ids.
  char buf[256];
  auto n = salt.size() + 1 + unit_id.size();
  if (n <= sizeof(buf)) {
    salt.copy(buf, salt.size());
    buf[salt.size()] = ':';
    unit_id.copy(buf + salt.size() + 1, unit_id.size());
    return XXH64(buf, n, 0);
  }
  std::string joined;
  joined.reserve(n);
  joined.append(salt).append(1, ':').append(unit_id);
  return XXH64(joined.data(), joined.size(), 0);
}

std::uint32_t bucket_of(std::string_view salt, std::string_view unit_id) noexcept {
  return static_cast<std::uint32_t>(unit_hash(salt, unit_id) % bucket_count);
}

std::uint32_t bucket_width(double allocation) noexcept {
  return static_cast<std::uint32_t>(std::llround(allocation * bucket_count));
}

std::vector<std::uint32_t> bucket_range_ends(const std::vector<double>& allocations) {
  std::vector<std::uint32_t> ends;
  ends.reserve(allocations.size());
  std::uint32_t end = 0;
  for (auto a : allocations) {
    end += bucket_width(a);
    ends.push_back(end);
  }
  return ends;
}

int variant_for_bucket(const std::vector<std::uint32_t>& range_ends,
                       std::uint32_t bucket) noexcept {
  for (std::size_t i = 0; i < range_ends.size(); ++i)
    if (bucket < range_ends[i])
      return static_cast<int>(i);
  return -1;
}

} // namespace expd::core

#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace expd::core {

/// Dense numbers for strings: the first distinct string gets 0, the next 1, and so on.
/// An aggregation pass numbers ~10 million unit ids; std::unordered_map's node per
/// string costs a cache miss on each lookup, so this is open addressing on the
/// strings' XXH3 hashes, the strings themselves in one arena.
class string_interner {
public:
  /// The number of `s`, new or known.
  std::uint32_t intern(std::string_view s);

  /// The string numbered `id` (< size()).
  std::string_view at(std::uint32_t id) const noexcept;

  std::size_t size() const noexcept {
    return offsets_.size() - 1;
  }

private:
  struct slot {
    std::uint64_t hash = 0;
    std::uint32_t id_plus_one = 0; // 0: empty
  };

  void grow();

  std::vector<slot> slots_ = std::vector<slot>(1024);
  std::vector<std::uint32_t> offsets_ = {0}; // string i is arena_[offsets_[i], offsets_[i + 1])
  std::string arena_;
};

} // namespace expd::core

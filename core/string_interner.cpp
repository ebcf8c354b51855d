#include "core/string_interner.hpp"

#include <stdexcept>

#include <xxhash.h>

namespace expd::core {

std::uint32_t string_interner::intern(std::string_view s) {
  auto hash = XXH3_64bits(s.data(), s.size());
  auto mask = slots_.size() - 1;
  for (auto i = hash & mask;; i = (i + 1) & mask) {
    auto& slot = slots_[i];
    if (slot.id_plus_one == 0)
      break;
    if (slot.hash == hash && at(slot.id_plus_one - 1) == s)
      return slot.id_plus_one - 1;
  }
  if (arena_.size() + s.size() > UINT32_MAX || size() + 1 >= UINT32_MAX)
    throw std::length_error("string_interner: more than 4 GiB of strings");
  auto id = static_cast<std::uint32_t>(size());
  arena_.append(s);
  offsets_.push_back(static_cast<std::uint32_t>(arena_.size()));
  // At most half full, so probes stay short.
  if (2 * size() > slots_.size())
    grow();
  for (auto i = hash & (slots_.size() - 1);; i = (i + 1) & (slots_.size() - 1))
    if (slots_[i].id_plus_one == 0) {
      slots_[i] = {hash, id + 1};
      break;
    }
  return id;
}

std::string_view string_interner::at(std::uint32_t id) const noexcept {
  return std::string_view{arena_}.substr(offsets_[id], offsets_[id + 1] - offsets_[id]);
}

void string_interner::grow() {
  std::vector<slot> bigger(slots_.size() * 2);
  auto mask = bigger.size() - 1;
  for (auto& s : slots_)
    if (s.id_plus_one != 0)
      for (auto i = s.hash & mask;; i = (i + 1) & mask)
        if (bigger[i].id_plus_one == 0) {
          bigger[i] = s;
          break;
        }
  slots_ = std::move(bigger);
}

} // namespace expd::core

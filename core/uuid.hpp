#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace expd::core {

/// A 128-bit id as PostgreSQL's uuid type stores it; 16 bytes instead of a 36-char
/// string keeps the sticky-assignment tables small.
struct uuid {
  std::uint64_t hi = 0;
  std::uint64_t lo = 0;

  /// Parses the canonical 8-4-4-4-12 hex form (either case).
  static std::optional<uuid> parse(std::string_view text) noexcept;

  /// Canonical lower-case 8-4-4-4-12 form.
  std::string str() const;

  /// str() appended to `out`, without a temporary.
  void append_to(std::string& out) const;

  bool nil() const noexcept {
    return hi == 0 && lo == 0;
  }

  friend bool operator==(const uuid& a, const uuid& b) noexcept {
    return a.hi == b.hi && a.lo == b.lo;
  }
  friend bool operator!=(const uuid& a, const uuid& b) noexcept {
    return !(a == b);
  }
};

} // namespace expd::core

template <>
struct std::hash<expd::core::uuid> {
  std::size_t operator()(const expd::core::uuid& id) const noexcept {
    return static_cast<std::size_t>(id.hi ^ (id.lo * 0x9e3779b97f4a7c15ULL));
  }
};

#include "core/uuid.hpp"

namespace expd::core {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

} // namespace

std::optional<uuid> uuid::parse(std::string_view text) noexcept {
  if (text.size() != 36)
    return std::nullopt;
  uuid id;
  int nibbles = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-')
        return std::nullopt;
      continue;
    }
    auto v = hex_value(text[i]);
    if (v < 0)
      return std::nullopt;
    auto& half = nibbles < 16 ? id.hi : id.lo;
    half = (half << 4) | static_cast<std::uint64_t>(v);
    ++nibbles;
  }
  return id;
}

std::string uuid::str() const {
  std::string out;
  append_to(out);
  return out;
}

void uuid::append_to(std::string& out) const {
  static constexpr char digits[] = "0123456789abcdef";
  char text[36];
  int nibble = 0;
  for (std::size_t i = 0; i < sizeof text; ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      text[i] = '-';
      continue;
    }
    auto half = nibble < 16 ? hi : lo;
    auto shift = 60 - 4 * (nibble % 16);
    text[i] = digits[(half >> shift) & 0xf];
    ++nibble;
  }
  out.append(text, sizeof text);
}

} // namespace expd::core

#include "core/text_check.hpp"

#include <cstdint>

#include "core/field_error.hpp"

namespace expd::core {

namespace {

// What is wrong with a text. PostgreSQL's text and jsonb hold neither NUL nor invalid
// UTF-8, and one such row would make the COPY of its whole batch fail.
enum class text_fault { none, nul, control, invalid_utf8 };

// Bytes of the UTF-8 sequence that `lead` starts; 0 when no sequence starts so.
std::size_t utf8_length(unsigned char lead) noexcept {
  if (lead >= 0xc2 && lead <= 0xdf)
    return 2;
  if (lead >= 0xe0 && lead <= 0xef)
    return 3;
  if (lead >= 0xf0 && lead <= 0xf4)
    return 4;
  return 0;
}

// The bytes of the UTF-8 sequence at text[i] and its code point; 0 when none starts
// there (a stray byte, a cut sequence, an overlong form, a surrogate, past U+10FFFF).
std::size_t sequence_at(std::string_view text, std::size_t i, std::uint32_t& code_point) noexcept {
  auto c = static_cast<unsigned char>(text[i]);
  if (c < 0x80) {
    code_point = c;
    return 1;
  }
  auto length = utf8_length(c);
  if (length == 0 || text.size() - i < length)
    return 0;
  code_point = c & (0x7f >> length);
  for (std::size_t k = 1; k < length; ++k) {
    auto next = static_cast<unsigned char>(text[i + k]);
    if ((next & 0xc0) != 0x80)
      return 0;
    code_point = (code_point << 6) | (next & 0x3f);
  }
  if ((length == 3 && (code_point < 0x800 || (code_point >= 0xd800 && code_point <= 0xdfff)))
      || (length == 4 && (code_point < 0x10000 || code_point > 0x10ffff)))
    return 0;
  return length;
}

// Control characters are refused only where `controls` is false: in ids, where they
// come from bugs; inside context strings JSON escapes them and jsonb stores them.
text_fault fault_in(std::string_view text, bool controls) noexcept {
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t code_point = 0;
    auto length = sequence_at(text, i, code_point);
    if (length == 0)
      return text_fault::invalid_utf8;
    if (code_point == 0)
      return text_fault::nul;
    if (!controls && (code_point < 0x20 || (code_point >= 0x7f && code_point <= 0x9f)))
      return text_fault::control;
    i += length;
  }
  return text_fault::none;
}

} // namespace

void check_text(std::string_view text, bool controls, const std::string& field,
                const std::string& what) {
  switch (fault_in(text, controls)) {
  case text_fault::none: return;
  case text_fault::nul:
    throw field_error(field, what + " contains a NUL character (\\u0000), which cannot be stored");
  case text_fault::control:
    throw field_error(field, what + " must not contain control characters");
  case text_fault::invalid_utf8: throw field_error(field, what + " is not valid UTF-8");
  }
}

std::string storable_text(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    std::uint32_t code_point = 0;
    auto length = sequence_at(text, i, code_point);
    if (length == 0 || code_point == 0) {
      out += "\xef\xbf\xbd"; // U+FFFD
      i += length == 0 ? 1 : length;
      continue;
    }
    out.append(text.substr(i, length));
    i += length;
  }
  return out;
}

} // namespace expd::core

#include "core/text_case.hpp"

#include <unicode/ucasemap.h>

namespace expd::core {

namespace {

// The root locale: toLowerCase() is not locale-sensitive (toLocaleLowerCase() is).
const UCaseMap* root_case_map() {
  static const UCaseMap* map = [] {
    UErrorCode status = U_ZERO_ERROR;
    return ucasemap_open("", 0, &status);
  }();
  return map;
}

} // namespace

void js_lower_case(std::string_view text, std::string& out) {
  out.assign(text.data(), text.size());
  bool ascii = true;
  for (auto& c : out) {
    auto byte = static_cast<unsigned char>(c);
    ascii = ascii && byte < 0x80;
    if (byte >= 'A' && byte <= 'Z')
      c = static_cast<char>(byte + ('a' - 'A'));
  }
  if (ascii)
    return;
  // A lower-case form can be longer than its text ("İ" is 2 bytes, "i̇" 3): ICU says
  // how long on overflow, and the second call fits.
  for (int attempt = 0; attempt < 2; ++attempt) {
    UErrorCode status = U_ZERO_ERROR;
    auto length = ucasemap_utf8ToLower(root_case_map(), out.data(), static_cast<int32_t>(out.size()),
                                       text.data(), static_cast<int32_t>(text.size()), &status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
      out.resize(static_cast<std::size_t>(length));
      continue;
    }
    if (U_SUCCESS(status))
      out.resize(static_cast<std::size_t>(length));
    else // only text that is not UTF-8, which JSON parsing already refused
      out.assign(text.data(), text.size());
    return;
  }
}

} // namespace expd::core

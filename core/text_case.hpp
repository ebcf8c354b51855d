#pragma once

#include <string>
#include <string_view>

namespace expd::core {

/// JavaScript's `String.prototype.toLowerCase()` of the UTF-8 `text`, into `out`
/// (replacing it): Unicode's full lower-case mapping without a locale ("İ" becomes
/// "i̇", a final "Σ" becomes "ς"), as V8 does through ICU. ASCII text takes a fast
/// path that never calls ICU.
void js_lower_case(std::string_view text, std::string& out);

} // namespace expd::core

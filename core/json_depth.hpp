#pragma once

#include <cstddef>
#include <string_view>

namespace expd::core {

/// True when `text` nests arrays or objects deeper than `max_depth`. Checked before
/// parsing a client's body so a hostile "[[[[..." cannot exhaust the stack of code
/// that walks the parsed value recursively.
bool json_nesting_exceeds(std::string_view text, std::size_t max_depth) noexcept;

} // namespace expd::core

#pragma once

#include <string>
#include <string_view>

namespace expd::core {

/// The client contract's error body: {"error":{"code","message","field"}}; `field` is
/// left out when empty.
std::string error_json(std::string_view code, std::string_view message,
                       std::string_view field = {});

} // namespace expd::core

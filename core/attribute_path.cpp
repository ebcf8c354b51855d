#include "core/attribute_path.hpp"

#include <algorithm>
#include <charconv>

namespace expd::core {

using nlohmann::json;

attribute_path::attribute_path(const std::string& dotted) {
  for (std::size_t start = 0; start <= dotted.size();) {
    auto end = std::min(dotted.find('.', start), dotted.size());
    std::string key = dotted.substr(start, end - start);
    std::size_t index = std::string::npos;
    bool canonical = key == "0" || (!key.empty() && key[0] != '0');
    if (canonical && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
      std::from_chars(key.data(), key.data() + key.size(), index); // leaves npos on overflow
    steps_.push_back({std::move(key), index});
    start = end + 1;
  }
}

const json& attribute_path::missing() noexcept {
  static const json null;
  return null;
}

} // namespace expd::core

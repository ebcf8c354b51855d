#include "core/json_parse.hpp"

#include <simdjson.h>

namespace expd::core {

namespace {

using nlohmann::json;

json to_nlohmann(simdjson::dom::element e) {
  switch (e.type()) {
  case simdjson::dom::element_type::OBJECT: {
    json out = json::object();
    for (auto [key, value] : simdjson::dom::object(e))
      out[std::string{key}] = to_nlohmann(value);
    return out;
  }
  case simdjson::dom::element_type::ARRAY: {
    json out = json::array();
    for (auto value : simdjson::dom::array(e))
      out.push_back(to_nlohmann(value));
    return out;
  }
  case simdjson::dom::element_type::STRING: return std::string{std::string_view(e)};
  case simdjson::dom::element_type::INT64: {
    auto v = std::int64_t(e);
    // nlohmann reads a number without a minus sign as unsigned.
    return v >= 0 ? json(static_cast<std::uint64_t>(v)) : json(v);
  }
  case simdjson::dom::element_type::UINT64: return std::uint64_t(e);
  case simdjson::dom::element_type::DOUBLE: return double(e);
  case simdjson::dom::element_type::BOOL: return bool(e);
  case simdjson::dom::element_type::NULL_VALUE: return nullptr;
  }
  return nullptr;
}

} // namespace

nlohmann::json parse_json(std::string_view text) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size()).get(root) == simdjson::SUCCESS)
    return to_nlohmann(root);
  // nlohmann takes a NUL byte for the end of the input and ignores what follows it, so
  // "{}\0anything" would pass; JSON has no place for a raw NUL (strings escape it).
  if (text.find('\0') != std::string_view::npos)
    return json::value_t::discarded;
  return json::parse(text, nullptr, false);
}

} // namespace expd::core

#include "core/json_parse.hpp"
#include "core/simdjson_value.hpp"

#include <set>
#include <vector>


#include "core/field_error.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

// "a" + "b" is "a.b", "a" + "[0]" is "a[0]": the field paths the errors name.
std::string join_path(std::string head, const std::string& rest) {
  if (!rest.empty() && rest[0] != '[')
    head += '.';
  return head + rest;
}

field_error duplicate(std::string path, const std::string& key) {
  return field_error(std::move(path), "\"" + key + "\" appears twice in one object");
}

// Unwinds from a duplicate key to the top, each level adding its key or index to the
// path; on the way down it costs nothing.
struct duplicate_key {
  std::string key;
  std::string path;
};

json to_nlohmann(simdjson::dom::element e) {
  switch (e.type()) {
  case simdjson::dom::element_type::OBJECT: {
    json out = json::object();
    for (auto [key, value] : simdjson::dom::object(e)) {
      json v;
      try {
        v = to_nlohmann(value);
      } catch (duplicate_key& d) {
        d.path = join_path(std::string{key}, d.path);
        throw;
      }
      if (!out.emplace(std::string{key}, std::move(v)).second)
        throw duplicate_key{std::string{key}, std::string{key}};
    }
    return out;
  }
  case simdjson::dom::element_type::ARRAY: {
    json out = json::array();
    std::size_t index = 0;
    for (auto value : simdjson::dom::array(e)) {
      try {
        out.push_back(to_nlohmann(value));
      } catch (duplicate_key& d) {
        d.path = join_path("[" + std::to_string(index) + "]", d.path);
        throw;
      }
      ++index;
    }
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

// nlohmann's own parse, for what simdjson refuses, with the same duplicate check: the
// callback sees keys and where containers open and close, this keeps the path.
json parse_with_nlohmann(std::string_view text) {
  // nlohmann takes a NUL byte for the end of the input and ignores what follows it, so
  // "{}\0anything" would pass; JSON has no place for a raw NUL (strings escape it).
  if (text.find('\0') != std::string_view::npos)
    return json(json::value_t::discarded);
  if (json::parse(text, nullptr, false).is_discarded())
    return json(json::value_t::discarded); // malformed: that error, not a duplicate's
  struct level {
    bool object;
    std::set<std::string> keys;
    std::string key;
    std::size_t index = 0;
  };
  std::vector<level> levels;
  auto path = [&levels] {
    std::string out;
    for (auto it = levels.rbegin(); it != levels.rend(); ++it)
      out = join_path(it->object ? it->key : "[" + std::to_string(it->index) + "]", out);
    return out;
  };
  auto counted = [&levels] {
    if (!levels.empty() && !levels.back().object)
      ++levels.back().index;
  };
  return json::parse(text, [&](int, json::parse_event_t event, json& parsed) {
    switch (event) {
    case json::parse_event_t::object_start: levels.push_back({true, {}, {}}); break;
    case json::parse_event_t::array_start: levels.push_back({false, {}, {}}); break;
    case json::parse_event_t::object_end:
    case json::parse_event_t::array_end:
      levels.pop_back();
      counted();
      break;
    case json::parse_event_t::key:
      levels.back().key = parsed.get<std::string>();
      if (!levels.back().keys.insert(levels.back().key).second)
        throw duplicate(path(), levels.back().key);
      break;
    case json::parse_event_t::value: counted(); break;
    }
    return true;
  });
}

} // namespace

simdjson::dom::parser& thread_json_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

nlohmann::json to_json(simdjson::dom::element value) {
  try {
    return to_nlohmann(value);
  } catch (const duplicate_key& d) {
    throw duplicate(d.path, d.key);
  }
}

nlohmann::json parse_json(std::string_view text) {
  simdjson::dom::element root;
  if (thread_json_parser().parse(text.data(), text.size()).get(root) != simdjson::SUCCESS)
    return parse_with_nlohmann(text);
  return to_json(root);
}

} // namespace expd::core

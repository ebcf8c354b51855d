#pragma once

#include <cstddef>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/field_error.hpp"

namespace expd::core {

// Reading the members of a client's or operator's JSON object. Each fault throws
// core::field_error naming the member by its path: `path` is the object's own ("" at the
// top, "experiments[0]"), a member's is "experiments[0].name" or, at the top, "name".

/// The path of member `key` of the object at `path`.
std::string member_path(const std::string& path, std::string_view key);

/// Refuses every member whose key is not in `known`, so a misspelt field is not ignored.
void require_known_fields(const nlohmann::json& obj, const std::string& path,
                          std::initializer_list<const char*> known);

/// The array under `key` of an operator's document `{"key":[...]}` that holds nothing
/// else, with at most `max_items` items (`item` names one in messages).
const nlohmann::json& document_list(const nlohmann::json& doc, const char* key,
                                    std::size_t max_items, std::string_view item);

/// Reads each item of document_list with `parse(item_json, path)` into something with a
/// `name`, refusing a name an earlier item has.
template <class Parse>
auto parse_named_list(const nlohmann::json& doc, const char* key, std::size_t max_items,
                      std::string_view item, Parse parse) {
  auto& list = document_list(doc, key, max_items, item);
  std::vector<decltype(parse(list, std::string{}))> out;
  std::unordered_set<std::string> names;
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto path = std::string{key} + "[" + std::to_string(i) + "]";
    out.push_back(parse(list[i], path));
    if (!names.insert(out.back().name).second)
      throw field_error(path + ".name", "duplicate " + std::string{item} + " name \""
                                          + out.back().name + "\"");
  }
  return out;
}

/// Member `key`; nullptr when absent or null, which optional members treat alike.
const nlohmann::json* optional_member(const nlohmann::json& obj, const char* key);

/// Member `key` as a string; refused when absent, null or of another type.
const std::string& required_string(const nlohmann::json& obj, const std::string& path,
                                   const char* key);

/// Member `key` as a string of at most `max_bytes`; nullopt when absent or null.
std::optional<std::string> optional_string(const nlohmann::json& obj, const std::string& path,
                                           const char* key, std::size_t max_bytes);

/// Refuses `text` (called `what` in the message) unless it is 1 to `max_len` letters,
/// digits, '_', '-' and '.': names end up in URLs and metric labels.
void check_identifier(std::string_view text, const std::string& field, std::string_view what,
                      std::size_t max_len);

/// Member `key` as a string that passes check_identifier.
std::string identifier(const nlohmann::json& obj, const std::string& path, const char* key,
                       std::size_t max_len);

/// Member `key` of a top-level object as a unit's type or id: a non-empty string of at
/// most `max_bytes` that passes check_text without control characters, so PostgreSQL
/// stores it and a person can read it. Events and assign requests share this check.
std::string unit_text(const nlohmann::json& obj, const char* key, std::size_t max_bytes);

/// Past +-2^53 doubles no longer hold every integer, so a whole double says little.
constexpr double exact_integer_limit = 9007199254740992.0;

/// `value` as JSON; a whole one within exact_integer_limit as an integer, so a bound of 0
/// reads "0" rather than "0.0".
nlohmann::json number_json(double value);

} // namespace expd::core

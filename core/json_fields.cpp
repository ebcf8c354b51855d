#include "core/json_fields.hpp"

#include <cctype>
#include <cmath>
#include <cstdint>

#include "core/text_check.hpp"

namespace expd::core {

std::string member_path(const std::string& path, std::string_view key) {
  return path.empty() ? std::string{key} : path + "." + std::string{key};
}

void require_known_fields(const nlohmann::json& obj, const std::string& path,
                          std::initializer_list<const char*> known) {
  for (auto& [key, value] : obj.items()) {
    bool ok = false;
    for (auto k : known)
      ok = ok || key == k;
    if (!ok)
      throw field_error(member_path(path, key), "unknown field \"" + key + "\"");
  }
}

const nlohmann::json& document_list(const nlohmann::json& doc, const char* key,
                                    std::size_t max_items, std::string_view item) {
  if (!doc.is_object())
    throw field_error(key, "the document must be an object with \"" + std::string{key} + "\"");
  require_known_fields(doc, "", {key});
  auto list = doc.find(key);
  if (list == doc.end() || !list->is_array())
    throw field_error(key, std::string{key} + " must be an array");
  if (list->size() > max_items)
    throw field_error(key, "more than " + std::to_string(max_items) + " " + std::string{item}
                             + "s");
  return *list;
}

const nlohmann::json* optional_member(const nlohmann::json& obj, const char* key) {
  auto it = obj.find(key);
  return it == obj.end() || it->is_null() ? nullptr : &*it;
}

const std::string& required_string(const nlohmann::json& obj, const std::string& path,
                                   const char* key) {
  auto* value = optional_member(obj, key);
  if (!value)
    throw field_error(member_path(path, key), std::string{key} + " is required");
  if (!value->is_string())
    throw field_error(member_path(path, key), std::string{key} + " must be a string");
  return value->get_ref<const std::string&>();
}

std::optional<std::string> optional_string(const nlohmann::json& obj, const std::string& path,
                                           const char* key, std::size_t max_bytes) {
  if (!optional_member(obj, key))
    return std::nullopt;
  auto& text = required_string(obj, path, key);
  if (text.size() > max_bytes)
    throw field_error(member_path(path, key), std::string{key} + " is longer than "
                                                + std::to_string(max_bytes) + " bytes");
  return text;
}

void check_identifier(std::string_view text, const std::string& field, std::string_view what,
                      std::size_t max_len) {
  if (text.empty() || text.size() > max_len)
    throw field_error(field, std::string{what} + " must be 1 to " + std::to_string(max_len)
                               + " characters");
  for (unsigned char c : text)
    if (!(std::isalnum(c) || c == '_' || c == '-' || c == '.'))
      throw field_error(field, std::string{what}
                                 + " may hold only letters, digits, '_', '-' and '.'");
}

std::string identifier(const nlohmann::json& obj, const std::string& path, const char* key,
                       std::size_t max_len) {
  auto& text = required_string(obj, path, key);
  check_identifier(text, member_path(path, key), key, max_len);
  return text;
}

nlohmann::json number_json(double value) {
  if (std::floor(value) == value && std::fabs(value) <= exact_integer_limit)
    return static_cast<std::int64_t>(value);
  return value;
}

std::string unit_text(const nlohmann::json& obj, const char* key, std::size_t max_bytes) {
  auto& text = required_string(obj, "", key);
  if (text.empty())
    throw field_error(key, std::string{key} + " must not be empty");
  if (text.size() > max_bytes)
    throw field_error(key, std::string{key} + " is longer than " + std::to_string(max_bytes)
                             + " bytes");
  check_text(text, false, key, key);
  return text;
}

} // namespace expd::core

#include "core/api_error.hpp"

#include <nlohmann/json.hpp>

namespace expd::core {

std::string error_json(std::string_view code, std::string_view message,
                       std::string_view field) {
  nlohmann::json err{{"code", code}, {"message", message}};
  if (!field.empty())
    err["field"] = field;
  // Replace, not throw, on invalid UTF-8: messages may quote what the client sent.
  return nlohmann::json{{"error", std::move(err)}}.dump(-1, ' ', false,
                                                        nlohmann::json::error_handler_t::replace);
}

} // namespace expd::core

#include "core/query_string.hpp"

#include <algorithm>

#include "core/field_error.hpp"
#include "core/text_check.hpp"

namespace expd::core {

namespace {

int hex_digit(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = static_cast<char>(c | 0x20);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string decode_component(std::string_view in, const std::string& field) {
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+') {
      out += ' ';
      continue;
    }
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    int hi = i + 2 < in.size() ? hex_digit(in[i + 1]) : -1;
    int lo = hi < 0 ? -1 : hex_digit(in[i + 2]);
    if (lo < 0)
      throw field_error(field, field + ": a '%' must be followed by two hex digits");
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

} // namespace

std::map<std::string, std::string> parse_query_parameters(std::string_view query_string,
                                                          const std::vector<std::string>& allowed) {
  std::map<std::string, std::string> params;
  while (!query_string.empty()) {
    auto amp = query_string.find('&');
    auto item = query_string.substr(0, amp);
    query_string = amp == std::string_view::npos ? std::string_view{} : query_string.substr(amp + 1);
    if (item.empty())
      continue;
    auto eq = item.find('=');
    auto key = decode_component(item.substr(0, eq), "query");
    // Before the name goes into an error: JSON cannot carry invalid UTF-8.
    check_text(key, false, "query", "a parameter name");
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string names;
      for (auto& a : allowed)
        names += (names.empty() ? "" : ", ") + a;
      throw field_error(key, "unknown parameter \"" + key + "\" (known: " + names + ")");
    }
    auto value = eq == std::string_view::npos ? std::string{} : decode_component(item.substr(eq + 1), key);
    // Values reach PostgreSQL, whose text fails on invalid UTF-8 and holds no NUL.
    check_text(value, false, key, key);
    if (!params.emplace(key, std::move(value)).second)
      throw field_error(key, key + " is given twice");
  }
  return params;
}

bool parse_dry_run_query(std::string_view query_string) {
  auto params = parse_query_parameters(query_string, {"dry_run"});
  auto it = params.find("dry_run");
  if (it == params.end() || it->second == "false" || it->second == "0")
    return false;
  if (it->second == "true" || it->second == "1")
    return true;
  throw field_error("dry_run", "dry_run must be true, false, 1 or 0");
}

} // namespace expd::core

#include "actors/gateway/media_type.hpp"

#include <cstdlib>
#include <string_view>

namespace expd {

namespace {

constexpr std::string_view protobuf_type = "application/x-protobuf";

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i] >= 'A' && a[i] <= 'Z' ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (x != b[i])
      return false;
  }
  return true;
}

// "type/subtype; a=b; q=0.5" -> whether the media type is protobuf's and q is not 0.
bool names_protobuf(std::string_view range) {
  auto semi = range.find(';');
  if (!equals_ignoring_case(trim(range.substr(0, semi)), protobuf_type))
    return false;
  while (semi != std::string_view::npos) {
    range.remove_prefix(semi + 1);
    semi = range.find(';');
    auto param = trim(range.substr(0, semi));
    if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
      return std::strtod(std::string{param.substr(2)}.c_str(), nullptr) > 0;
  }
  return true;
}

} // namespace

body_format request_body_format(const std::string* content_type) {
  if (content_type == nullptr || content_type->find("json") != std::string::npos)
    return body_format::json;
  auto type = std::string_view{*content_type};
  if (equals_ignoring_case(trim(type.substr(0, type.find(';'))), protobuf_type))
    return body_format::protobuf;
  return body_format::unsupported;
}

bool accepts_protobuf(const std::string* accept) {
  if (accept == nullptr)
    return false;
  std::string_view rest{*accept};
  for (;;) {
    auto comma = rest.find(',');
    if (names_protobuf(rest.substr(0, comma)))
      return true;
    if (comma == std::string_view::npos)
      return false;
    rest.remove_prefix(comma + 1);
  }
}

} // namespace expd

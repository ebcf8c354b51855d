#include "runtime/s3_xml.hpp"

#include <charconv>
#include <optional>

#include "runtime/object_store.hpp"

namespace expd::runtime {

namespace {

// The raw text of the first <name>...</name> in `xml` ("" for <name/>), or nullopt.
std::optional<std::string_view> element(std::string_view xml, std::string_view name) {
  auto open = "<" + std::string{name} + ">";
  auto empty = "<" + std::string{name} + "/>";
  auto at = xml.find(open);
  auto at_empty = xml.find(empty);
  if (at_empty != std::string_view::npos && (at == std::string_view::npos || at_empty < at))
    return std::string_view{};
  if (at == std::string_view::npos)
    return std::nullopt;
  auto begin = at + open.size();
  auto end = xml.find("</" + std::string{name} + ">", begin);
  if (end == std::string_view::npos)
    return std::nullopt;
  return xml.substr(begin, end - begin);
}

void append_utf8(std::string& out, std::uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

// The character `entity` ("amp", "#233", "#xE9") stands for, appended to `out`.
bool decode_entity(std::string_view entity, std::string& out) {
  static constexpr std::pair<std::string_view, char> named[]
    = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
  for (auto& [name, c] : named) {
    if (entity == name) {
      out += c;
      return true;
    }
  }
  if (entity.size() < 2 || entity[0] != '#')
    return false;
  bool hex = entity[1] == 'x';
  auto digits = entity.substr(hex ? 2 : 1);
  std::uint32_t cp = 0;
  auto [end, error]
    = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
  if (digits.empty() || error != std::errc{} || end != digits.data() + digits.size() || cp == 0
      || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return false;
  append_utf8(out, cp);
  return true;
}

} // namespace

std::string xml_unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto semicolon = text[i] == '&' ? text.find(';', i) : std::string_view::npos;
    if (semicolon == std::string_view::npos
        || !decode_entity(text.substr(i + 1, semicolon - i - 1), out)) {
      out += text[i];
      continue;
    }
    i = semicolon;
  }
  return out;
}

s3_list_page parse_list_objects(std::string_view xml) {
  if (xml.find("<ListBucketResult") == std::string_view::npos)
    throw object_store_error("S3 answered a listing without <ListBucketResult>: "
                             + std::string{xml.substr(0, 200)});
  s3_list_page page;
  std::size_t at = 0;
  for (;;) {
    auto begin = xml.find("<Contents>", at);
    if (begin == std::string_view::npos)
      break;
    auto end = xml.find("</Contents>", begin);
    if (end == std::string_view::npos)
      throw object_store_error("S3 answered a listing with an unterminated <Contents>");
    auto key = element(xml.substr(begin, end - begin), "Key");
    if (!key)
      throw object_store_error("S3 answered a listing with <Contents> but no <Key>");
    page.keys.push_back(xml_unescape(*key));
    at = end;
  }
  page.truncated = element(xml, "IsTruncated").value_or("false") == "true";
  page.next_continuation_token = xml_unescape(element(xml, "NextContinuationToken").value_or(""));
  return page;
}

s3_error_body parse_s3_error(std::string_view xml) {
  auto error = element(xml, "Error");
  if (!error)
    return {};
  return {xml_unescape(element(*error, "Code").value_or("")),
          xml_unescape(element(*error, "Message").value_or(""))};
}

} // namespace expd::runtime

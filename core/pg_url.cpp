#include "core/pg_url.hpp"

namespace expd::core {

namespace {

bool is_uri(const std::string& url) {
  return url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0;
}

// Whether `key` is set: a query parameter of a URI, or a keyword of a connection
// string (where it starts the string or follows a space, and `=` may have spaces around).
bool sets(const std::string& url, const std::string& key) {
  if (is_uri(url)) {
    auto q = url.find('?');
    if (q == std::string::npos)
      return false;
    for (auto at = q + 1; at < url.size();) {
      auto end = url.find('&', at);
      if (end == std::string::npos)
        end = url.size();
      auto pair = url.substr(at, end - at);
      if (pair.substr(0, pair.find('=')) == key)
        return true;
      at = end + 1;
    }
    return false;
  }
  for (auto at = url.find(key); at != std::string::npos; at = url.find(key, at + 1)) {
    if (at > 0 && url[at - 1] != ' ')
      continue;
    auto next = url.find_first_not_of(' ', at + key.size());
    if (next != std::string::npos && url[next] == '=')
      return true;
  }
  return false;
}

} // namespace

std::string with_pg_options(const std::string& url,
                            const std::vector<std::pair<std::string, std::string>>& options) {
  auto out = url;
  bool uri = is_uri(url);
  for (auto& [key, value] : options) {
    if (sets(out, key))
      continue;
    if (uri)
      out += (out.find('?') == std::string::npos ? '?' : '&') + key + '=' + value;
    else
      out += (out.empty() ? "" : " ") + key + '=' + value;
  }
  return out;
}

} // namespace expd::core

#include "runtime/web_assets.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/api_error.hpp"

namespace expd::runtime {

namespace {

bool ends_with(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

web_response error(std::uint16_t status, std::string_view code, const std::string& message) {
  return {status, "application/json",
          std::make_shared<const std::string>(core::error_json(code, message, "path"))};
}

} // namespace

const char* content_type_of(std::string_view name) noexcept {
  if (ends_with(name, ".html"))
    return "text/html; charset=utf-8";
  if (ends_with(name, ".js"))
    return "text/javascript; charset=utf-8";
  if (ends_with(name, ".css"))
    return "text/css; charset=utf-8";
  if (ends_with(name, ".svg"))
    return "image/svg+xml";
  return "application/octet-stream";
}

web_assets::web_assets(const std::vector<web_file>& files, const std::string& chartjs_path)
  : chartjs_path_(chartjs_path) {
  for (auto& f : files)
    files_.emplace(std::string{f.name},
                   web_response{200, content_type_of(f.name),
                                std::make_shared<const std::string>(f.content)});
  errno = 0;
  std::ifstream in{chartjs_path, std::ios::binary};
  std::ostringstream text;
  if (in && (text << in.rdbuf()) && in.good() && !text.str().empty())
    chartjs_ = std::make_shared<const std::string>(text.str());
  else
    chartjs_error_ = "Chart.js could not be read from " + chartjs_path + " ("
                     + (errno != 0 ? std::strerror(errno) : "empty file")
                     + "): install libjs-chart.js (deploy/install-deps.sh) or start expd with "
                       "--chartjs-path=FILE";
}

web_response web_assets::find(std::string_view path) const {
  constexpr std::string_view prefix = "/dashboard";
  if (path.substr(0, prefix.size()) != prefix)
    return error(404, "not_found", "no such dashboard file");
  auto rest = path.substr(prefix.size());
  if (rest.empty() || rest == "/")
    rest = "/index.html";
  if (rest == "/vendor/chart.js") {
    if (!chartjs_)
      return error(500, "dashboard_incomplete", chartjs_error_);
    return {200, "text/javascript; charset=utf-8", chartjs_};
  }
  if (rest[0] == '/') {
    auto it = files_.find(rest.substr(1));
    if (it != files_.end())
      return it->second;
  }
  return error(404, "not_found", "no such dashboard file: " + std::string{path});
}

} // namespace expd::runtime

#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace expd::runtime {

/// One file of web/, embedded at build time (web/embed.cmake).
struct web_file {
  std::string_view name; ///< "index.html"
  std::string_view content;
};

/// Every file of web/, in name order.
const std::vector<web_file>& embedded_web_files();

/// Where the dashboard's Chart.js comes from: Debian's libjs-chart.js.
inline constexpr const char* default_chartjs_path = "/usr/share/javascript/chart.js/chart.min.js";

/// What GET /dashboard/... answers.
struct web_response {
  std::uint16_t status = 404;
  const char* content_type = "application/json";
  std::shared_ptr<const std::string> body;
};

/// The dashboard's files, held in memory: the embedded web/ files and Chart.js, read
/// once from disk. Serves exactly the names it holds: anything else (a "..", an escape,
/// a folder) is a 404, so no request reaches the file system.
class web_assets {
public:
  /// `files` as embedded; Chart.js read from `chartjs_path` (a missing or unreadable
  /// file is remembered and answered with a 500 that says what to install).
  web_assets(const std::vector<web_file>& files, const std::string& chartjs_path);

  /// The answer to GET `path` (without the query): "/dashboard" and "/dashboard/" are
  /// index.html, "/dashboard/NAME" a file, "/dashboard/vendor/chart.js" Chart.js.
  web_response find(std::string_view path) const;

  /// Whether Chart.js was read.
  bool has_chartjs() const noexcept {
    return chartjs_ != nullptr;
  }

private:
  std::map<std::string, web_response, std::less<>> files_;
  std::shared_ptr<const std::string> chartjs_;
  std::string chartjs_path_;
  std::string chartjs_error_;
};

/// "text/html; charset=utf-8" for .html, and so on; application/octet-stream when unknown.
const char* content_type_of(std::string_view name) noexcept;

} // namespace expd::runtime

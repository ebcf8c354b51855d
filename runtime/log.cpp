#include "runtime/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace expd::runtime {

namespace {

std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::mutex write_mutex;

const char* level_name(log_level level) {
  switch (level) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "info";
}

std::string utc_now() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count()
                % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64]; // room for any int the compiler imagines in each field
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buf;
}

} // namespace

log_level parse_log_level(std::string_view text) noexcept {
  if (text == "debug")
    return log_level::debug;
  if (text == "warn")
    return log_level::warn;
  if (text == "error")
    return log_level::error;
  return log_level::info;
}

void set_log_level(log_level level) noexcept {
  min_level = static_cast<int>(level);
}

void log(log_level level, std::string_view event, const nlohmann::json& fields) {
  if (static_cast<int>(level) < min_level)
    return;
  nlohmann::json line{{"ts", utc_now()}, {"level", level_name(level)}, {"event", event}};
  if (fields.is_object())
    for (auto& [k, v] : fields.items())
      line[k] = v;
  auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard<std::mutex> guard{write_mutex};
  std::fprintf(stderr, "%s\n", text.c_str());
  std::fflush(stderr);
}

} // namespace expd::runtime

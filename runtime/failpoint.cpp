#include "runtime/failpoint.hpp"

#include <array>
#include <csignal>
#include <stdexcept>

#include <unistd.h>

#include "runtime/log.hpp"

namespace expd::runtime::failpoints {

namespace {

struct point {
  std::string_view name;
  std::atomic<long> left{0}; ///< passes until it fires; 0: unarmed
};

// Between the steps that make an acknowledged event durable, stored and archived, and
// between two steps of a pipeline run.
std::array<point, 9> points{{{"spool.after_write"},
                             {"spool.after_sync"},
                             {"loader.before_commit"},
                             {"loader.after_commit"},
                             {"archiver.after_intent"},
                             {"archiver.after_data"},
                             {"archiver.after_manifest"},
                             {"writer.after_commit"},
                             {"pipeline.after_step"}}};

point* find(std::string_view name) {
  for (auto& p : points)
    if (p.name == name)
      return &p;
  return nullptr;
}

} // namespace

std::atomic<bool> any_armed{false};

const std::vector<std::string_view>& names() {
  static const std::vector<std::string_view> all = [] {
    std::vector<std::string_view> out;
    for (auto& p : points)
      out.push_back(p.name);
    return out;
  }();
  return all;
}

void arm(std::string_view spec) {
  // All or nothing: a spec refused halfway arms no point.
  std::vector<std::pair<point*, long>> armed;
  while (!spec.empty()) {
    auto comma = spec.find(',');
    auto item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    auto at = item.find('@');
    auto name = item.substr(0, at);
    auto* p = find(name);
    if (p == nullptr)
      throw std::invalid_argument("unknown failpoint \"" + std::string{name} + "\"");
    long count = 1;
    if (at != std::string_view::npos) {
      auto digits = std::string{item.substr(at + 1)};
      std::size_t used = 0;
      try {
        count = std::stol(digits, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != digits.size() || count < 1)
        throw std::invalid_argument("failpoint \"" + std::string{item}
                                    + "\": the count after @ must be a positive integer");
    }
    armed.emplace_back(p, count);
  }
  for (auto& [p, count] : armed)
    p->left = count;
  if (!armed.empty())
    any_armed = true;
}

void pass_armed(std::string_view name) {
  auto* p = find(name);
  if (p == nullptr || p->left.load() <= 0 || p->left.fetch_sub(1) != 1)
    return;
  log(log_level::error, "failpoint_hit", {{"failpoint", std::string{name}}});
  ::kill(::getpid(), SIGKILL);
  ::pause();
}

} // namespace expd::runtime::failpoints

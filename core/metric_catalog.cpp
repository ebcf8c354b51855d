#include "core/metric_catalog.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>
#include <simdjson.h>

namespace expd::core {

metric_catalog::metric_catalog(const std::vector<event_type>& types) {
  for (auto& t : types) {
    type_metrics entry{t.name, {}};
    for (auto& m : t.metrics) {
      entry.metrics.emplace_back(m.name, static_cast<std::uint32_t>(metrics_.size()));
      metrics_.push_back({t.name, m.name, m.per_unit});
    }
    by_type_.push_back(std::move(entry));
  }
  std::sort(by_type_.begin(), by_type_.end(),
            [](auto& a, auto& b) { return a.event_type < b.event_type; });
}

bool metric_catalog::values(std::string_view event_type, std::string_view metrics_json,
                            std::vector<std::pair<std::uint32_t, double>>& out) const {
  out.clear();
  // One parser per thread: it keeps its buffers between documents.
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  auto type = std::lower_bound(by_type_.begin(), by_type_.end(), event_type,
                               [](auto& t, std::string_view name) { return t.event_type < name; });
  if (type != by_type_.end() && type->event_type != event_type)
    type = by_type_.end();
  auto index_of = [&](std::string_view key) -> std::optional<std::uint32_t> {
    if (type != by_type_.end())
      for (auto& m : type->metrics)
        if (m.first == key)
          return m.second;
    return std::nullopt;
  };
  if (!parser.parse(metrics_json.data(), metrics_json.size()).get_object().get(object)) {
    for (auto [key, value] : object) {
      auto metric = index_of(key);
      double v;
      bool b;
      if (!metric)
        continue;
      if (!value.get_bool().get(b))
        out.emplace_back(*metric, b ? 1.0 : 0.0);
      else if (!value.get_double().get(v))
        out.emplace_back(*metric, v);
    }
    return true;
  }
  // What simdjson refuses (an integer past 64 bits) nlohmann reads as a double.
  auto doc = nlohmann::json::parse(metrics_json, nullptr, false);
  if (!doc.is_object())
    return false;
  for (auto& [key, value] : doc.items()) {
    auto metric = index_of(key);
    if (metric && value.is_boolean())
      out.emplace_back(*metric, value.get<bool>() ? 1.0 : 0.0);
    else if (metric && value.is_number())
      out.emplace_back(*metric, value.get<double>());
  }
  return true;
}

} // namespace expd::core

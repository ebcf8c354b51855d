#include "runtime/prometheus.hpp"

#include <cstdio>
#include <map>

namespace expd::runtime {

namespace {

void append_number(std::string& out, double value) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", value);
  out += buf;
}

void append_sample(std::string& out, const std::string& name, const std::string& labels,
                   double value) {
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  append_number(out, value);
  out += '\n';
}

} // namespace

void latency_histogram::observe(double seconds) noexcept {
  std::size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i])
    ++i;
  ++counts_[i];
  sum_ += seconds;
  ++count_;
}

void latency_histogram::render(std::string& out, const std::string& name,
                               const std::string& labels) const {
  std::uint64_t cumulative = 0;
  auto sep = labels.empty() ? "" : ",";
  for (std::size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += counts_[i];
    std::string le = i < bounds.size() ? "" : "+Inf";
    if (le.empty()) {
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%g", bounds[i]);
      le = buf;
    }
    append_sample(out, name + "_bucket", labels + sep + "le=\"" + le + "\"",
                  static_cast<double>(cumulative));
  }
  append_sample(out, name + "_sum", labels, sum_);
  append_sample(out, name + "_count", labels, static_cast<double>(count_));
}

std::string render_samples(const std::vector<metric_sample>& samples) {
  std::vector<std::string> order;
  std::map<std::string, std::vector<const metric_sample*>> by_name;
  for (auto& s : samples) {
    auto& group = by_name[s.name];
    if (group.empty())
      order.push_back(s.name);
    group.push_back(&s);
  }
  std::string out;
  for (auto& name : order) {
    auto& group = by_name[name];
    out += "# HELP " + name + " " + group.front()->help + "\n";
    out += "# TYPE " + name + " " + group.front()->type + "\n";
    for (auto* s : group)
      append_sample(out, name, s->labels, s->value);
  }
  return out;
}

std::string label_value(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\' || c == '"')
      out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

} // namespace expd::runtime

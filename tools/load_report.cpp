#include <cmath>
#include <cstdio>

#include "tools/load_generator.hpp"
#include "tools/text_table.hpp"

namespace expd::tools {

namespace {

using nlohmann::json;

// Microseconds to 0.1 us, from nanoseconds.
double microseconds(std::uint64_t ns) {
  return std::round(static_cast<double>(ns) / 100) / 10;
}

json errors_json(const load_errors& e) {
  return {{"connect_refused", e.connect_refused}, {"connect_failed", e.connect_failed},
          {"timeouts", e.timeouts},               {"closed", e.closed},
          {"malformed", e.malformed},             {"other", e.other},
          {"total", e.total()}};
}

json statuses_json(const server_counts& counts) {
  json statuses = json::object();
  for (auto [status, count] : counts.statuses)
    statuses[std::to_string(status)] = count;
  return statuses;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string count_of(std::size_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

std::string statuses_text(const json& statuses) {
  std::string text;
  for (auto it = statuses.begin(); it != statuses.end(); ++it)
    text += (text.empty() ? "" : ",") + it.key() + ":" + std::to_string(it.value().get<std::uint64_t>());
  return text.empty() ? "-" : text;
}

} // namespace

json load_report_json(const load_config& config, const load_result& result) {
  server_counts total = result.total();
  bool open = config.rate.has_value();
  json report = {
    {"mode", open ? "open_loop" : "closed_loop"},
    {"rate", open ? json(*config.rate) : json(nullptr)},
    {"concurrency", open ? json(nullptr) : json(*config.concurrency)},
    {"connections", config.connections},
    {"threads", config.threads},
    {"duration_s", result.measured_seconds},
    {"warmup_s", std::chrono::duration<double>(config.warmup).count()},
    {"timeout_s", std::chrono::duration<double>(config.timeout).count()},
    {"units", config.units},
    {"dist", config.dist == unit_distribution::zipf ? "zipf" : "uniform"},
    {"zipf_s", config.dist == unit_distribution::zipf ? json(config.zipf_s) : json(nullptr)},
    {"seed", config.seed},
    {"latency_from", open ? "due" : "send"},
    {"scheduled", open ? json(result.scheduled) : json(nullptr)},
    {"sent", total.sent},
    {"completed", total.completed},
    {"succeeded", total.succeeded()},
    {"throughput_rps", static_cast<double>(total.completed) / result.measured_seconds},
    {"latency_us", nullptr},
    {"statuses", statuses_json(total)},
    {"errors", errors_json(total.errors)},
    {"servers", json::array()},
  };
  const latency_histogram& h = result.latency;
  if (h.count() > 0)
    report["latency_us"] = {{"p50", microseconds(h.percentile(50))},   {"p90", microseconds(h.percentile(90))},
                            {"p99", microseconds(h.percentile(99))},   {"p99_9", microseconds(h.percentile(99.9))},
                            {"max", microseconds(h.max())},            {"min", microseconds(h.min())},
                            {"mean", std::round(h.mean() / 100) / 10}};
  for (std::size_t s = 0; s < config.servers.size(); ++s) {
    const server_counts& counts = result.servers[s];
    report["servers"].push_back({{"url", config.servers[s].url},
                                 {"sent", counts.sent},
                                 {"completed", counts.completed},
                                 {"succeeded", counts.succeeded()},
                                 {"statuses", statuses_json(counts)},
                                 {"errors", errors_json(counts.errors)}});
  }
  return report;
}

std::string load_report_text(const json& r) {
  bool open = r["mode"] == "open_loop";
  std::string text = "expctl load: ";
  text += open ? "open loop at " + fixed(r["rate"].get<double>(), 1) + " req/s"
               : "closed loop, " + std::to_string(r["concurrency"].get<std::uint64_t>()) + " in flight";
  text += " over " + count_of(r["connections"].get<std::size_t>(), "connection") + ", "
          + count_of(r["threads"].get<std::size_t>(), "thread") + ", " + count_of(r["servers"].size(), "server") + "\n";
  text += "window      " + fixed(r["duration_s"].get<double>(), 3) + " s after " + fixed(r["warmup_s"].get<double>(), 3)
          + " s of warm-up; " + std::to_string(r["units"].get<std::uint64_t>()) + " units, "
          + (r["zipf_s"].is_null() ? std::string("uniform") : "zipf s=" + fixed(r["zipf_s"].get<double>(), 2))
          + ", seed " + std::to_string(r["seed"].get<std::uint64_t>()) + "\n";
  text += "requests    ";
  if (open)
    text += "scheduled " + std::to_string(r["scheduled"].get<std::uint64_t>()) + "  ";
  text += "sent " + std::to_string(r["sent"].get<std::uint64_t>()) + "  completed "
          + std::to_string(r["completed"].get<std::uint64_t>()) + "  2xx "
          + std::to_string(r["succeeded"].get<std::uint64_t>()) + "  errors "
          + std::to_string(r["errors"]["total"].get<std::uint64_t>()) + "\n";
  text += "throughput  " + fixed(r["throughput_rps"].get<double>(), 1) + " req/s\n";
  const json& l = r["latency_us"];
  if (l.is_null()) {
    text += "latency     -\n";
  } else {
    text += "latency     p50 " + fixed(l["p50"], 1) + " us  p90 " + fixed(l["p90"], 1) + " us  p99 "
            + fixed(l["p99"], 1) + " us  p99.9 " + fixed(l["p99_9"], 1) + " us  max " + fixed(l["max"], 1)
            + " us  (mean " + fixed(l["mean"], 1) + " us, from " + (open ? "each request's due time" : "send")
            + ")\n";
  }
  std::vector<std::vector<std::string>> rows = {{"SERVER", "SENT", "COMPLETED", "2XX", "STATUSES", "REFUSED",
                                                 "CONNECT_FAILED", "TIMEOUTS", "CLOSED", "MALFORMED", "OTHER"}};
  for (const json& s : r["servers"]) {
    const json& e = s["errors"];
    std::vector<std::string> row = {s["url"].get<std::string>()};
    for (const char* key : {"sent", "completed", "succeeded"})
      row.push_back(std::to_string(s[key].get<std::uint64_t>()));
    row.push_back(statuses_text(s["statuses"]));
    for (const char* key : {"connect_refused", "connect_failed", "timeouts", "closed", "malformed", "other"})
      row.push_back(std::to_string(e[key].get<std::uint64_t>()));
    rows.push_back(std::move(row));
  }
  return text + "\n" + format_table(rows);
}

} // namespace expd::tools

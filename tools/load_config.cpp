#include "tools/load_config.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include <nlohmann/json.hpp>

#include "tools/cli_errors.hpp"

namespace expd::tools {

const std::vector<std::string_view> load_option_names = {
  "connections", "threads", "duration",  "warmup",  "timeout", "rate",    "concurrency",
  "units",       "dist",    "seed",      "unit-type", "experiments", "context", "json"};

namespace {

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  for (std::size_t at = 0;;) {
    std::size_t end = text.find(separator, at);
    parts.push_back(text.substr(at, end == std::string::npos ? std::string::npos : end - at));
    if (end == std::string::npos)
      return parts;
    at = end + 1;
  }
}

std::optional<double> parse_number(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double value = std::strtod(text.c_str(), &end);
  if (errno != 0 || end != text.c_str() + text.size() || !std::isfinite(value))
    return std::nullopt;
  return value;
}

std::optional<std::uint64_t> parse_whole(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  errno = 0;
  unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
  if (errno != 0)
    return std::nullopt;
  return value;
}

[[noreturn]] void refuse(const std::string& flag, const std::string& value, const std::string& wanted) {
  throw usage_error("--" + flag + "=" + value + ": " + wanted);
}

std::uint64_t whole_flag(const command_line& line, const std::string& flag, std::uint64_t fallback,
                         std::uint64_t minimum) {
  std::optional<std::string> text = line.value(flag);
  if (!text)
    return fallback;
  std::optional<std::uint64_t> value = parse_whole(*text);
  if (!value || *value < minimum)
    refuse(flag, *text, "expected a whole number >= " + std::to_string(minimum));
  return *value;
}

std::chrono::nanoseconds duration_flag(const command_line& line, const std::string& flag,
                                       std::chrono::nanoseconds fallback, bool zero_ok) {
  std::optional<std::string> text = line.value(flag);
  if (!text)
    return fallback;
  std::optional<std::chrono::nanoseconds> value = parse_duration(*text);
  if (!value || (value->count() == 0 && !zero_ok))
    refuse(flag, *text, std::string("expected a duration") + (zero_ok ? "" : " above 0")
                          + " like 10s, 500ms or 2m");
  return *value;
}

} // namespace

std::optional<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  static const std::pair<std::string_view, double> units[] = {
    {"ms", 1e6}, {"us", 1e3}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}, {"", 1e9}};
  for (auto [suffix, scale] : units) {
    if (text.size() <= suffix.size() || text.compare(text.size() - suffix.size(), suffix.size(), suffix) != 0)
      continue;
    std::optional<double> value = parse_number(text.substr(0, text.size() - suffix.size()));
    if (!value || *value < 0 || *value * scale > 1e18)
      return std::nullopt;
    return std::chrono::nanoseconds{static_cast<std::int64_t>(std::llround(*value * scale))};
  }
  return std::nullopt;
}

std::optional<server_address> parse_server_url(const std::string& url, std::string* why) {
  auto fail = [&](const std::string& reason) {
    *why = reason;
    return std::nullopt;
  };
  const std::string scheme = "http://";
  if (url.compare(0, 8, "https://") == 0)
    return fail("https is not supported; give the node's plain HTTP address");
  if (url.compare(0, scheme.size(), scheme) != 0)
    return fail("expected http://HOST[:PORT]");
  server_address address;
  address.url = url;
  while (address.url.size() > scheme.size() && address.url.back() == '/')
    address.url.pop_back();
  std::string authority = address.url.substr(scheme.size());
  if (authority.find_first_of("/?#@") != std::string::npos)
    return fail("expected http://HOST[:PORT] with no path, query or user");
  address.host_header = authority;
  std::string port;
  if (!authority.empty() && authority[0] == '[') {
    std::size_t close = authority.find(']');
    if (close == std::string::npos)
      return fail("an IPv6 address needs its closing ]");
    address.host = authority.substr(1, close - 1);
    std::string rest = authority.substr(close + 1);
    if (!rest.empty() && rest[0] != ':')
      return fail("expected :PORT after the IPv6 address");
    port = rest.empty() ? "" : rest.substr(1);
    if (rest == ":")
      return fail("the port is empty");
  } else {
    std::size_t colon = authority.find(':');
    address.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty())
        return fail("the port is empty");
    }
  }
  if (address.host.empty())
    return fail("the host is empty");
  if (!port.empty()) {
    std::optional<std::uint64_t> number = parse_whole(port);
    if (!number || *number < 1 || *number > 65535)
      return fail("the port must be a number in 1..65535");
  }
  address.port = port.empty() ? "80" : port;
  return address;
}

std::uint64_t open_loop_schedule::due_between(std::int64_t from, std::int64_t to) const {
  // The first request due at or after t, from the same arithmetic due() does.
  auto first_from = [&](std::int64_t t) {
    auto at = [&](std::uint64_t j) { return due(static_cast<std::size_t>(j % connections), j / connections); };
    double guess = std::ceil(static_cast<double>(t) * rate / 1e9);
    std::uint64_t j = guess <= 0 ? 0 : static_cast<std::uint64_t>(guess);
    while (j > 0 && at(j - 1) >= t)
      --j;
    while (at(j) < t)
      ++j;
    return j;
  };
  return to <= from ? 0 : first_from(to) - first_from(from);
}

load_config parse_load_config(const command_line& line, const std::string& server) {
  load_config config;
  for (const std::string& url : split(server, ',')) {
    std::string why;
    std::optional<server_address> address = parse_server_url(url, &why);
    if (!address)
      refuse("server", server, "\"" + url + "\": " + why);
    config.servers.push_back(std::move(*address));
  }

  bool has_rate = line.has("rate"), has_concurrency = line.has("concurrency");
  if (has_rate == has_concurrency)
    throw usage_error(has_rate ? "--rate (open loop) and --concurrency (closed loop) exclude each other"
                               : "expctl load needs --rate=R (open loop) or --concurrency=C (closed loop)");
  if (has_rate) {
    std::string text = *line.value("rate");
    std::optional<double> rate = parse_number(text);
    if (!rate || *rate <= 0)
      refuse("rate", text, "expected requests per second, a number above 0");
    config.rate = rate;
  } else {
    config.concurrency = whole_flag(line, "concurrency", 0, 1);
  }
  config.connections = whole_flag(line, "connections", config.concurrency.value_or(10), 1);
  if (config.concurrency && *config.concurrency > config.connections)
    throw usage_error("--concurrency=" + std::to_string(*config.concurrency) + " needs at least as many "
                      "--connections (" + std::to_string(config.connections) + "): HTTP/1.1 has one "
                      "request in flight per connection");
  config.threads = whole_flag(line, "threads", 1, 1);
  if (config.threads > config.connections)
    throw usage_error("--threads=" + std::to_string(config.threads) + " is more than the "
                      + std::to_string(config.connections) + " --connections");

  config.duration = duration_flag(line, "duration", config.duration, false);
  config.warmup = duration_flag(line, "warmup", config.warmup, true);
  config.timeout = duration_flag(line, "timeout", config.timeout, false);

  config.units = whole_flag(line, "units", config.units, 1);
  config.seed = whole_flag(line, "seed", config.seed, 0);
  if (std::optional<std::string> dist = line.value("dist")) {
    if (*dist == "uniform") {
      config.dist = unit_distribution::uniform;
    } else if (dist->compare(0, 4, "zipf") == 0 && (dist->size() == 4 || (*dist)[4] == ':')) {
      config.dist = unit_distribution::zipf;
      if (dist->size() > 4) {
        std::optional<double> s = parse_number(dist->substr(5));
        if (!s || *s <= 0)
          refuse("dist", *dist, "the Zipf exponent must be a number above 0, like zipf:1.1");
        config.zipf_s = *s;
      }
    } else {
      refuse("dist", *dist, "expected uniform, zipf or zipf:S");
    }
  }

  config.unit_type = line.value("unit-type").value_or(config.unit_type);
  if (config.unit_type.empty())
    throw usage_error("--unit-type is empty");
  if (std::optional<std::string> list = line.value("experiments")) {
    config.experiments = split(*list, ',');
    for (const std::string& name : config.experiments)
      if (name.empty())
        refuse("experiments", *list, "expected experiment names separated by commas");
  }
  if (std::optional<std::string> context = line.value("context")) {
    nlohmann::json parsed = nlohmann::json::parse(*context, nullptr, false);
    if (!parsed.is_object())
      refuse("context", *context, "expected a JSON object, like '{\"country\":\"US\"}'");
    config.context = parsed.dump();
  }
  return config;
}

} // namespace expd::tools

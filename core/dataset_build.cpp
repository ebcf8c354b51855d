#include "core/dataset_build.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "core/bucketing.hpp"
#include "core/field_error.hpp"
#include "core/json_parse.hpp"

namespace expd::core {

namespace {

constexpr unix_micros micros_per_day = 24LL * 3600 * 1000000;

// An RFC 3339 date-time, or a date alone for its midnight UTC (what people type on a
// command line: --from 2025-01-06).
unix_micros window_bound(const nlohmann::json& doc, const char* key) {
  auto it = doc.find(key);
  if (it == doc.end() || it->is_null())
    throw field_error(key, std::string{key} + " is required (a date, 2025-01-06, or an RFC 3339 date-time)");
  if (!it->is_string())
    throw field_error(key, std::string{key} + " must be a string (a date or an RFC 3339 date-time)");
  const auto& text = it->get_ref<const std::string&>();
  auto t = parse_rfc3339(text.size() == 10 ? text + "T00:00:00Z" : text);
  if (!t)
    throw field_error(key, std::string{key} + " \"" + text + "\" is neither a date (2025-01-06) nor an RFC 3339 date-time");
  return *t;
}

std::string replace_all(std::string text, std::string_view from, const std::string& to) {
  std::size_t at = 0;
  bool found = false;
  while ((at = text.find(from, at)) != std::string::npos) {
    text.replace(at, from.size(), to);
    at += to.size();
    found = true;
  }
  if (!found)
    throw std::invalid_argument("the dataset query has no " + std::string{from} + " placeholder");
  return text;
}

} // namespace

const std::vector<dataset_definition>& known_datasets() {
  static const std::vector<dataset_definition> all{{"planner", "planner_policy"}};
  return all;
}

const dataset_definition* find_dataset(std::string_view name) {
  for (const auto& d : known_datasets())
    if (d.name == name)
      return &d;
  return nullptr;
}

dataset_build_request parse_dataset_build_request(std::string_view body) {
  auto doc = parse_json(body);
  if (doc.is_discarded())
    throw field_error("body", "the body is not JSON");
  if (!doc.is_object())
    throw field_error("body", R"(the body must be an object: {"name":"planner","from":"...","to":"..."})");
  for (auto& [key, value] : doc.items())
    if (key != "name" && key != "from" && key != "to" && key != "validation")
      throw field_error(key, "unknown field \"" + key + "\" (name, from, to, validation)");
  dataset_build_request r;
  auto name = doc.find("name");
  if (name == doc.end() || !name->is_string())
    throw field_error("name", "name is required: the dataset to build (planner)");
  r.name = name->get<std::string>();
  if (!find_dataset(r.name))
    throw field_error("name", "no dataset is named \"" + r.name + "\" (known: planner)");
  r.from = window_bound(doc, "from");
  r.to = window_bound(doc, "to");
  if (r.to <= r.from)
    throw field_error("to", "to must be after from (the window is [from, to))");
  if (r.to - r.from > max_dataset_window)
    throw field_error("to", "the window is longer than 92 days; build it in parts");
  if (auto v = doc.find("validation"); v != doc.end()) {
    if (!v->is_number() || !(v->get<double>() >= 0 && v->get<double>() < 1))
      throw field_error("validation", "validation must be a number from 0 up to (not including) 1");
    r.validation = v->get<double>();
  }
  return r;
}

std::string dataset_split(std::string_view unit_id, double validation_fraction) noexcept {
  return bucket_of("validation", unit_id) < bucket_width(validation_fraction) ? "validation" : "train";
}

std::string utc_day(unix_micros t) {
  return format_rfc3339(t - ((t % micros_per_day) + micros_per_day) % micros_per_day).substr(0, 10);
}

std::string next_dataset_version(const std::string& day, const std::vector<std::string>& stored) {
  auto taken = [&](const std::string& v) { return std::find(stored.begin(), stored.end(), v) != stored.end(); };
  if (!taken(day))
    return day;
  for (int n = 2;; ++n)
    if (auto v = day + "." + std::to_string(n); !taken(v))
      return v;
}

bool valid_dataset_version(std::string_view version) noexcept {
  if (version.size() < 10 || !parse_rfc3339(std::string{version.substr(0, 10)} + "T00:00:00Z"))
    return false;
  if (version.size() == 10)
    return true;
  auto suffix = version.substr(11);
  unsigned n = 0;
  auto [end, ec] = std::from_chars(suffix.data(), suffix.data() + suffix.size(), n);
  return version[10] == '.' && ec == std::errc() && end == suffix.data() + suffix.size() && n >= 2 &&
         suffix[0] != '0';
}

std::string dataset_data_key(const std::string& name, const std::string& version) {
  return "datasets/" + name + "/" + version + "/training.parquet";
}

std::string dataset_manifest_key(const std::string& name, const std::string& version) {
  return "datasets/" + name + "/" + version + "/manifest.json";
}

std::string bind_window(std::string sql, unix_micros from, unix_micros to) {
  sql = replace_all(std::move(sql), ":'from'", "'" + format_rfc3339(from) + "'::timestamptz");
  return replace_all(std::move(sql), ":'to'", "'" + format_rfc3339(to) + "'::timestamptz");
}

nlohmann::json dataset_manifest(const dataset_build_request& request, const std::string& version,
                                const std::string& data_key, const dataset_contents& contents,
                                const std::string& query_hash, unix_micros built_at) {
  auto schema = nlohmann::json::array();
  for (const auto& c : contents.schema)
    schema.push_back({{"name", c.name}, {"type", c.type}});
  return {{"name", request.name},
          {"version", version},
          {"dataset_version", request.name + "/" + version},
          {"file", data_key},
          {"format", "parquet"},
          {"rows", contents.rows},
          {"skipped_rows", contents.skipped_rows},
          {"bytes", contents.bytes},
          {"content_hash", contents.content_hash},
          {"content_hash_algorithm", "xxh3-64"},
          {"schema", std::move(schema)},
          {"source", {{"table", "exp.events"},
                      {"from", format_rfc3339(request.from)},
                      {"to", format_rfc3339(request.to)},
                      {"query_hash", query_hash}}},
          {"split", {{"by", "household_id"},
                     {"validation_fraction", request.validation},
                     {"train", contents.train_rows},
                     {"validation", contents.validation_rows}}},
          {"built_at", format_rfc3339(built_at)}};
}

} // namespace expd::core

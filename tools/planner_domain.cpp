#include "tools/planner_domain.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <unordered_set>

#include <xxhash.h>

#include "core/rfc3339.hpp"
#include "core/uuid.hpp"

namespace expd::tools {

namespace {

using nlohmann::json;

std::string event_id(const std::string& example_id, const char* type) {
  const std::string key = example_id + "/" + type;
  const auto h = XXH3_128bits(key.data(), key.size());
  return core::uuid{h.high64, h.low64}.str();
}

// A CSV field, always quoted: PostgreSQL's COPY reads "" inside as one quote.
std::string csv(const std::string& text) {
  std::string out = "\"";
  for (char c : text)
    out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

// A PostgreSQL array literal of text, each element quoted ({"coconut milk","rice"}).
std::string pg_array(const std::vector<std::string>& items) {
  std::string out = "{";
  for (const auto& item : items) {
    out += out.size() > 1 ? ",\"" : "\"";
    for (char c : item)
      out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
    out += "\"";
  }
  return out + "}";
}

std::string recipe_id(std::size_t index) {
  return "r-" + std::to_string(index + 1);
}

std::ofstream open_file(const std::filesystem::path& path, const char* header) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out)
    throw std::runtime_error("cannot write " + path.string());
  if (*header)
    out << header << '\n';
  return out;
}

} // namespace

plan_answer answer_of(std::size_t row) {
  return row % 10 == 3 ? plan_answer::none : row % 10 == 7 ? plan_answer::rejected : plan_answer::accepted;
}

json planner_events(const planning_example& example, std::size_t row, std::int64_t at) {
  const auto& r = example.request;
  auto previous = json::array();
  for (auto index : r.previous_plan)
    previous.push_back(recipe_id(index));
  const std::string request_id = "req-" + example.id;
  json events = json::array();
  events.push_back({{"event_id", event_id(example.id, "plan_generated")},
                    {"event_type", "plan_generated"},
                    {"unit_type", "household"},
                    {"unit_id", example.household_id},
                    {"timestamp", core::format_rfc3339(at)},
                    {"context", {{"request_id", request_id},
                                 {"workflow", r.workflow},
                                 {"mode", r.mode},
                                 {"policy_version_id", example.policy_version_id},
                                 {"pantry_id", "p-" + example.id},
                                 {"constraint_id", "c-" + example.id},
                                 {"previous_plan", std::move(previous)},
                                 {"plan", r.generated_plan}}}});
  const auto answer = answer_of(row);
  if (answer == plan_answer::none)
    return events;
  const bool accepted = answer == plan_answer::accepted;
  auto edits = json::array();
  if (accepted && r.edit != "none")
    edits.push_back(r.edit);
  events.push_back({{"event_id", event_id(example.id, "plan_accepted")},
                    {"event_type", "plan_accepted"},
                    {"unit_type", "household"},
                    {"unit_id", example.household_id},
                    {"timestamp", core::format_rfc3339(at + 120LL * 1000000)},
                    {"context", {{"request_id", request_id},
                                 {"plan", accepted ? r.accepted_plan : r.generated_plan},
                                 {"edits", std::move(edits)}}},
                    {"metrics", {{"accepted", accepted}}}});
  return events;
}

void write_planner_domain(std::uint64_t seed, std::size_t rows, const std::string& folder,
                          std::int64_t start_micros, std::uint64_t time_scale) {
  const std::filesystem::path dir(folder);
  std::filesystem::create_directories(dir);
  auto recipes = open_file(dir / "recipes.csv", "recipe_id,name,minutes,cuisine,contains,ingredients");
  const auto all = planning_recipes();
  for (std::size_t i = 0; i < all.size(); ++i)
    recipes << csv(recipe_id(i)) << ',' << csv(all[i].name) << ',' << all[i].minutes << ',' << csv(all[i].cuisine)
            << ',' << csv(pg_array(all[i].contains)) << ',' << csv(pg_array(all[i].ingredients)) << '\n';
  auto exclusions = open_file(dir / "exclusions.csv", "name,excludes");
  for (const auto& [name, contents] : planning_exclusions())
    exclusions << csv(name) << ',' << csv(pg_array(contents)) << '\n';
  auto households = open_file(dir / "households.csv", "household_id,adults,children,diet,allergies");
  auto pantries = open_file(dir / "pantry_snapshots.csv", "pantry_id,household_id,taken_at,items");
  auto constraints = open_file(dir / "constraints.csv", "constraint_id,household_id,max_minutes,dinners,no_repeats");
  auto events = open_file(dir / "events.ndjson", "");
  std::unordered_set<std::string> seen;
  std::int64_t first = 0;
  std::size_t row = 0;
  for_each_planning_example(seed, rows, [&](planning_example&& e) {
    const auto& r = e.request;
    const auto corpus_at = *core::parse_rfc3339(e.timestamp);
    if (row == 0)
      first = corpus_at;
    const auto at = start_micros + (corpus_at - first) / static_cast<std::int64_t>(std::max<std::uint64_t>(time_scale, 1));
    if (seen.insert(e.household_id).second)
      households << csv(e.household_id) << ',' << r.adults << ',' << r.children << ',' << csv(r.diet) << ','
                 << csv(pg_array(r.allergies)) << '\n';
    auto items = json::array();
    for (const auto& [ingredient, quantity] : r.pantry)
      items.push_back({{"ingredient", ingredient}, {"quantity", quantity}});
    pantries << csv("p-" + e.id) << ',' << csv(e.household_id) << ',' << csv(core::format_rfc3339(at)) << ','
             << csv(items.dump()) << '\n';
    constraints << csv("c-" + e.id) << ',' << csv(e.household_id) << ',' << r.max_minutes << ',' << r.dinners
                << ",true\n";
    for (const auto& event : planner_events(e, row, at))
      events << event.dump() << '\n';
    ++row;
  });
  for (auto* out : {&recipes, &exclusions, &households, &pantries, &constraints, &events})
    if (!out->flush())
      throw std::runtime_error("cannot write the domain files in " + folder);
}

} // namespace expd::tools

#include "core/planner_plan.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace expd::core {

namespace {

std::vector<std::string_view> split(std::string_view text, std::string_view by) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto at = text.find(by);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos)
      return parts;
    text.remove_prefix(at + by.size());
  }
}

std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "none" is the empty list, as the corpus renders one.
std::vector<std::string> names(std::string_view list) {
  std::vector<std::string> out;
  if (list == "none" || list.empty())
    return out;
  for (auto part : split(list, ", "))
    out.emplace_back(trimmed(part));
  return out;
}

std::optional<int> leading_number(std::string_view s) {
  int n = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc{} || end == s.data())
    return std::nullopt;
  return n;
}

// "max 30 min per meal, 5 dinners, no repeats of the previous plan"
bool read_constraints(std::string_view text, planner_request& r) {
  bool any = false;
  for (auto part : split(text, ", ")) {
    part = trimmed(part);
    if (starts_with(part, "max ")) {
      if (auto n = leading_number(part.substr(4)); n && *n > 0) {
        r.max_minutes = *n;
        any = true;
      }
    } else if (part.find(" dinner") != std::string_view::npos) {
      if (auto n = leading_number(part); n && *n > 0) {
        r.dinners = *n;
        any = true;
      }
    } else if (starts_with(part, "no repeats")) {
      r.no_repeats = true;
      any = true;
    }
  }
  return any;
}

// "2 adults, 1 child" or "1 adult"
void read_household(std::string_view text, planner_request& r) {
  for (auto part : split(text, ", ")) {
    part = trimmed(part);
    auto n = leading_number(part);
    if (!n || *n < 0)
      continue;
    if (part.find(" adult") != std::string_view::npos)
      r.adults = *n;
    else if (part.find(" child") != std::string_view::npos)
      r.children = *n;
  }
}

std::string pantry_ingredient(std::string_view item, const planner_catalogue& catalogue) {
  std::string_view best;
  for (auto& [name, recipe] : catalogue.recipes)
    for (auto& ingredient : recipe.ingredients)
      if (ingredient.size() > best.size() && starts_with(item, ingredient)
          && (item.size() == ingredient.size() || item[ingredient.size()] == ' '))
        best = ingredient;
  return std::string(best.empty() ? item : best);
}

constexpr std::array<std::string_view, 8> day_labels = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun", "tonight"};

// "Mon dal tadka (35 min, uses lentils)" or "Tue leftovers of dal tadka"; nothing
// without a day label.
std::optional<planner_day> read_day(std::string_view segment) {
  auto space = segment.find(' ');
  if (space == std::string_view::npos)
    return std::nullopt;
  auto label = segment.substr(0, space);
  if (std::find(day_labels.begin(), day_labels.end(), label) == day_labels.end())
    return std::nullopt;
  auto rest = trimmed(segment.substr(space + 1));
  constexpr std::string_view leftovers = "leftovers of ";
  if (starts_with(rest, leftovers))
    return planner_day{std::string(trimmed(rest.substr(leftovers.size()))), true};
  if (auto paren = rest.find(" ("); paren != std::string_view::npos)
    rest = rest.substr(0, paren);
  return planner_day{std::string(trimmed(rest)), false};
}

} // namespace

std::optional<planner_request> parse_planner_input(std::string_view input, const planner_catalogue& catalogue) {
  planner_request r;
  bool diet = false, constraints = false;
  for (auto field : split(input, "; ")) {
    auto colon = field.find(": ");
    if (colon == std::string_view::npos)
      continue;
    auto key = trimmed(field.substr(0, colon));
    auto value = trimmed(field.substr(colon + 2));
    if (key == "household") {
      read_household(value, r);
    } else if (key == "diet") {
      r.diet = std::string(value);
      diet = !value.empty();
    } else if (key == "allergies") {
      r.allergies = names(value);
    } else if (key == "pantry") {
      // planner.plan_input renders an empty pantry "nothing".
      for (auto& item : names(value == "nothing" ? std::string_view{} : value))
        r.pantry.push_back(pantry_ingredient(item, catalogue));
    } else if (key == "constraints") {
      constraints = read_constraints(value, r);
    } else if (key == "previous plan") {
      r.previous_plan = names(value);
    } else if (key == "workflow") {
      r.workflow = std::string(value);
    } else if (key == "mode") {
      r.mode = std::string(value);
    }
  }
  if (!diet || !constraints)
    return std::nullopt;
  return r;
}

planner_plan parse_planner_plan(std::string_view text) {
  planner_plan plan;
  text = trimmed(text);
  constexpr std::string_view prefix = "plan: ";
  if (!starts_with(text, prefix))
    return plan;
  auto segments = split(text.substr(prefix.size()), "; ");
  if (trimmed(segments.front()) == "none") {
    plan.readable = plan.none = true;
    return plan;
  }
  for (auto segment : segments) {
    auto day = read_day(trimmed(segment));
    if (!day)
      break;
    plan.days.push_back(std::move(*day));
  }
  plan.readable = !plan.days.empty();
  return plan;
}

} // namespace expd::core

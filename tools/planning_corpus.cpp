#include "tools/planning_corpus.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <random>

#include "core/dataset_build.hpp"
#include "core/rfc3339.hpp"

namespace expd::tools {

namespace {

// What a recipe contains, as diets and allergies exclude it.
enum contents : unsigned { meat = 1, fish = 2, dairy = 4, gluten = 8, nuts = 16, egg = 32 };

struct recipe {
  const char* name;
  int minutes;
  unsigned contains;
  const char* cuisine;
  std::vector<const char*> ingredients;
};

// Names with accents and other scripts keep the tokenizer's byte fallback exercised.
const std::vector<recipe> recipes = {
  {"chickpea curry", 35, 0, "indian", {"chickpeas", "coconut milk", "onions", "rice", "spinach"}},
  {"lentil soup", 40, 0, "levantine", {"lentils", "carrots", "onions", "garlic"}},
  {"veggie tacos", 25, 0, "mexican", {"tortillas", "black beans", "peppers", "avocado"}},
  {"spaghetti bolognese", 45, meat | gluten, "italian", {"pasta", "beef mince", "tomatoes", "onions", "garlic"}},
  {"crème fraîche pasta", 20, dairy | gluten, "french", {"pasta", "crème fraîche", "peas", "lemon"}},
  {"jalapeño cornbread chili", 55, dairy | egg, "mexican", {"black beans", "jalapeños", "cornmeal", "tomatoes"}},
  {"phở gà", 50, meat, "vietnamese", {"rice noodles", "chicken", "ginger", "onions"}},
  {"käsespätzle", 40, dairy | gluten | egg, "german", {"flour", "eggs", "cheese", "onions"}},
  {"salmon teriyaki", 25, fish | gluten, "japanese", {"salmon", "rice", "soy sauce", "broccoli"}},
  {"tofu stir-fry", 20, gluten, "chinese", {"tofu", "broccoli", "peppers", "rice", "soy sauce"}},
  {"peanut noodles", 15, nuts | gluten, "thai", {"noodles", "peanut butter", "cucumber", "soy sauce"}},
  {"ratatouille", 60, 0, "french", {"aubergine", "courgette", "tomatoes", "peppers", "onions"}},
  {"shakshuka", 25, egg, "levantine", {"eggs", "tomatoes", "peppers", "onions"}},
  {"chicken traybake", 50, meat, "british", {"chicken", "potatoes", "carrots", "garlic"}},
  {"mushroom risotto", 40, dairy, "italian", {"rice", "mushrooms", "onions", "parmesan"}},
  {"bean chili", 45, 0, "mexican", {"black beans", "kidney beans", "tomatoes", "peppers", "onions"}},
  {"pesto gnocchi", 15, nuts | dairy | gluten, "italian", {"gnocchi", "pesto", "spinach"}},
  {"fish tacos", 25, fish, "mexican", {"cod", "tortillas", "cabbage", "lime"}},
  {"spinach omelette", 10, egg | dairy, "french", {"eggs", "cheese", "spinach"}},
  {"smørrebrød", 15, fish | gluten | dairy, "danish", {"rye bread", "smoked salmon", "butter", "dill"}},
  {"dal tadka", 35, 0, "indian", {"lentils", "tomatoes", "onions", "garlic", "rice"}},
  {"jollof rice", 50, 0, "west african", {"rice", "tomatoes", "peppers", "onions"}},
  {"greek salad", 10, dairy, "greek", {"tomatoes", "cucumber", "feta", "olives"}},
  {"falafel wraps", 30, gluten, "levantine", {"chickpeas", "flatbread", "cucumber", "tahini"}},
  {"cauliflower cashew korma", 40, nuts | dairy, "indian", {"cauliflower", "cashews", "onions", "yogurt", "rice"}},
  {"baked potatoes with beans", 70, dairy, "british", {"potatoes", "baked beans", "cheese"}},
};

struct diet {
  const char* name;
  unsigned excludes;
};
const std::vector<diet> diets = {
  {"omnivore", 0}, {"pescatarian", meat}, {"vegetarian", meat | fish}, {"vegan", meat | fish | dairy | egg}};

struct allergy {
  const char* name;
  unsigned excludes;
};
const std::vector<allergy> allergies = {{"nuts", nuts}, {"gluten", gluten}, {"dairy", dairy}, {"eggs", egg}};

struct workflow {
  const char* name;
  int days;
};
const std::vector<workflow> workflows = {{"weekly_plan", 7}, {"weekday_plan", 5}, {"top_up", 3}, {"tonight", 1}};
const std::vector<const char*> modes = {"quick", "balanced", "adventurous"};
const std::vector<const char*> day_names = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
const std::vector<const char*> quantities = {"1", "2", "3", "200 g", "500 g", "1 kg", "half a bag", "1 can", "2 cans"};
const std::vector<int> time_limits = {20, 30, 45, 60, 90};
const std::vector<const char*> policy_versions = {"planner-baseline-1", "planner-baseline-2"};

// Draws from std::mt19937_64 by modulo: the engine's outputs are the same everywhere,
// and a bias of n / 2^64 is nothing for a corpus.
struct draw {
  std::mt19937_64 engine;

  std::size_t below(std::size_t n) {
    return static_cast<std::size_t>(engine() % n);
  }

  bool one_in(std::size_t n) {
    return below(n) == 0;
  }

  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[below(from.size())];
  }

  // Fisher-Yates with our own draws (std::shuffle's order differs between libraries).
  template <class T>
  void shuffle(std::vector<T>& items) {
    for (std::size_t i = items.size(); i > 1; --i)
      std::swap(items[i - 1], items[below(i)]);
  }
};

struct household {
  std::string id;
  int adults;
  int children;
  const diet* eats;
  std::vector<const allergy*> allergic_to;
  std::vector<std::size_t> last_plan; // recipe indexes of its previous accepted plan
};

std::string people(const household& h) {
  std::string text = std::to_string(h.adults) + (h.adults == 1 ? " adult" : " adults");
  if (h.children > 0)
    text += ", " + std::to_string(h.children) + (h.children == 1 ? " child" : " children");
  return text;
}

template <class T, class F>
std::string joined(const std::vector<T>& items, F text_of, const char* none = "none") {
  if (items.empty())
    return none;
  std::string text;
  for (const auto& item : items)
    text += (text.empty() ? "" : ", ") + std::string(text_of(item));
  return text;
}

household make_household(draw& d, std::size_t index) {
  household h{"hh-" + std::to_string(1000 + index), 1 + static_cast<int>(d.below(4)),
              static_cast<int>(d.below(4)), &d.pick(diets), {}, {}};
  for (const auto& a : allergies)
    if (d.one_in(5))
      h.allergic_to.push_back(&a);
  return h;
}

// The plan a household accepts: per day the allowed recipe that uses most of the pantry
// (quick mode also prefers the shortest, adventurous mode a cuisine not yet planned),
// leftovers when allowed recipes run out, and now and then one day swapped by the user.
struct plan {
  std::vector<std::optional<std::size_t>> days; // nothing: leftovers of the first day
  std::string edit = "none";
  std::vector<std::optional<std::size_t>> generated; // the days before the user's edit
};

plan make_plan(draw& d, const household& h, const std::vector<std::string>& pantry, int days,
               int max_minutes, const std::string& mode) {
  unsigned excluded = h.eats->excludes;
  for (const allergy* a : h.allergic_to)
    excluded |= a->excludes;
  std::vector<std::size_t> allowed;
  for (std::size_t i = 0; i < recipes.size(); ++i)
    if ((recipes[i].contains & excluded) == 0 && recipes[i].minutes <= max_minutes &&
        std::find(h.last_plan.begin(), h.last_plan.end(), i) == h.last_plan.end())
      allowed.push_back(i);
  d.shuffle(allowed); // ties go to a different recipe in each example

  auto score = [&](std::size_t i, const std::vector<const char*>& cuisines) {
    int s = 0;
    for (const char* ingredient : recipes[i].ingredients)
      if (std::find(pantry.begin(), pantry.end(), ingredient) != pantry.end())
        s += 10;
    if (mode == "quick")
      s -= recipes[i].minutes / 5;
    if (mode == "adventurous" && std::find(cuisines.begin(), cuisines.end(), recipes[i].cuisine) == cuisines.end())
      s += 15;
    return s;
  };
  plan p;
  std::vector<const char*> cuisines;
  for (int day = 0; day < days; ++day) {
    if (allowed.empty()) {
      p.days.push_back(std::nullopt);
      continue;
    }
    auto best = std::max_element(allowed.begin(), allowed.end(), [&](std::size_t a, std::size_t b) {
      return score(a, cuisines) < score(b, cuisines);
    });
    p.days.push_back(*best);
    cuisines.push_back(recipes[*best].cuisine);
    allowed.erase(best);
  }
  p.generated = p.days;
  if (days > 1 && !allowed.empty() && p.days[0] && d.one_in(4)) {
    const std::size_t day = d.below(static_cast<std::size_t>(days));
    if (p.days[day]) {
      const std::size_t swapped_in = d.pick(allowed);
      p.edit = std::string(day_names[day]) + " " + recipes[*p.days[day]].name + " -> " + recipes[swapped_in].name;
      p.days[day] = swapped_in;
    }
  }
  return p;
}

// The days' meals and the shopping list, without the edits.
std::string days_text(const std::vector<std::optional<std::size_t>>& days, const std::vector<std::string>& pantry,
                      const std::string& reason) {
  if (!days.empty() && !days[0])
    return "plan: none; reason: " + reason;
  std::string text = "plan: ";
  std::vector<std::string> shopping;
  for (std::size_t day = 0; day < days.size(); ++day) {
    const std::string label = days.size() == 1 ? "tonight" : day_names[day];
    text += day == 0 ? "" : "; ";
    if (!days[day]) {
      text += label + " leftovers of " + recipes[*days[0]].name;
      continue;
    }
    const recipe& r = recipes[*days[day]];
    std::vector<std::string> used;
    for (const char* ingredient : r.ingredients) {
      if (std::find(pantry.begin(), pantry.end(), ingredient) != pantry.end())
        used.emplace_back(ingredient);
      else if (std::find(shopping.begin(), shopping.end(), ingredient) == shopping.end())
        shopping.emplace_back(ingredient);
    }
    text += label + " " + r.name + " (" + std::to_string(r.minutes) + " min, uses " +
            joined(used, [](const std::string& s) { return s; }, "nothing from the pantry") + ")";
  }
  return text + "; shopping: " + joined(shopping, [](const std::string& s) { return s; });
}

const char* const content_names[] = {"meat", "fish", "dairy", "gluten", "nuts", "egg"};

} // namespace

std::vector<planning_example> generate_planning_corpus(std::uint64_t seed, std::size_t rows) {
  std::vector<planning_example> corpus;
  corpus.reserve(rows);
  for_each_planning_example(seed, rows, [&](planning_example&& e) { corpus.push_back(std::move(e)); });
  return corpus;
}

void for_each_planning_example(std::uint64_t seed, std::size_t rows,
                               const std::function<void(planning_example&&)>& each) {
  draw d{std::mt19937_64(seed)};
  std::vector<household> households;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, rows / 4); ++i)
    households.push_back(make_household(d, i));

  std::vector<std::string> ingredients;
  for (const auto& r : recipes)
    for (const char* ingredient : r.ingredients)
      if (std::find(ingredients.begin(), ingredients.end(), ingredient) == ingredients.end())
        ingredients.emplace_back(ingredient);

  // 2025-01-06T00:00:00Z, and about an hour between requests.
  core::unix_micros at = 1736121600LL * 1000000;
  for (std::size_t row = 0; row < rows; ++row) {
    household& h = households[d.below(households.size())];
    std::vector<std::string> pantry = ingredients;
    d.shuffle(pantry);
    pantry.resize(3 + d.below(5));
    const workflow& flow = d.pick(workflows);
    const std::string mode = d.pick(modes);
    const int max_minutes = d.pick(time_limits);

    planning_request request{h.adults, h.children, h.eats->name, {}, {}, max_minutes, flow.days, flow.name,
                             mode, h.last_plan, {}, {}, {}};
    for (const allergy* a : h.allergic_to)
      request.allergies.emplace_back(a->name);
    std::string input = "household: " + people(h) + "; diet: " + h.eats->name + "; allergies: " +
                        joined(h.allergic_to, [](const allergy* a) { return a->name; }) + "; pantry: ";
    for (std::size_t i = 0; i < pantry.size(); ++i) {
      request.pantry.emplace_back(pantry[i], d.pick(quantities));
      input += (i == 0 ? "" : ", ") + pantry[i] + " " + request.pantry.back().second;
    }
    input += "; constraints: max " + std::to_string(max_minutes) + " min per meal, " + std::to_string(flow.days) +
             (flow.days == 1 ? " dinner" : " dinners") + ", no repeats of the previous plan; workflow: " +
             flow.name + "; mode: " + mode + "; previous plan: " +
             joined(h.last_plan, [](std::size_t i) { return recipes[i].name; });

    const plan p = make_plan(d, h, pantry, flow.days, max_minutes, mode);
    const std::string reason = std::string("no recipe fits diet ") + h.eats->name + ", allergies " +
                               joined(h.allergic_to, [](const allergy* a) { return a->name; }) + " and max " +
                               std::to_string(max_minutes) + " min";
    at += static_cast<core::unix_micros>(1800 + d.below(3600)) * 1000000;
    request.generated_plan = days_text(p.generated, pantry, reason);
    request.accepted_plan = days_text(p.days, pantry, reason);
    request.edit = p.edit;
    std::string target = request.accepted_plan + "; edits: " + p.edit;
    each({"ex-" + std::to_string(seed) + "-" + std::to_string(row), h.id, std::move(input), std::move(target),
          core::format_rfc3339(at), d.pick(policy_versions), std::move(request)});
    h.last_plan.clear();
    for (const auto& day : p.days)
      if (day)
        h.last_plan.push_back(*day);
  }
}

std::vector<planning_recipe> planning_recipes() {
  std::vector<planning_recipe> out;
  for (const auto& r : recipes) {
    planning_recipe p{r.name, r.minutes, r.cuisine, {}, {r.ingredients.begin(), r.ingredients.end()}};
    for (unsigned bit = 0; bit < 6; ++bit)
      if (r.contains & (1u << bit))
        p.contains.emplace_back(content_names[bit]);
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<std::pair<std::string, std::vector<std::string>>> planning_exclusions() {
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  auto named = [&](const char* name, unsigned excludes) {
    std::vector<std::string> contents;
    for (unsigned bit = 0; bit < 6; ++bit)
      if (excludes & (1u << bit))
        contents.emplace_back(content_names[bit]);
    out.emplace_back(name, std::move(contents));
  };
  for (const auto& d : diets)
    named(d.name, d.excludes);
  for (const auto& a : allergies)
    named(a.name, a.excludes);
  return out;
}

std::string corpus_split(const std::string& household_id, double validation_fraction) {
  return core::dataset_split(household_id, validation_fraction);
}

} // namespace expd::tools

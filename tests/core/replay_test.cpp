// Offline replay's plain logic: reading planner texts back, scoring a predicted plan,
// the replay request and the verdict under the acceptance criteria.
#include <gtest/gtest.h>

#include "core/field_error.hpp"
#include "core/planner_plan.hpp"
#include "core/replay.hpp"
#include "core/replay_scores.hpp"

namespace {

using namespace expd::core;
using nlohmann::json;

planner_catalogue catalogue() {
  planner_catalogue c;
  auto add = [&](planner_recipe r) { c.recipes[r.name] = std::move(r); };
  add({"dal tadka", 35, "indian", {}, {"lentils", "tomatoes", "onions", "rice"}});
  add({"bean chili", 45, "mexican", {}, {"black beans", "kidney beans", "tomatoes"}});
  add({"veggie tacos", 25, "mexican", {}, {"tortillas", "black beans", "avocado"}});
  add({"peanut noodles", 15, "thai", {"nuts", "gluten"}, {"noodles", "peanut butter"}});
  add({"chicken traybake", 50, "british", {"meat"}, {"chicken", "potatoes"}});
  add({"crème fraîche pasta", 20, "french", {"dairy", "gluten"}, {"pasta", "crème fraîche"}});
  add({"coconut curry", 30, "thai", {}, {"coconut milk", "coconut", "rice"}});
  c.excludes = {{"omnivore", {}}, {"vegan", {"meat", "fish", "dairy", "egg"}}, {"nuts", {"nuts"}}};
  return c;
}

const char* input = "household: 2 adults, 1 child; diet: vegan; allergies: nuts; pantry: lentils 500 g, coconut "
                    "milk 1 can, tortillas 2; constraints: max 40 min per meal, 3 dinners, no repeats of the "
                    "previous plan; workflow: top_up; mode: quick; previous plan: bean chili";

TEST(planner_input, reads_the_constraints_and_the_pantry_ingredients) {
  auto r = parse_planner_input(input, catalogue());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->diet, "vegan");
  EXPECT_EQ(r->allergies, std::vector<std::string>{"nuts"});
  // The longest ingredient wins: "coconut milk", not "coconut".
  EXPECT_EQ(r->pantry, (std::vector<std::string>{"lentils", "coconut milk", "tortillas"}));
  EXPECT_EQ(r->max_minutes, 40);
  EXPECT_EQ(r->dinners, 3);
  EXPECT_TRUE(r->no_repeats);
  EXPECT_EQ(r->previous_plan, std::vector<std::string>{"bean chili"});
}

TEST(planner_input, reads_the_household_workflow_and_mode) {
  auto r = parse_planner_input(input, catalogue());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->adults, 2);
  EXPECT_EQ(r->children, 1);
  EXPECT_EQ(r->workflow, "top_up");
  EXPECT_EQ(r->mode, "quick");
  r = parse_planner_input("household: 1 adult, 3 children; diet: vegan; constraints: 1 dinner", catalogue());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->adults, 1);
  EXPECT_EQ(r->children, 3);
  EXPECT_EQ(r->workflow, "");
  EXPECT_EQ(r->mode, "");
}

TEST(planner_input, none_is_an_empty_list_and_missing_fields_are_refused) {
  auto r = parse_planner_input("diet: omnivore; allergies: none; pantry: rice 1 kg; constraints: max 20 min per "
                               "meal, 1 dinner; previous plan: none",
                               catalogue());
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->allergies.empty());
  EXPECT_TRUE(r->previous_plan.empty());
  EXPECT_EQ(r->pantry, std::vector<std::string>{"rice"});
  EXPECT_EQ(r->dinners, 1);
  EXPECT_FALSE(r->no_repeats);
  EXPECT_FALSE(parse_planner_input("household: 2 adults; constraints: max 20 min per meal", catalogue()));
  EXPECT_FALSE(parse_planner_input("diet: vegan; pantry: rice 1 kg", catalogue()));
  EXPECT_FALSE(parse_planner_input("", catalogue()));
}

TEST(planner_plan, reads_days_leftovers_and_stops_at_the_shopping_list) {
  auto p = parse_planner_plan("plan: Mon dal tadka (35 min, uses lentils, rice); Tue leftovers of dal tadka; Wed "
                              "veggie tacos (25 min, uses tortillas); shopping: onions; edits: none");
  EXPECT_TRUE(p.readable);
  EXPECT_FALSE(p.none);
  ASSERT_EQ(p.days.size(), 3u);
  EXPECT_EQ(p.days[0], (planner_day{"dal tadka", false}));
  EXPECT_EQ(p.days[1], (planner_day{"dal tadka", true}));
  EXPECT_EQ(p.days[2], (planner_day{"veggie tacos", false}));
  auto tonight = parse_planner_plan("plan: tonight crème fraîche pasta (20 min, uses pasta); shopping: none");
  ASSERT_EQ(tonight.days.size(), 1u);
  EXPECT_EQ(tonight.days[0].recipe, "crème fraîche pasta");
}

TEST(planner_plan, none_and_garbage) {
  auto none = parse_planner_plan("plan: none; reason: no recipe fits diet vegan");
  EXPECT_TRUE(none.readable);
  EXPECT_TRUE(none.none);
  EXPECT_TRUE(none.days.empty());
  EXPECT_FALSE(parse_planner_plan("").readable);
  EXPECT_FALSE(parse_planner_plan("Mon dal tadka").readable);
  EXPECT_FALSE(parse_planner_plan("plan: tadka dal tadka; Mon").readable);
  // Days end at the first segment without a label; what came before counts.
  auto cut = parse_planner_plan("plan: Mon dal tadka; lentils lentils; Tue bean chili");
  EXPECT_TRUE(cut.readable);
  EXPECT_EQ(cut.days.size(), 1u);
}

planner_request request() {
  return *parse_planner_input(input, catalogue());
}

TEST(score_plan, the_accepted_plan_scores_perfectly_against_itself) {
  auto accepted = parse_planner_plan("plan: Mon dal tadka (35 min); Tue veggie tacos (25 min); Wed coconut curry "
                                     "(30 min); shopping: none");
  auto s = score_plan(accepted, accepted, request(), catalogue());
  EXPECT_EQ(s.violations.total(), 0u);
  EXPECT_EQ(s.plan_alignment, 1);
  EXPECT_EQ(s.constraint_respect, 1);
  EXPECT_EQ(s.edit_distance, 1);
  EXPECT_DOUBLE_EQ(s.variety, 1.0);   // indian, mexican, thai
  EXPECT_DOUBLE_EQ(s.leftovers, 1.0); // lentils, tortillas, coconut milk
}

TEST(score_plan, each_violation_is_counted_by_kind) {
  auto accepted = parse_planner_plan("plan: Mon dal tadka; Tue veggie tacos; Wed coconut curry");
  // Peanut noodles: nuts (allergy) and gluten is fine for vegan, so one diet fault;
  // chicken traybake: meat (diet) and 50 min (too long); bean chili: the previous plan's
  // and 45 min (too long);
  // four days for three dinners; "moon pie" is no recipe.
  auto predicted = parse_planner_plan("plan: Mon peanut noodles; Tue chicken traybake; Wed bean chili; Thu moon pie");
  auto s = score_plan(predicted, accepted, request(), catalogue());
  EXPECT_EQ(s.violations.diet, 2u);
  EXPECT_EQ(s.violations.too_long, 2u);
  EXPECT_EQ(s.violations.repeated, 1u);
  EXPECT_EQ(s.violations.wrong_days, 1u);
  EXPECT_EQ(s.violations.unknown_recipe, 1u);
  EXPECT_EQ(s.violations.unreadable, 0u);
  EXPECT_EQ(s.constraint_respect, 0);
  EXPECT_EQ(s.plan_alignment, 0);
  auto twice = parse_planner_plan("plan: Mon dal tadka; Tue dal tadka; Wed coconut curry");
  auto t = score_plan(twice, accepted, request(), catalogue());
  EXPECT_EQ(t.violations.repeated, 1u);
  EXPECT_EQ(t.violations.total(), 1u);
}

TEST(score_plan, alignment_edit_distance_variety_and_leftovers) {
  auto accepted = parse_planner_plan("plan: Mon dal tadka; Tue veggie tacos; Wed coconut curry");
  // One day shifted: alignment counts same-day matches only (1 of 3), the edit distance
  // sees one deletion and one insertion (2 of 3).
  auto shifted = parse_planner_plan("plan: Mon dal tadka; Tue coconut curry; Wed veggie tacos");
  auto s = score_plan(shifted, accepted, request(), catalogue());
  EXPECT_DOUBLE_EQ(s.plan_alignment, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(s.edit_distance, 1.0 - 2.0 / 3.0);
  // Cuisines indian, thai, mexican: 3 of 3 cooked days.
  EXPECT_DOUBLE_EQ(s.variety, 1.0);
  // Pantry lentils, coconut milk, tortillas: all three used.
  EXPECT_DOUBLE_EQ(s.leftovers, 1.0);
  auto shorter = parse_planner_plan("plan: Mon dal tadka; Tue leftovers of dal tadka");
  auto t = score_plan(shorter, accepted, request(), catalogue());
  EXPECT_DOUBLE_EQ(t.plan_alignment, 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(t.edit_distance, 1.0 - 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(t.variety, 1.0);          // one cooked day, one cuisine
  EXPECT_DOUBLE_EQ(t.leftovers, 1.0 / 3.0);  // lentils only
  EXPECT_EQ(t.violations.wrong_days, 1u);
}

TEST(score_plan, unreadable_and_none) {
  auto accepted = parse_planner_plan("plan: Mon dal tadka; Tue veggie tacos; Wed coconut curry");
  auto garbage = score_plan(parse_planner_plan("lentils lentils lentils"), accepted, request(), catalogue());
  EXPECT_EQ(garbage.violations.unreadable, 1u);
  EXPECT_EQ(garbage.violations.total(), 1u);
  EXPECT_EQ(garbage.plan_alignment, 0);
  EXPECT_EQ(garbage.edit_distance, 0);
  EXPECT_EQ(garbage.leftovers, 0);
  auto none = parse_planner_plan("plan: none; reason: nothing fits");
  auto both = score_plan(none, none, request(), catalogue());
  EXPECT_EQ(both.plan_alignment, 1);
  EXPECT_EQ(both.edit_distance, 1);
  EXPECT_EQ(both.violations.total(), 0u);
  auto gave_up = score_plan(none, accepted, request(), catalogue());
  EXPECT_EQ(gave_up.plan_alignment, 0);
  EXPECT_EQ(gave_up.violations.total(), 0u);
}

TEST(model_reference, versions_and_aliases) {
  auto v = parse_model_reference("planner_model/5");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->name, "planner_model");
  EXPECT_EQ(v->version, 5);
  EXPECT_EQ(v->text(), "planner_model/5");
  auto a = parse_model_reference("planner_model@production");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->alias, "production");
  EXPECT_EQ(a->version, 0);
  for (auto bad : {"planner_model", "planner_model/", "/5", "planner_model/05", "planner_model/x", "a b/1",
                   "planner_model@", "planner_model/99999999999"})
    EXPECT_FALSE(parse_model_reference(bad)) << bad;
}

std::string fault_of(const json& body) {
  try {
    parse_replay_request(body);
  } catch (const field_error& e) {
    return e.field();
  }
  return "";
}

TEST(replay_request, defaults_and_every_field) {
  auto r = parse_replay_request(
    {{"candidate", "planner_model/2"}, {"baseline", "planner_model@production"}, {"dataset", "planner/2025-12-01"}});
  EXPECT_EQ(r.split, "validation");
  EXPECT_EQ(r.criteria.max_violations, 0u);
  EXPECT_EQ(r.criteria.variety_tolerance, 0.02);
  auto full = parse_replay_request({{"candidate", "m/2"},
                                    {"baseline", "m/1"},
                                    {"dataset", "planner/2025-12-01.2"},
                                    {"split", "all"},
                                    {"max_rows", 50},
                                    {"max_new_tokens", 64},
                                    {"bootstrap", {{"resamples", 500}, {"confidence", 0.9}, {"seed", 4}}},
                                    {"criteria", {{"max_violations", 3}, {"alignment_tolerance", 0.05}}}});
  EXPECT_EQ(full.max_rows, 50u);
  EXPECT_EQ(full.resamples, 500u);
  EXPECT_EQ(full.criteria.max_violations, 3u);
  EXPECT_EQ(full.criteria.alignment_tolerance, 0.05);
  EXPECT_EQ(replay_request_json(full)["criteria"]["max_violations"], 3);
}

TEST(replay_request, each_fault_is_named) {
  json ok = {{"candidate", "m/2"}, {"baseline", "m/1"}, {"dataset", "planner/2025-12-01"}};
  auto with = [&](const char* key, json value) {
    auto b = ok;
    b[key] = std::move(value);
    return b;
  };
  EXPECT_EQ(fault_of(json::array()), "body");
  EXPECT_EQ(fault_of({{"baseline", "m/1"}, {"dataset", "planner/x"}}), "candidate");
  EXPECT_EQ(fault_of(with("candidate", "m")), "candidate");
  EXPECT_EQ(fault_of(with("baseline", "m/2")), "baseline");
  EXPECT_EQ(fault_of(with("dataset", "planner")), "dataset");
  EXPECT_EQ(fault_of(with("split", "test")), "split");
  EXPECT_EQ(fault_of(with("max_rows", 0)), "max_rows");
  EXPECT_EQ(fault_of(with("max_new_tokens", 1.5)), "max_new_tokens");
  EXPECT_EQ(fault_of(with("bootstrap", {{"resamples", 5}})), "bootstrap.resamples");
  EXPECT_EQ(fault_of(with("criteria", {{"alignment_tolerance", 2}})), "criteria.alignment_tolerance");
  EXPECT_EQ(fault_of(with("criteria", {{"speed", 1}})), "criteria.speed");
  EXPECT_EQ(fault_of(with("colour", "red")), "colour");
}

plan_scores scores(double alignment, double edit, double variety, double leftovers, std::uint32_t diet = 0) {
  plan_scores s;
  s.plan_alignment = alignment;
  s.edit_distance = edit;
  s.variety = variety;
  s.leftovers = leftovers;
  s.violations.diet = diet;
  s.constraint_respect = diet == 0 ? 1 : 0;
  return s;
}

replay_request request_with(replay_criteria c) {
  replay_request r;
  r.resamples = 500;
  r.criteria = c;
  return r;
}

TEST(judge_replay, a_better_candidate_is_accepted) {
  std::vector<plan_scores> candidate, baseline;
  for (int i = 0; i < 20; ++i) {
    candidate.push_back(scores(0.6, 0.7, 0.8, 0.5));
    baseline.push_back(scores(0.5, 0.6, 0.8, 0.5));
  }
  auto v = judge_replay(candidate, baseline, request_with({}));
  EXPECT_TRUE(v.accepted()) << v.failed.front();
  ASSERT_EQ(v.metrics.size(), 5u);
  EXPECT_EQ(v.metrics[0].name, "plan_alignment_score");
  EXPECT_NEAR(v.metrics[0].difference.estimate, 0.1, 1e-12);
  EXPECT_NEAR(v.metrics[0].candidate, 0.6, 1e-12);
  EXPECT_FALSE(v.metrics[1].tolerance); // constraint respect is gated by max_violations
  EXPECT_EQ(replay_verdict_json(v)["verdict"], "accepted");
}

TEST(judge_replay, says_which_criterion_failed_and_by_how_much) {
  std::vector<plan_scores> candidate, baseline;
  for (int i = 0; i < 10; ++i) {
    candidate.push_back(scores(0.5, 0.5, 0.7, 0.5, i == 0 ? 2 : 0));
    baseline.push_back(scores(0.5, 0.6, 0.8, 0.51));
  }
  auto v = judge_replay(candidate, baseline, request_with({}));
  ASSERT_FALSE(v.accepted());
  ASSERT_EQ(v.failed.size(), 3u);
  EXPECT_NE(v.failed[0].find("broke 2 constraints in 10 rows (at most 0"), std::string::npos) << v.failed[0];
  EXPECT_NE(v.failed[1].find("edit_distance_score fell by 0.1"), std::string::npos) << v.failed[1];
  EXPECT_NE(v.failed[2].find("variety_score fell by 0.1"), std::string::npos) << v.failed[2];
  // Leftovers fell by 0.01, inside its tolerance of 0.02.
  EXPECT_TRUE(v.metrics[4].passed);
  EXPECT_EQ(v.candidate_violations.diet, 2u);
  // Looser criteria accept the same rows.
  replay_criteria loose;
  loose.max_violations = 2;
  loose.edit_distance_tolerance = 0.1;
  loose.variety_tolerance = 0.1;
  EXPECT_TRUE(judge_replay(candidate, baseline, request_with(loose)).accepted());
}

TEST(judge_replay, refuses_rows_that_do_not_pair) {
  EXPECT_THROW(judge_replay({}, {}, request_with({})), std::invalid_argument);
  EXPECT_THROW(judge_replay({scores(1, 1, 1, 1)}, {}, request_with({})), std::invalid_argument);
}

} // namespace

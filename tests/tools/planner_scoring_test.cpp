// Offline replay's reading of planner texts (core/planner_plan, core/replay_scores) on
// the synthetic corpus: every input reads back as the request it was rendered from, and
// every accepted plan, which respects its household's constraints by construction,
// scores without a violation against itself. Then drift (core/planner_features) between
// two draws of the corpus, and against a draw of one workflow only.
#include <gtest/gtest.h>

#include "core/planner_features.hpp"
#include "core/planner_plan.hpp"
#include "core/replay_scores.hpp"
#include "tools/planning_corpus.hpp"

namespace {

using namespace expd;

core::planner_catalogue corpus_catalogue() {
  core::planner_catalogue c;
  for (auto& r : tools::planning_recipes())
    c.recipes[r.name] = {r.name, r.minutes, r.cuisine, r.contains, r.ingredients};
  for (auto& [name, excludes] : tools::planning_exclusions())
    c.excludes[name] = excludes;
  return c;
}

TEST(planner_scoring, corpus_inputs_read_back_and_accepted_plans_break_nothing) {
  const auto catalogue = corpus_catalogue();
  const auto recipes = tools::planning_recipes();
  std::size_t edited = 0, none = 0;
  for (auto& e : tools::generate_planning_corpus(11, 3000)) {
    auto request = core::parse_planner_input(e.input, catalogue);
    ASSERT_TRUE(request) << e.input;
    EXPECT_EQ(request->adults, e.request.adults);
    EXPECT_EQ(request->children, e.request.children);
    EXPECT_EQ(request->workflow, e.request.workflow);
    EXPECT_EQ(request->mode, e.request.mode);
    EXPECT_EQ(request->diet, e.request.diet);
    EXPECT_EQ(request->allergies, e.request.allergies);
    EXPECT_EQ(request->max_minutes, e.request.max_minutes);
    EXPECT_EQ(request->dinners, e.request.dinners);
    EXPECT_TRUE(request->no_repeats);
    ASSERT_EQ(request->pantry.size(), e.request.pantry.size()) << e.input;
    for (std::size_t i = 0; i < e.request.pantry.size(); ++i)
      EXPECT_EQ(request->pantry[i], e.request.pantry[i].first) << e.input;
    ASSERT_EQ(request->previous_plan.size(), e.request.previous_plan.size());
    for (std::size_t i = 0; i < e.request.previous_plan.size(); ++i)
      EXPECT_EQ(request->previous_plan[i], recipes[e.request.previous_plan[i]].name);

    auto accepted = core::parse_planner_plan(e.target);
    ASSERT_TRUE(accepted.readable) << e.target;
    auto self = core::score_plan(accepted, accepted, *request, catalogue);
    EXPECT_EQ(self.violations.total(), 0u) << e.input << "\n" << e.target;
    EXPECT_EQ(self.plan_alignment, 1);
    EXPECT_EQ(self.edit_distance, 1);
    none += accepted.none ? 1 : 0;
    if (accepted.none)
      continue;
    EXPECT_EQ(accepted.days.size(), static_cast<std::size_t>(e.request.dinners)) << e.target;
    // The plan before the user's edit differs from the accepted one on one day at most.
    auto generated = core::parse_planner_plan(e.request.generated_plan);
    auto s = core::score_plan(generated, accepted, *request, catalogue);
    EXPECT_EQ(s.violations.total(), 0u) << e.request.generated_plan;
    if (e.request.edit != "none") {
      ++edited;
      const double n = static_cast<double>(accepted.days.size());
      EXPECT_DOUBLE_EQ(s.plan_alignment, (n - 1) / n) << e.request.edit;
      EXPECT_DOUBLE_EQ(s.edit_distance, (n - 1) / n);
    } else {
      EXPECT_EQ(s.plan_alignment, 1);
    }
  }
  EXPECT_GT(edited, 100u);
  EXPECT_GT(none, 0u);
}

TEST(planner_scoring, corpus_features_hold_steady_between_draws_and_shift_with_the_workflow) {
  const auto catalogue = corpus_catalogue();
  const auto& schema = core::planner_drift_schema();
  std::vector<core::drift_row> rows;
  for (auto& e : tools::generate_planning_corpus(11, 3000)) {
    auto row = core::planner_features(e.input, catalogue);
    ASSERT_TRUE(row) << e.input;
    EXPECT_EQ(row->numeric[0], e.request.adults + e.request.children);
    EXPECT_EQ(row->numeric[1], static_cast<double>(e.request.pantry.size()));
    EXPECT_EQ(row->numeric[3], e.request.dinners);
    EXPECT_EQ(row->categorical[1], e.request.workflow);
    rows.push_back(std::move(*row));
  }
  const core::drift_reference reference(schema, rows);
  core::drift_window same(schema), tonight(schema);
  for (auto& e : tools::generate_planning_corpus(12, 3000)) {
    auto row = core::planner_features(e.input, catalogue);
    same.add(*row);
    if (e.request.workflow == "tonight")
      tonight.add(*row);
  }
  for (auto& f : core::compare(reference, same).features) {
    ASSERT_TRUE(f.psi) << f.name;
    EXPECT_EQ(core::psi_level(*f.psi), "stable") << f.name << " " << *f.psi;
  }
  for (auto& f : core::compare(reference, tonight).features) {
    ASSERT_TRUE(f.psi) << f.name;
    if (f.name == "dinners" || f.name == "workflow")
      EXPECT_EQ(core::psi_level(*f.psi), "significant") << f.name << " " << *f.psi;
  }
}

} // namespace

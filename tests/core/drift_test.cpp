// core/drift against SciPy and NumPy (tests/core/drift_reference.py) on samples the test
// draws: shifted and unshifted, heavy with ties, tiny and lopsided; then how a reference
// and a window behave.
#include <cmath>
#include <fstream>
#include <iomanip>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <unistd.h>

#include "core/drift.hpp"
#include "tests/support/python_reference.hpp"

namespace {

using namespace expd::core;

std::string script_path() {
  std::string here = __FILE__;
  return here.substr(0, here.rfind('/')) + "/drift_reference.py";
}

std::string scratch(const std::string& name) {
  return testing::TempDir() + "drift_" + std::to_string(::getpid()) + "_" + name;
}

std::string write_values(const std::string& name, const std::vector<double>& values) {
  auto path = scratch(name);
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
  return path;
}

std::string write_lines(const std::string& name, const std::vector<std::string>& values) {
  auto path = scratch(name);
  std::ofstream out(path);
  for (auto& v : values)
    out << v << '\n';
  return path;
}

std::vector<double> normal(std::size_t n, double mean, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::normal_distribution<double> z(mean, 1);
  std::vector<double> out(n);
  for (auto& x : out)
    x = z(engine);
  return out;
}

// Whole numbers in [0, range), skewed to the low end: most values tie with many others.
std::vector<double> counts(std::size_t n, int range, double skew, std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<double> out(n);
  for (auto& x : out)
    x = std::floor(range * std::pow(u(engine), skew));
  return out;
}

std::vector<std::string> categories(std::size_t n, const std::vector<std::pair<std::string, double>>& weights,
                                    std::uint64_t seed) {
  std::mt19937_64 engine(seed);
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i) {
    double at = u(engine);
    std::size_t c = 0;
    while (c + 1 < weights.size() && at >= weights[c].second) {
      at -= weights[c].second;
      ++c;
    }
    out.push_back(weights[c].first);
  }
  return out;
}

// |got - want| within `relative` of want; equal when want is 0.
::testing::AssertionResult near(double got, double want, double relative) {
  if ((std::isnan(got) && std::isnan(want)) || std::abs(got - want) <= relative * std::abs(want))
    return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << std::setprecision(17) << got << " vs " << want << " (relative "
                                       << std::abs(got - want) / std::abs(want) << ")";
}

std::string number(double x) {
  std::ostringstream out;
  out << std::setprecision(17) << x;
  return out.str();
}

struct sample_pair {
  std::string label;
  std::vector<double> reference, live;
};

std::vector<sample_pair> numeric_cases() {
  return {
      {"unshifted", normal(2000, 0, 1), normal(1500, 0, 2)},
      {"shifted", normal(2000, 0, 3), normal(1500, 0.5, 4)},
      {"ties", counts(3000, 8, 2.5, 5), counts(700, 8, 2.5, 6)},
      {"ties_shifted", counts(3000, 8, 2.5, 7), counts(700, 8, 1.0, 8)},
      {"one_value_reference", std::vector<double>(50, 3.0), counts(40, 6, 1, 9)},
      {"live_outside", normal(400, 0, 10), normal(60, 9, 11)},
      {"identical", counts(500, 5, 1, 12), counts(500, 5, 1, 12)},
      {"lopsided", normal(10000, 0, 13), normal(31, 0.2, 14)},
      {"tiny", {0.5, 1.5, 2.5}, {1.0, 2.0}},
      {"one_each", {1.0}, {2.0}},
  };
}

TEST(drift, agrees_with_scipy_and_numpy) {
  if (!expd::test::python_has("numpy scipy"))
    GTEST_SKIP() << "/usr/bin/python3 with numpy and scipy is not installed";
  std::vector<std::string> requests;
  // kstwo.sf over every region of Simard and L'Ecuyer's method choice: n x <= 1, Durbin's
  // matrix, Pomeranz, Pelz-Good, twice the one-sided Smirnov and its approximation above
  // n = 10^6, and d >= 0.5.
  const std::vector<std::pair<std::uint64_t, double>> kstwo_points = {
      {1, 0.7},     {2, 0.3},      {5, 0.15},   {5, 0.6},      {10, 0.07},  {10, 0.2},    {10, 0.35},
      {10, 0.95},   {50, 0.1},     {50, 0.25},  {100, 0.008},  {139, 0.05}, {140, 0.17},  {141, 0.05},
      {141, 0.2},   {500, 0.0015}, {500, 0.03}, {500, 0.08},   {1000, 0.3}, {3333, 0.01}, {3333, 0.025},
      {3333, 0.05}, {3333, 0.5},   {5000, 0.2}, {100001, 0.002}, {200000, 0.001}, {2000000, 0.0012}};
  for (auto [n, d] : kstwo_points)
    requests.push_back("kstwo " + std::to_string(n) + " " + number(d));
  const auto numeric = numeric_cases();
  for (auto& c : numeric) {
    auto ref = write_values(c.label + "_reference", c.reference);
    auto live = write_values(c.label + "_live", c.live);
    requests.push_back("ks " + ref + " " + live);
    requests.push_back("psi " + ref + " " + live + " 10");
    requests.push_back("psi " + ref + " " + live + " 4");
  }
  const std::vector<std::pair<std::string, double>> diets = {{"omnivore", 0.5}, {"vegetarian", 0.3}, {"vegan", 0.2}};
  const std::vector<std::pair<std::string, double>> drifted = {
      {"omnivore", 0.2}, {"vegetarian", 0.3}, {"vegan", 0.3}, {"pescatarian", 0.2}};
  const std::vector<std::pair<std::vector<std::string>, std::vector<std::string>>> categorical = {
      {categories(3000, diets, 20), categories(800, diets, 21)},
      {categories(3000, diets, 22), categories(800, drifted, 23)},
      {categories(3000, drifted, 24), categories(200, {{"vegan", 1.0}}, 25)}};
  for (std::size_t i = 0; i < categorical.size(); ++i)
    requests.push_back("categorical " + write_lines("cat_reference_" + std::to_string(i), categorical[i].first) + " " +
                       write_lines("cat_live_" + std::to_string(i), categorical[i].second));

  auto answers = expd::test::run_python_file(script_path(), requests);
  ASSERT_EQ(answers.size(), requests.size()) << "the reference script failed";
  std::size_t at = 0;
  for (auto [n, d] : kstwo_points) {
    double want = std::stod(answers[at++]);
    EXPECT_TRUE(near(kstwo_sf(n, d), want, 1e-6)) << "kstwo n " << n << " d " << d;
  }
  for (auto& c : numeric) {
    std::istringstream ks(answers[at++]);
    std::string d_text, p_text;
    ks >> d_text >> p_text;
    auto got = ks_two_sample(c.reference, c.live);
    EXPECT_TRUE(near(got.statistic, std::stod(d_text), 1e-9)) << c.label;
    EXPECT_TRUE(near(got.p_value, p_text == "nan" ? NAN : std::stod(p_text), 1e-6)) << c.label;
    for (std::size_t bins : {10, 4}) {
      auto sorted = c.reference;
      std::sort(sorted.begin(), sorted.end());
      auto edges = quantile_bin_edges(sorted, bins);
      double psi = population_stability_index(bin_shares(edges, sorted), bin_shares(edges, c.live));
      EXPECT_TRUE(near(psi, std::stod(answers[at++]), 1e-9)) << c.label << ", " << bins << " bins";
    }
  }
  for (std::size_t i = 0; i < categorical.size(); ++i) {
    // Through a reference and a window, as the product computes it.
    drift_schema schema{{}, {"diet"}};
    std::vector<drift_row> rows;
    for (auto& v : categorical[i].first)
      rows.push_back({{}, {v}});
    drift_window window(schema);
    for (auto& v : categorical[i].second)
      window.add({{}, {v}});
    auto report = compare(drift_reference(schema, rows), window);
    ASSERT_TRUE(report.features.at(0).psi);
    EXPECT_TRUE(near(*report.features[0].psi, std::stod(answers[at++]), 1e-9)) << "categorical " << i;
  }
}

TEST(drift, a_report_carries_the_figures_of_its_samples) {
  auto reference = normal(2000, 0, 31), live = normal(400, 0.3, 32);
  drift_schema schema{{"pantry_items"}, {}};
  std::vector<drift_row> rows;
  for (double x : reference)
    rows.push_back({{x}, {}});
  drift_window window(schema);
  for (double x : live)
    window.add({{x}, {}});
  auto report = compare(drift_reference(schema, rows), window);
  ASSERT_EQ(report.features.size(), 1u);
  auto& f = report.features[0];
  EXPECT_EQ(f.name, "pantry_items");
  EXPECT_EQ(f.kind, feature_kind::numeric);
  EXPECT_EQ(f.reference_n, 2000u);
  EXPECT_EQ(f.live_n, 400u);
  auto ks = ks_two_sample(reference, live);
  EXPECT_EQ(f.ks_statistic, ks.statistic);
  EXPECT_EQ(f.ks_p_value, ks.p_value);
  std::sort(reference.begin(), reference.end());
  auto edges = quantile_bin_edges(reference);
  EXPECT_EQ(f.psi, population_stability_index(bin_shares(edges, reference), bin_shares(edges, live)));
}

TEST(drift, an_unshifted_sample_reads_stable_and_a_shifted_one_significant) {
  drift_schema schema{{"dinners"}, {"mode"}};
  auto rows_of = [](const std::vector<double>& x, const std::vector<std::string>& c) {
    std::vector<drift_row> rows;
    for (std::size_t i = 0; i < x.size(); ++i)
      rows.push_back({{x[i]}, {c[i]}});
    return rows;
  };
  const std::vector<std::pair<std::string, double>> modes = {{"quick", 0.4}, {"balanced", 0.4}, {"adventurous", 0.2}};
  drift_reference reference(schema, rows_of(normal(8000, 0, 41), categories(8000, modes, 42)));
  drift_window same(schema), shifted(schema);
  for (auto& row : rows_of(normal(3000, 0, 43), categories(3000, modes, 44)))
    same.add(row);
  for (auto& row : rows_of(normal(3000, 1, 45), categories(3000, {{"quick", 0.9}, {"balanced", 0.1}}, 46)))
    shifted.add(row);
  for (auto& f : compare(reference, same).features) {
    ASSERT_TRUE(f.psi) << f.name;
    EXPECT_EQ(psi_level(*f.psi), "stable") << f.name << " " << *f.psi;
  }
  auto report = compare(reference, shifted);
  for (auto& f : report.features) {
    ASSERT_TRUE(f.psi) << f.name;
    EXPECT_EQ(psi_level(*f.psi), "significant") << f.name << " " << *f.psi;
  }
  ASSERT_TRUE(report.features[0].ks_p_value);
  EXPECT_LT(*report.features[0].ks_p_value, 1e-12);
  EXPECT_FALSE(report.features[1].ks_statistic) << "no KS test for a categorical feature";
}

TEST(drift, psi_levels_and_the_share_floor) {
  EXPECT_EQ(psi_level(0.0), "stable");
  EXPECT_EQ(psi_level(0.0999), "stable");
  EXPECT_EQ(psi_level(0.1), "moderate");
  EXPECT_EQ(psi_level(0.25), "moderate");
  EXPECT_EQ(psi_level(0.2501), "significant");
  // Both bins empty on one side: each zero share counts as 1e-4, nothing renormalised.
  const double floor = psi_share_floor;
  EXPECT_DOUBLE_EQ(population_stability_index({1, 0}, {0, 1}), 2 * (1 - floor) * std::log(1 / floor));
  EXPECT_EQ(population_stability_index({0.2, 0.8}, {0.2, 0.8}), 0);
  EXPECT_THROW(population_stability_index({1}, {0.5, 0.5}), std::invalid_argument);
}

TEST(drift, ties_merge_bins_so_that_every_bin_holds_reference_values) {
  const std::vector<double> sorted = {1, 1, 1, 1, 2, 2, 3, 4, 5, 6};
  // Deciles at indexes 1..9: 1 1 1 2 2 3 4 5 6; the minimum and the repeats go.
  EXPECT_EQ(quantile_bin_edges(sorted), (std::vector<double>{2, 3, 4, 5, 6}));
  EXPECT_EQ(bin_shares({2, 3, 4, 5, 6}, sorted), (std::vector<double>{0.4, 0.2, 0.1, 0.1, 0.1, 0.1}));
  EXPECT_TRUE(quantile_bin_edges({7, 7, 7}).empty());
  auto heavy = counts(5000, 6, 3, 51);
  std::sort(heavy.begin(), heavy.end());
  for (double share : bin_shares(quantile_bin_edges(heavy), heavy))
    EXPECT_GT(share, 0);
}

TEST(drift, the_window_keeps_the_last_rows_and_the_reference_is_capped) {
  drift_limits limits;
  limits.window = 5;
  limits.reference_values = 1000;
  drift_schema schema{{"x"}, {"c"}};
  drift_window window(schema, limits);
  for (int i = 0; i < 12; ++i)
    window.add({{static_cast<double>(i)}, {std::to_string(i)}});
  EXPECT_EQ(window.size(), 5u);
  auto kept = window.numeric(0);
  std::sort(kept.begin(), kept.end());
  EXPECT_EQ(kept, (std::vector<double>{7, 8, 9, 10, 11}));
  EXPECT_EQ(window.categorical(0).size(), 5u);

  std::vector<drift_row> rows;
  for (int i = 0; i < 4000; ++i)
    rows.push_back({{static_cast<double>(i)}, {"a"}});
  drift_reference reference(schema, rows, limits);
  auto& feature = reference.numeric().at(0);
  ASSERT_EQ(feature.sorted.size(), 1000u);
  // Every fourth value of the sorted sample: its deciles move by less than a stride.
  EXPECT_EQ(feature.sorted.front(), 0);
  EXPECT_EQ(feature.sorted[1], 4);
  EXPECT_EQ(feature.sorted.back(), 3996);
  EXPECT_EQ(feature.edges.size(), 9u);
  EXPECT_EQ(reference.categorical().at(0).n, 4000u);
}

TEST(drift, too_few_live_values_report_no_figures) {
  drift_schema schema{{"x"}, {"c"}};
  std::vector<drift_row> rows;
  for (int i = 0; i < 100; ++i)
    rows.push_back({{static_cast<double>(i % 7)}, {i % 2 ? "a" : "b"}});
  drift_reference reference(schema, rows);
  drift_window window(schema);
  for (int i = 0; i < 29; ++i)
    window.add({{static_cast<double>(i % 5)}, {"a"}});
  for (auto& f : compare(reference, window).features) {
    EXPECT_FALSE(f.psi) << f.name;
    EXPECT_FALSE(f.ks_statistic);
    EXPECT_FALSE(f.ks_p_value);
    EXPECT_EQ(f.live_n, 29u);
    EXPECT_EQ(f.reference_n, 100u);
  }
  window.add({{1.0}, {"a"}});
  auto report = compare(reference, window);
  EXPECT_TRUE(report.features[0].psi);
  EXPECT_TRUE(report.features[0].ks_p_value);
  EXPECT_TRUE(report.features[1].psi);

  drift_reference empty(schema, {});
  for (auto& f : compare(empty, window).features) {
    EXPECT_FALSE(f.psi) << "no reference values: " << f.name;
    EXPECT_EQ(f.reference_n, 0u);
  }
}

TEST(drift, the_report_as_json_names_each_figure_and_its_level) {
  drift_schema schema{{"x"}, {"c"}};
  std::vector<drift_row> rows;
  for (int i = 0; i < 200; ++i)
    rows.push_back({{static_cast<double>(i % 10)}, {i % 2 ? "a" : "b"}});
  drift_reference reference(schema, rows);
  drift_window window(schema);
  for (int i = 0; i < 50; ++i)
    window.add({{static_cast<double>(i % 10 + 5)}, {"a"}});
  auto report = compare(reference, window);
  auto j = drift_report_json(report);
  ASSERT_EQ(j["features"].size(), 2u);
  EXPECT_EQ(j["features"][0]["name"], "x");
  EXPECT_EQ(j["features"][0]["kind"], "numeric");
  EXPECT_DOUBLE_EQ(j["features"][0]["psi"].get<double>(), *report.features[0].psi);
  EXPECT_EQ(j["features"][0]["level"], std::string{psi_level(*report.features[0].psi)});
  EXPECT_DOUBLE_EQ(j["features"][0]["ks_statistic"].get<double>(), *report.features[0].ks_statistic);
  EXPECT_EQ(j["features"][0]["live_n"], 50);
  EXPECT_EQ(j["features"][0]["reference_n"], 200);
  EXPECT_EQ(j["features"][1]["kind"], "categorical");
  EXPECT_TRUE(j["features"][1]["ks_statistic"].is_null());
  drift_window few(schema);
  few.add({{1.0}, {"a"}});
  auto none = drift_report_json(compare(reference, few));
  EXPECT_TRUE(none["features"][0]["psi"].is_null());
  EXPECT_TRUE(none["features"][0]["level"].is_null());
}

TEST(drift, refuses_what_it_cannot_compute) {
  EXPECT_THROW(ks_two_sample({}, {1.0}), std::invalid_argument);
  EXPECT_TRUE(std::isnan(kstwo_sf(0, 0.5)));
  EXPECT_TRUE(std::isnan(ks_two_sample({1.0}, {2.0}).p_value)) << "n m / (n + m) = 1/2 rounds to 0, as in NumPy";
  drift_schema schema{{"x"}, {}};
  EXPECT_THROW(drift_reference(schema, {{{1.0, 2.0}, {}}}), std::invalid_argument);
  drift_window window(schema);
  EXPECT_THROW(window.add({{}, {"c"}}), std::invalid_argument);
  EXPECT_THROW(compare(drift_reference(drift_schema{{"x", "y"}, {}}, {}), window), std::invalid_argument);
  drift_limits none;
  none.window = 0;
  EXPECT_THROW(drift_window(schema, none), std::invalid_argument);
}

} // namespace

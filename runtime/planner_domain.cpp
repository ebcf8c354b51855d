#include "runtime/planner_domain.hpp"

namespace expd::runtime {

namespace {

std::vector<std::string> text_array(const pqxx::field& f) {
  std::vector<std::string> out;
  auto parser = f.as_array();
  for (auto [kind, value] = parser.get_next(); kind != pqxx::array_parser::juncture::done;
       std::tie(kind, value) = parser.get_next())
    if (kind == pqxx::array_parser::juncture::string_value)
      out.push_back(value);
  return out;
}

} // namespace

core::planner_catalogue read_planner_catalogue(pqxx::transaction_base& tx) {
  core::planner_catalogue c;
  for (auto r : tx.exec("SELECT name, minutes, cuisine, contains, ingredients FROM planner.recipes")) {
    core::planner_recipe recipe{r[0].as<std::string>(), r[1].as<int>(), r[2].as<std::string>(), text_array(r[3]),
                                text_array(r[4])};
    c.recipes[recipe.name] = std::move(recipe);
  }
  for (auto r : tx.exec("SELECT name, excludes FROM planner.exclusions"))
    c.excludes[r[0].as<std::string>()] = text_array(r[1]);
  return c;
}

} // namespace expd::runtime

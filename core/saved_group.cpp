#include "core/saved_group.hpp"

#include <algorithm>

#include "core/field_error.hpp"
#include "core/json_fields.hpp"

namespace expd::core {

namespace {

using nlohmann::json;

[[noreturn]] void unknown_group(const std::string& name, const std::string& path) {
  throw field_error(path, "no saved group \"" + name
                            + "\" is applied: apply it first (GET /admin/v1/saved-groups lists them)");
}

saved_group_spec parse_group(const json& g, const std::string& path, const saved_group_limits& limits) {
  if (!g.is_object())
    throw field_error(path, "a saved group must be an object");
  require_known_fields(g, path, {"name", "description", "attribute_key", "values", "condition"});
  saved_group_spec spec;
  spec.name = identifier(g, path, "name", 128);
  spec.description = optional_string(g, path, "description", 4096).value_or("");
  auto* values = optional_member(g, "values");
  auto* condition = optional_member(g, "condition");
  auto key = optional_string(g, path, "attribute_key", 256);
  if (condition != nullptr) {
    if (values != nullptr || key)
      throw field_error(path + (values != nullptr ? ".values" : ".attribute_key"),
                        "a saved group is an id list (attribute_key and values) or a condition, "
                        "not both");
    if (!condition->is_object())
      throw field_error(path + ".condition", "condition must be an object");
    spec.condition = *condition;
    return spec;
  }
  if (!key)
    throw field_error(path + ".attribute_key", "an id list needs attribute_key (the attribute "
                                               "its values are ids of), or give a condition");
  if (key->empty())
    throw field_error(path + ".attribute_key", "attribute_key must not be empty");
  spec.attribute_key = *key;
  if (values == nullptr)
    throw field_error(path + ".values", "an id list needs values");
  if (!values->is_array())
    throw field_error(path + ".values", "values must be an array of strings and numbers");
  if (values->size() > limits.max_values)
    throw field_error(path + ".values", "more than " + std::to_string(limits.max_values) + " values");
  for (std::size_t i = 0; i < values->size(); ++i) {
    auto& v = (*values)[i];
    auto at = path + ".values[" + std::to_string(i) + "]";
    // What $inGroup compares by ===: a boolean or null id would be a mistake, and an
    // array or object is never === to anything.
    if (!v.is_string() && !v.is_number())
      throw field_error(at, "a value must be a string or a number");
    if (v.is_string() && v.get_ref<const std::string&>().size() > limits.max_value_bytes)
      throw field_error(at, "a value is longer than " + std::to_string(limits.max_value_bytes) + " bytes");
  }
  spec.values = *values;
  return spec;
}

// Compiles groups as conditions ask for them, so a group is built after those it names.
class builder final : public group_lookup {
public:
  builder(const std::vector<saved_group_spec>& specs, const std::vector<std::string>& paths)
    : specs_(specs), paths_(paths), built_(specs.size()) {
    for (std::size_t i = 0; i < specs.size(); ++i)
      index_.emplace(specs[i].name, i);
  }

  std::shared_ptr<const saved_group> find(const std::string& name,
                                          const std::string& path) const override {
    auto it = index_.find(name);
    if (it == index_.end())
      unknown_group(name, path);
    auto i = it->second;
    if (built_[i])
      return built_[i];
    if (std::find(stack_.begin(), stack_.end(), i) != stack_.end()) {
      std::string chain;
      for (auto at = std::find(stack_.begin(), stack_.end(), i); at != stack_.end(); ++at)
        chain += specs_[*at].name + " -> ";
      throw field_error(path, "saved groups may not name each other in a cycle: " + chain + name);
    }
    stack_.push_back(i);
    condition compiled;
    if (!specs_[i].is_list())
      compiled = condition::compile(specs_[i].condition, path_of(i) + ".condition", this);
    stack_.pop_back();
    built_[i] = std::make_shared<const saved_group>(specs_[i], std::move(compiled));
    return built_[i];
  }

  std::string path_of(std::size_t i) const {
    return i < paths_.size() ? paths_[i] : "saved_groups." + specs_[i].name;
  }

private:
  const std::vector<saved_group_spec>& specs_;
  const std::vector<std::string>& paths_;
  std::map<std::string, std::size_t, std::less<>> index_;
  mutable std::vector<std::shared_ptr<const saved_group>> built_;
  mutable std::vector<std::size_t> stack_; // the groups being compiled, outermost first
};

} // namespace

bool operator==(const saved_group_spec& a, const saved_group_spec& b) {
  return a.name == b.name && a.description == b.description && a.attribute_key == b.attribute_key
         && a.values == b.values && a.condition == b.condition;
}

std::vector<saved_group_spec> parse_saved_group_document(const json& doc,
                                                         const saved_group_limits& limits) {
  return parse_named_list(doc, "saved_groups", limits.max_groups, "saved group",
                          [&limits](const json& g, const std::string& path) {
                            return parse_group(g, path, limits);
                          });
}

json saved_group_json(const saved_group_spec& spec) {
  json out = {{"name", spec.name}, {"description", spec.description}};
  if (spec.is_list()) {
    out["attribute_key"] = spec.attribute_key;
    out["values"] = spec.values;
  } else {
    out["condition"] = spec.condition;
  }
  return out;
}

saved_group::saved_group(saved_group_spec spec, condition compiled)
  : spec_(std::move(spec)), condition_(std::move(compiled)) {
  if (spec_.is_list()) {
    key_ = attribute_path(spec_.attribute_key);
    ids_ = value_set(spec_.values);
  }
}

bool saved_group::has_id(const json& value) const {
  return is_list() && ids_.matches(value);
}

bool saved_group::holds(const json& context) const {
  return is_list() ? ids_.matches(key_.in(context)) : condition_.matches(context);
}

saved_group_set::saved_group_set(std::vector<saved_group_spec> specs,
                                 const std::vector<std::string>& paths) {
  builder build(specs, paths);
  for (std::size_t i = 0; i < specs.size(); ++i)
    groups_.emplace(specs[i].name, build.find(specs[i].name, build.path_of(i)));
}

std::shared_ptr<const saved_group> saved_group_set::find(const std::string& name,
                                                         const std::string& path) const {
  auto it = groups_.find(name);
  if (it == groups_.end())
    unknown_group(name, path);
  return it->second;
}

const saved_group* saved_group_set::get(std::string_view name) const {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}

std::vector<const saved_group*> saved_group_set::all() const {
  std::vector<const saved_group*> out;
  for (auto& [name, group] : groups_)
    out.push_back(group.get());
  return out;
}

} // namespace expd::core

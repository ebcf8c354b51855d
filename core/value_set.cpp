#include "core/value_set.hpp"

#include <cstring>
#include <string>
#include <vector>

#include "core/text_case.hpp"

namespace expd::core {

using nlohmann::json;

value_set::value_set(const json& list, bool fold) : fold_(fold) {
  std::vector<std::string> texts;
  std::size_t bytes = 0;
  for (auto& e : list) {
    if (e.is_string()) {
      auto& s = e.get_ref<const std::string&>();
      texts.emplace_back();
      if (fold)
        js_lower_case(s, texts.back());
      else
        texts.back() = s;
      bytes += texts.back().size();
    } else if (e.is_number()) {
      numbers_.insert(e.get<double>());
    } else if (e.is_boolean()) {
      (e.get<bool>() ? has_true_ : has_false_) = true;
    } else if (e.is_null()) {
      has_null_ = true;
    }
  }
  text_ = std::make_unique<char[]>(bytes + 1);
  char* at = text_.get();
  strings_.reserve(texts.size());
  for (auto& t : texts) {
    std::memcpy(at, t.data(), t.size());
    strings_.emplace(at, t.size());
    at += t.size();
  }
}

bool value_set::contains(const json& value) const {
  switch (value.type()) {
  case json::value_t::string: {
    auto& s = value.get_ref<const std::string&>();
    if (!fold_)
      return strings_.count(s) != 0;
    thread_local std::string folded; // reused so that matching does not allocate
    js_lower_case(s, folded);
    return strings_.count(folded) != 0;
  }
  case json::value_t::number_integer:
  case json::value_t::number_unsigned:
  case json::value_t::number_float: return numbers_.count(value.get<double>()) != 0;
  case json::value_t::boolean: return value.get<bool>() ? has_true_ : has_false_;
  case json::value_t::null: return has_null_;
  default: return false;
  }
}

bool value_set::matches(const json& value) const {
  if (auto* array = value.get_ptr<const json::array_t*>()) {
    for (auto& e : *array)
      if (contains(e))
        return true;
    return false;
  }
  return contains(value);
}

std::size_t value_set::size() const noexcept {
  return strings_.size() + numbers_.size() + has_true_ + has_false_ + has_null_;
}

} // namespace expd::core

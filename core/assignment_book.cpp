#include "core/assignment_book.hpp"

#include "core/bucketing.hpp"
#include "core/field_error.hpp"

namespace expd::core {

void assignment_book::install(snapshot_ptr snap) {
  snap_ = std::move(snap);
  for (auto it = sticky_.begin(); it != sticky_.end();) {
    auto* exp = snap_->find(it->first.str());
    if (exp == nullptr || exp->salt != it->second.salt)
      it = sticky_.erase(it);
    else
      ++it;
  }
}

void assignment_book::remember(const assignment_record& row) {
  auto* exp = snap_ ? snap_->find(row.experiment_id.str()) : nullptr;
  if (exp == nullptr || exp->salt != row.salt)
    return;
  auto& table = sticky_[exp->id];
  table.salt = exp->salt;
  table.units.insert_or_assign(row.unit_id, row.variant_id);
}

void assignment_book::assign(const assign_request& req, std::vector<served_assignment>& out,
                             std::vector<assignment_record>& fresh) {
  out.clear();
  if (!snap_)
    return;
  if (req.all) {
    for (auto* exp : snap_->served_for(req.unit_type))
      assign_one(*exp, req, out, fresh);
    return;
  }
  for (std::size_t i = 0; i < req.requested.size(); ++i) {
    auto* exp = snap_->find(req.requested[i]);
    if (exp == nullptr)
      throw field_error("requested_experiments[" + std::to_string(i) + "]",
                        "unknown experiment \"" + req.requested[i] + "\"");
    if (exp->unit_type == req.unit_type
        && (exp->status == experiment_status::running
            || exp->status == experiment_status::paused))
      assign_one(*exp, req, out, fresh);
  }
}

void assignment_book::assign_one(const experiment& exp, const assign_request& req,
                                 std::vector<served_assignment>& out,
                                 std::vector<assignment_record>& fresh) {
  if (!exp.targeting.matches(req.context))
    return;
  auto& table = sticky_[exp.id];
  if (table.salt.empty())
    table.salt = exp.salt;
  if (auto it = table.units.find(req.unit_id); it != table.units.end()) {
    if (auto* var = exp.find_variant(it->second))
      out.push_back({&exp, var});
    return;
  }
  if (exp.status != experiment_status::running)
    return;
  auto index = variant_for_bucket(exp.range_ends, bucket_of(exp.salt, req.unit_id));
  if (index < 0)
    return;
  auto& var = exp.variants[static_cast<std::size_t>(index)];
  table.units.emplace(req.unit_id, var.id);
  out.push_back({&exp, &var});
  fresh.push_back({exp.id, var.id, req.unit_type, req.unit_id, exp.salt});
}

std::size_t assignment_book::sticky_size() const noexcept {
  std::size_t n = 0;
  for (auto& [id, table] : sticky_)
    n += table.units.size();
  return n;
}

void append_assignments_json(std::string& out, const std::vector<served_assignment>& list) {
  out += R"({"assignments":[)";
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto& a = list[i];
    if (i > 0)
      out += ',';
    out += R"({"experiment_id":")";
    out += a.exp->id_text;
    out += R"(","experiment_name":)";
    out += a.exp->name_json;
    out += R"(,"variant_id":")";
    out += a.var->id_text;
    out += R"(","variant_name":)";
    out += a.var->name_json;
    out += R"(,"config":)";
    out += a.var->config_json;
    out += '}';
  }
  out += "]}";
}

} // namespace expd::core

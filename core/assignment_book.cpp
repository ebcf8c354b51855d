#include "core/assignment_book.hpp"

#include "core/bucketing.hpp"
#include "core/field_error.hpp"

namespace expd::core {

void assignment_book::install(snapshot_ptr snap) {
  std::vector<sticky_units> next(snap->experiments().size());
  for (std::size_t i = 0; i < next.size(); ++i) {
    auto& exp = snap->experiments()[i];
    auto* old = snap_ ? snap_->find(exp.id_text) : nullptr;
    if (old != nullptr && old->id == exp.id && old->salt == exp.salt)
      next[i].table = std::move(sticky_of(*old).table);
    next[i].resolve_new_variants(exp);
  }
  snap_ = std::move(snap);
  sticky_ = std::move(next);
}

void assignment_book::remember(const assignment_record& row) {
  auto* exp = snap_ ? snap_->find(row.experiment_id.str()) : nullptr;
  if (exp == nullptr || exp->salt != *row.salt)
    return;
  auto& sticky = sticky_of(*exp);
  sticky.table.insert_or_assign(unit_key(row.unit_id), row.variant_id);
  sticky.resolve_new_variants(*exp);
}

void assignment_book::assign(const assign_request& req, std::vector<served_assignment>& out,
                             std::vector<assignment_record>& fresh) {
  out.clear();
  if (!snap_)
    return;
  unit_key key(req.unit_id);
  if (req.all) {
    for (auto* exp : snap_->served_for(req.unit_type))
      assign_one(*exp, key, req, out, fresh);
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
      assign_one(*exp, key, req, out, fresh);
  }
}

assignment_book::sticky_units& assignment_book::sticky_of(const experiment& exp) noexcept {
  return sticky_[static_cast<std::size_t>(&exp - snap_->experiments().data())];
}

void assignment_book::sticky_units::resolve_new_variants(const experiment& exp) {
  auto& ids = table.variant_ids();
  for (auto i = variants.size(); i < ids.size(); ++i)
    variants.push_back(exp.find_variant(ids[i]));
}

void assignment_book::assign_one(const experiment& exp, const unit_key& key,
                                 const assign_request& req, std::vector<served_assignment>& out,
                                 std::vector<assignment_record>& fresh) {
  auto& sticky = sticky_of(exp);
  sticky.table.prefetch(key); // the targeting check hides the likely cache miss
  if (!exp.targeting.matches(req.context))
    return;
  if (auto ref = sticky.table.find(key); ref != sticky_table::none) {
    if (auto* var = sticky.variants[ref])
      out.push_back({&exp, var});
    return;
  }
  if (exp.status != experiment_status::running)
    return;
  auto index = variant_for_bucket(exp.range_ends, bucket_of(exp.salt, req.unit_id));
  if (index < 0)
    return;
  auto& var = exp.variants[static_cast<std::size_t>(index)];
  sticky.table.insert_or_assign(key, var.id);
  sticky.resolve_new_variants(exp);
  out.push_back({&exp, &var});
  fresh.push_back({exp.id, var.id, req.unit_type, req.unit_id, exp.shared_salt});
}

void assignment_book::held_variants(std::string_view unit_type, std::string_view unit_id,
                                    std::vector<std::pair<uuid, uuid>>& out) const {
  if (!snap_)
    return;
  unit_key key(unit_id);
  for (auto* exp : snap_->served_for(unit_type)) {
    auto& sticky = sticky_[static_cast<std::size_t>(exp - snap_->experiments().data())];
    if (auto ref = sticky.table.find(key); ref != sticky_table::none)
      if (auto* var = sticky.variants[ref])
        out.emplace_back(exp->id, var->id);
  }
}

std::size_t assignment_book::sticky_size() const noexcept {
  std::size_t n = 0;
  for (auto& sticky : sticky_)
    n += sticky.table.size();
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

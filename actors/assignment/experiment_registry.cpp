#include "actors/assignment/experiment_registry.hpp"

#include <algorithm>
#include <chrono>

#include <caf/scoped_actor.hpp>

#include <nlohmann/json.hpp>

#include "actors/json_body.hpp"
#include "core/apply_plan.hpp"
#include "core/event.hpp"
#include "core/experiment_document.hpp"
#include "core/field_error.hpp"
#include "core/json_fields.hpp"
#include "core/saved_group.hpp"
#include "core/variant_execution.hpp"
#include "runtime/log.hpp"

namespace expd {

namespace {

using self_ptr = experiment_registry_actor::stateful_pointer<experiment_registry_state>;
using nlohmann::json;
using runtime::log;
using runtime::log_level;

// How long a barrier's shards write through at most if the change never comes (the
// applying node died between the barrier and the change), and how long the registry
// waits for them all to confirm.
constexpr std::chrono::milliseconds barrier_hold{30000};
constexpr std::chrono::milliseconds barrier_wait{3000};

caf::error database_error(const std::exception& e) {
  log(log_level::error, "registry_database_error", {{"error", e.what()}});
  return make_error(ec::database_unavailable, "",
                    "PostgreSQL did not accept the change; nothing was applied");
}

// The change is committed but the shards still serve the old snapshot. Sending the
// same request again is safe: the upsert is idempotent and publishes on success.
caf::error reload_error(const std::exception& e) {
  log(log_level::error, "registry_reload_failed", {{"error", e.what()}});
  return make_error(ec::database_unavailable, "",
                    "the change was stored but could not be reloaded; "
                    "send the same request again");
}

// The catalog events are validated against: event types and the current experiments.
void publish_catalog(self_ptr self) {
  auto& st = self->state;
  auto catalog = std::make_shared<const core::event_catalog>(
    core::event_catalog{st.event_types, st.current});
  for (auto& ingestor : st.ingestors)
    self->send(ingestor, atom::catalog::value, catalog);
}

// Reloads from PostgreSQL (ids, timestamps) and pushes the result to every shard, under
// `version`, the cluster-wide number of the change (experiment_store::announce). The
// snapshot compiles every condition against the saved groups loaded with it.
void publish(self_ptr self, std::uint64_t version) {
  auto& st = self->state;
  auto groups = std::make_shared<const core::saved_group_set>(st.groups->load());
  auto next = std::make_shared<const core::snapshot>(std::max(version, st.current->version() + 1),
                                                     st.store->load(), std::move(groups));
  for (auto& e : next->experiments())
    if (!e.targeting_error.empty())
      log(log_level::error, "experiment_serves_nobody",
          {{"experiment", e.name}, {"error", e.targeting_error}});
  st.current = next;
  for (auto& shard : st.subscribers)
    self->send(shard, atom::snapshot::value, st.current);
  publish_catalog(self);
  log(log_level::info, "snapshot_published",
      {{"version", next->version()}, {"experiments", next->experiments().size()}});
}

// Writes a change with `write`, then announces and publishes it: a change that fails to
// write changes nothing, one that fails to publish is stored and may be sent again.
template <class Write>
caf::error write_and_publish(self_ptr self, Write write) {
  try {
    write();
  } catch (const std::exception& e) {
    return database_error(e);
  }
  try {
    publish(self, self->state.store->announce());
  } catch (const std::exception& e) {
    return reload_error(e);
  }
  return caf::none;
}

json describe(const core::experiment& e) {
  json variants = json::array();
  for (auto& v : e.variants)
    variants.push_back({{"id", v.id_text},
                        {"name", v.name},
                        {"allocation", v.allocation},
                        {"config", v.config}});
  return {{"id", e.id_text},       {"name", e.name},
          {"unit_type", e.unit_type}, {"description", e.description},
          {"status", core::to_string(e.status)}, {"salt", e.salt},
          {"condition", e.condition_spec}, {"saved_groups", e.targeting.saved_groups()},
          {"variants", std::move(variants)},
          {"cuped", e.cuped_pre_period_days ? json{{"pre_period_days", *e.cuped_pre_period_days}}
                                            : json(nullptr)},
          {"metrics", core::experiment_metrics_json(e.metrics)},
          {"stopping", core::stopping_rules_json(e.stopping)},
          {"status_reason", e.status_reason},
          {"status_changed_at", e.status_changed_at.empty() ? json(nullptr) : json(e.status_changed_at)},
          {"created_at", e.created_at}, {"updated_at", e.updated_at}};
}

// A node that died may hold first-time assignments in its journal that PostgreSQL has
// not got; whoever serves its units now knows only the buckets. Moving the buckets
// then would give those units other variants, so it waits for that node.
caf::error refuse_while_a_node_is_down(self_ptr self, const std::vector<std::string>& moved) {
  std::vector<runtime::cluster_node_row> nodes;
  try {
    nodes = self->state.cluster->nodes();
  } catch (const std::exception& e) {
    return make_error(ec::database_unavailable, "", std::string{"PostgreSQL: "} + e.what());
  }
  for (auto& n : nodes)
    if (n.state == "down")
      return make_error(ec::invalid_transition, "experiments",
                        "cannot move the buckets of " + moved.front() + " while node "
                          + n.node.name
                          + " is down: its journal may hold first-time assignments not yet "
                            "stored, and the units would get other variants; restart "
                          + n.node.name + " (it stores them as it starts) or, if it is gone "
                                          "for good, expctl cluster forget " + n.node.name);
  return caf::none;
}

// Back to writing behind: the change the barrier was for is not coming.
void release_first_time_writes(self_ptr self) {
  for (auto& to : self->state.barrier_held)
    caf::anon_send(to, atom::barrier::value, assignment_barrier{});
  self->state.barrier_held.clear();
}

// Tells every shard of the cluster to store what it assigned so far and, until the
// change is installed, each first-time assignment of the experiments before answering
// (docs/cluster.md: the barrier). Waits for all; one that does not confirm in time
// refuses the change, and the others go back to writing behind.
caf::error hold_first_time_writes(self_ptr self, const std::vector<std::string>& moved) {
  auto& st = self->state;
  assignment_barrier barrier;
  for (auto& name : moved)
    if (auto* exp = st.current->find(name))
      barrier.experiments.push_back(exp->id);
  if (barrier.experiments.empty())
    return caf::none;
  try {
    // Above every version a node may serve now, so the change's own is the first newer.
    barrier.snapshot_version = std::max(st.current->version(), st.store->version());
  } catch (const std::exception& e) {
    return database_error(e);
  }
  barrier.hold_ms = barrier_hold.count();
  std::vector<std::pair<std::string, shard_access_actor>> targets;
  auto& router = st.router;
  for (auto& shard : router.all())
    targets.emplace_back("this node", shard);
  if (auto& ring = router.ring())
    for (std::size_t i = 0; i < ring->members().size(); ++i) {
      if (i == router.self_index())
        continue;
      auto& entry = router.destinations()[router.all().size() + i];
      if (!entry)
        return make_error(ec::unavailable, "experiments",
                          "node " + ring->members()[i].name
                            + " is not linked to this node yet, so it cannot confirm that "
                              "its first-time assignments are stored; nothing was applied, "
                              "retry");
      targets.emplace_back(ring->members()[i].name, entry);
    }
  auto started = std::chrono::steady_clock::now();
  caf::scoped_actor sync{self->system()};
  auto ask = [&](const shard_access_actor& to) {
    return sync->request(to, barrier_wait, atom::barrier::value, barrier);
  };
  // All asked first, so the wait is the slowest node's, not the sum.
  std::vector<decltype(ask(targets.front().second))> asked;
  for (auto& [node, to] : targets) {
    st.barrier_held.push_back(to);
    asked.push_back(ask(to));
  }
  caf::error refused;
  for (std::size_t i = 0; i < asked.size(); ++i)
    asked[i].receive([](bool) {}, [&](caf::error& e) {
      if (!refused)
        refused = make_error(ec::unavailable, "experiments",
                             targets[i].first + " did not confirm that its first-time "
                               "assignments are stored (" + self->system().render(e)
                               + "); nothing was applied, retry");
    });
  auto ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  if (refused) {
    ++st.barriers_refused;
    release_first_time_writes(self);
    log(log_level::warn, "barrier_refused",
        {{"experiments", moved}, {"ms", ms}, {"error", self->system().render(refused)}});
  } else {
    ++st.barriers;
    log(log_level::info, "barrier_confirmed",
        {{"experiments", moved}, {"shards", targets.size()}, {"ms", ms}});
  }
  return refused;
}

// Every variant config's policy_version_id must name a stored policy version; the
// config keeps the version's UUID, whichever form was written, so views and clients
// join on one. Versions are never deleted or changed, so checking before the write
// holds at the write.
caf::error resolve_policy_versions(self_ptr self, std::vector<core::experiment_spec>& specs) {
  std::optional<std::vector<core::stored_policy>> stored;
  for (std::size_t i = 0; i < specs.size(); ++i)
    for (std::size_t j = 0; j < specs[i].variants.size(); ++j) {
      auto& config = specs[i].variants[j].config;
      auto path = "experiments[" + std::to_string(i) + "].variants[" + std::to_string(j) + "].config";
      auto execution = core::read_variant_execution(config, path);
      if (!execution.policy)
        continue;
      if (!stored) {
        try {
          stored = self->state.policies->load();
        } catch (const std::exception& e) {
          return database_error(e);
        }
      }
      auto* version = core::find_policy_version(*stored, *execution.policy);
      if (version == nullptr)
        return make_error(ec::invalid_experiment, path + ".policy_version_id",
                          "no policy version " + execution.policy_text
                            + " is stored: apply its policies document first (GET /admin/v1/policies "
                              "lists them)");
      config["policy_version_id"] = version->id_text;
    }
  return caf::none;
}

// A goal or guardrail that names no declared metric would never get a result: a typo
// is refused at apply rather than found missing in the results.
caf::error check_metric_roles(self_ptr self, const std::vector<core::experiment_spec>& specs) {
  // The block's lists, indexed by metric_role (goal, secondary, guardrail: the roles
  // a block names), to give each metric the path it was written at.
  static constexpr const char* lists[] = {"goals", "secondary", "guardrails"};
  for (std::size_t i = 0; i < specs.size(); ++i) {
    std::size_t index[3] = {0, 0, 0};
    for (auto& m : specs[i].metrics.metrics) {
      auto list = static_cast<std::size_t>(m.role);
      auto path = "experiments[" + std::to_string(i) + "].metrics." + lists[list] + "["
                  + std::to_string(index[list]++) + "]";
      auto* type = core::find_event_type(self->state.event_types, m.metric.event_type);
      if (type == nullptr)
        return make_error(ec::invalid_experiment, path,
                          "no event type " + m.metric.event_type + " is declared (GET /v1/event-types)");
      if (type->find_metric(m.metric.metric_name) == nullptr)
        return make_error(ec::invalid_experiment, path,
                          "event type " + m.metric.event_type + " declares no metric " + m.metric.metric_name);
    }
  }
  return caf::none;
}

caf::expected<api_reply> apply_document(self_ptr self, const std::string& body, bool dry_run) {
  auto& st = self->state;
  json doc;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  std::vector<core::experiment_spec> specs;
  try {
    specs = core::parse_experiment_document(doc, {}, st.current->saved_groups().get());
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_experiment, e.field(), e.what());
  }
  if (auto refused = resolve_policy_versions(self, specs))
    return refused;
  if (auto refused = check_metric_roles(self, specs))
    return refused;
  std::vector<core::planned_experiment> plan;
  try {
    plan = core::plan_apply(specs, st.current->experiments());
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_experiment, e.field(), e.what());
  }
  bool changes = false;
  for (auto& p : plan)
    changes = changes || p.action != core::apply_action::unchanged;
  if (changes && !dry_run && st.cluster)
    if (auto moved = core::bucketing_changes(plan); !moved.empty()) {
      if (auto refused = refuse_while_a_node_is_down(self, moved))
        return refused;
      if (auto refused = hold_first_time_writes(self, moved))
        return refused;
    }
  if (changes && !dry_run) {
    try {
      st.store->apply(plan);
      ++st.applies;
    } catch (const std::exception& e) {
      release_first_time_writes(self);
      return database_error(e);
    }
    // Installing the change's snapshot ends the barrier on every shard.
    st.barrier_held.clear();
    try {
      publish(self, st.store->announce());
    } catch (const std::exception& e) {
      return reload_error(e);
    }
  }
  json items = json::array();
  for (auto& p : plan) {
    auto* now = st.current->find(p.spec.name);
    items.push_back({{"name", p.spec.name},
                     {"id", now != nullptr ? json(now->id_text) : json(nullptr)},
                     {"action", core::to_string(p.action)}});
  }
  return json_reply(200, {{"version", st.current->version()},
                          {"dry_run", dry_run},
                          {"experiments", std::move(items)}});
}

caf::expected<api_reply> change_status(self_ptr self, const std::string& name, const std::string& body) {
  auto& st = self->state;
  json doc;
  if (auto refused = parse_json_body(body, doc, "the body must be a JSON object"))
    return refused;
  if (!doc.is_object())
    return make_error(ec::invalid_json, "body", "the body must be a JSON object");
  auto it = doc.find("status");
  if (it == doc.end() || !it->is_string())
    return make_error(ec::invalid_field, "status", "status must be a string");
  auto to = core::parse_status(it->get<std::string>());
  if (!to)
    return make_error(ec::invalid_field, "status",
                      "unknown status (draft, running, paused, stopped)");
  std::string reason;
  if (auto r = doc.find("reason"); r != doc.end()) {
    if (!r->is_string() || r->get_ref<const std::string&>().size() > 2000)
      return make_error(ec::invalid_field, "reason", "reason must be a string of at most 2000 bytes");
    reason = r->get<std::string>();
  }
  try {
    core::require_known_fields(doc, "", {"status", "reason"});
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_field, e.field(), e.what());
  }
  auto* exp = st.current->find(name);
  if (exp == nullptr || exp->name != name)
    return make_error(ec::experiment_not_found, "name", "no experiment named \"" + name + "\"");
  auto from = exp->status;
  if (!core::can_transition(from, *to))
    return make_error(ec::invalid_transition, "status",
                      "cannot move from " + std::string{core::to_string(from)} + " to "
                        + std::string{core::to_string(*to)});
  if (from != *to)
    if (auto failed = write_and_publish(self, [&] {
          st.store->set_status(name, *to, reason);
          ++st.status_changes;
        }))
      return failed;
  return json_reply(200, {{"name", name},
                          {"status", core::to_string(*to)},
                          {"previous_status", core::to_string(from)},
                          {"version", st.current->version()}});
}

caf::expected<api_reply> apply_event_types(self_ptr self, const std::string& body, bool dry_run) {
  auto& st = self->state;
  json doc;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  std::vector<core::event_type> types;
  try {
    types = core::parse_event_type_document(doc);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_event_type, e.field(), e.what());
  }
  json items = json::array();
  bool changes = false;
  for (auto& t : types) {
    auto it = std::find_if(st.event_types.begin(), st.event_types.end(),
                           [&](const core::event_type& known) { return known.name == t.name; });
    const char* action = "created";
    if (it != st.event_types.end())
      action = it->description == t.description
                   && core::metrics_to_json(*it) == core::metrics_to_json(t)
                 ? "unchanged"
                 : "updated";
    changes = changes || std::string_view{action} != "unchanged";
    items.push_back({{"name", t.name}, {"action", action}});
  }
  if (changes && !dry_run) {
    try {
      st.events->apply_event_types(types);
      ++st.event_type_applies;
    } catch (const std::exception& e) {
      return database_error(e);
    }
    try {
      st.event_types = st.events->load_event_types();
      publish(self, st.store->announce());
    } catch (const std::exception& e) {
      return reload_error(e);
    }
  }
  return json_reply(200, {{"dry_run", dry_run}, {"event_types", std::move(items)}});
}

// The groups after applying `specs`: the stored ones the document does not name, then
// the document's, each named in errors by where it is.
caf::expected<core::saved_groups_ptr> groups_after(const core::saved_group_set& current,
                                                   const std::vector<core::saved_group_spec>& specs) {
  std::vector<core::saved_group_spec> merged;
  std::vector<std::string> paths;
  for (auto* g : current.all())
    if (std::none_of(specs.begin(), specs.end(), [g](auto& s) { return s.name == g->name(); })) {
      merged.push_back(g->spec());
      paths.push_back("saved_groups." + g->name());
    }
  for (std::size_t i = 0; i < specs.size(); ++i) {
    merged.push_back(specs[i]);
    paths.push_back("saved_groups[" + std::to_string(i) + "]");
  }
  try {
    return std::make_shared<const core::saved_group_set>(std::move(merged), paths);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_saved_group, e.field(), e.what());
  }
}

// Every experiment's condition must compile with the new groups (a group gone from an
// id list to a condition cannot answer $inGroup), or the change would serve it to nobody.
caf::error refuse_broken_conditions(const core::snapshot& current, const core::saved_group_set& next,
                                    const std::vector<core::saved_group_spec>& specs) {
  for (auto& e : current.experiments()) {
    try {
      core::condition::compile(e.condition_spec, "condition", &next);
    } catch (const core::field_error& err) {
      // The group set compiled, so the fault is in a group the experiment names itself.
      std::string field = "saved_groups";
      auto& named = e.targeting.saved_groups();
      for (std::size_t i = 0; i < specs.size(); ++i)
        if (std::find(named.begin(), named.end(), specs[i].name) != named.end()) {
          field = "saved_groups[" + std::to_string(i) + "]";
          break;
        }
      return make_error(ec::invalid_saved_group, field,
                        "experiment " + e.name + "'s condition would no longer compile ("
                          + err.field() + ": " + err.what() + "); nothing was applied");
    }
  }
  return caf::none;
}

caf::expected<api_reply> apply_saved_groups(self_ptr self, const std::string& body, bool dry_run) {
  auto& st = self->state;
  json doc;
  if (auto refused = parse_json_body(body, doc))
    return refused;
  std::vector<core::saved_group_spec> specs;
  try {
    specs = core::parse_saved_group_document(doc);
  } catch (const core::field_error& e) {
    return make_error(ec::invalid_saved_group, e.field(), e.what());
  }
  auto& current = *st.current->saved_groups();
  auto next = groups_after(current, specs);
  if (!next)
    return std::move(next.error());
  if (auto refused = refuse_broken_conditions(*st.current, **next, specs))
    return refused;
  json items = json::array();
  std::vector<core::saved_group_spec> changed;
  for (auto& s : specs) {
    auto* now = current.get(s.name);
    auto action = now == nullptr ? core::apply_action::created
                  : now->spec() == s ? core::apply_action::unchanged
                                     : core::apply_action::updated;
    if (action != core::apply_action::unchanged)
      changed.push_back(s);
    items.push_back({{"name", s.name},
                     {"kind", s.is_list() ? "id_list" : "condition"},
                     {"action", core::to_string(action)}});
  }
  if (!changed.empty() && !dry_run)
    if (auto failed = write_and_publish(self, [&] {
          st.groups->apply(changed);
          ++st.group_applies;
        }))
      return failed;
  return json_reply(200, {{"version", st.current->version()},
                          {"dry_run", dry_run},
                          {"saved_groups", std::move(items)}});
}

caf::expected<api_reply> drop_saved_group(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto& groups = *st.current->saved_groups();
  if (groups.get(name) == nullptr)
    return make_error(ec::not_found, "name", "no saved group named \"" + name + "\"");
  auto names = [&name](const std::vector<std::string>& used) {
    return std::find(used.begin(), used.end(), name) != used.end();
  };
  for (auto& e : st.current->experiments())
    if (names(e.targeting.saved_groups()))
      return make_error(ec::saved_group_in_use, "name",
                        "experiment " + e.name + " (" + std::string{core::to_string(e.status)}
                          + ") names saved group " + name
                          + " in its condition: change that condition first; nothing was deleted");
  for (auto* g : groups.all())
    if (names(g->saved_groups()))
      return make_error(ec::saved_group_in_use, "name",
                        "saved group " + g->name() + " names saved group " + name
                          + " in its condition: change that group first; nothing was deleted");
  if (auto failed = write_and_publish(self, [&] {
        st.groups->remove(name);
        ++st.group_deletes;
      }))
    return failed;
  return json_reply(200, {{"name", name}, {"action", "deleted"}, {"version", st.current->version()}});
}

json describe(const core::event_type& t) {
  return {{"name", t.name}, {"description", t.description}, {"metrics", core::metrics_to_json(t)}};
}

} // namespace

experiment_registry_actor::behavior_type
experiment_registry(experiment_registry_actor::stateful_pointer<experiment_registry_state> self,
                    std::string pg_url, core::snapshot_ptr initial, bool clustered) {
  self->state.store = std::make_unique<runtime::experiment_store>(pg_url);
  if (clustered)
    self->state.cluster = std::make_unique<runtime::cluster_store>(pg_url, std::chrono::seconds{1});
  self->state.current = std::move(initial);
  self->state.events = std::make_unique<runtime::event_store>(pg_url);
  self->state.policies = std::make_unique<runtime::policy_store>(pg_url);
  self->state.groups = std::make_unique<runtime::saved_group_store>(pg_url);
  try {
    self->state.event_types = self->state.events->load_event_types();
  } catch (const std::exception& e) {
    // The catalog stays empty (every event refused as of unknown type) until an
    // apply succeeds; the operator sees why in the log.
    log(log_level::error, "event_types_load_failed", {{"error", e.what()}});
  }
  return {
    [=](atom::apply, const std::string& body, bool dry_run) -> caf::result<api_reply> {
      return apply_document(self, body, dry_run);
    },
    [=](atom::list) -> api_reply {
      json list = json::array();
      for (auto& e : self->state.current->experiments())
        list.push_back(describe(e));
      return json_reply(200, {{"version", self->state.current->version()},
                              {"experiments", std::move(list)}});
    },
    [=](atom::set_status, const std::string& name,
        const std::string& body) -> caf::result<api_reply> {
      return change_status(self, name, body);
    },
    // A failed check is a report for the prober, not a refusal: 503 with the body
    // docs/api.md gives, not the error shape.
    [=](atom::health) -> api_reply {
      try {
        self->state.store->ping();
      } catch (const std::exception& e) {
        return json_reply(503, {{"status", "unavailable"}, {"postgres", e.what()}});
      }
      return json_reply(200, {{"status", "ok"},
                              {"postgres", "ok"},
                              {"snapshot_version", self->state.current->version()}});
    },
    [=](atom::subscribe, ingestion_actor& ingestor) {
      self->send(ingestor, atom::catalog::value,
                 std::make_shared<const core::event_catalog>(
                   core::event_catalog{self->state.event_types, self->state.current}));
      self->state.ingestors.push_back(std::move(ingestor));
    },
    [=](atom::apply_types, const std::string& body, bool dry_run) -> caf::result<api_reply> {
      return apply_event_types(self, body, dry_run);
    },
    [=](atom::list_types) -> api_reply {
      json list = json::array();
      for (auto& t : self->state.event_types)
        list.push_back(describe(t));
      return json_reply(200, {{"event_types", std::move(list)}});
    },
    [=](atom::apply_groups, const std::string& body, bool dry_run) -> caf::result<api_reply> {
      return apply_saved_groups(self, body, dry_run);
    },
    [=](atom::list_groups) -> api_reply {
      json list = json::array();
      for (auto* g : self->state.current->saved_groups()->all())
        list.push_back(core::saved_group_json(g->spec()));
      return json_reply(200, {{"version", self->state.current->version()},
                              {"saved_groups", std::move(list)}});
    },
    [=](atom::drop_group, const std::string& name) -> caf::result<api_reply> {
      return drop_saved_group(self, name);
    },
    [=](atom::reload) -> std::uint64_t {
      auto& st = self->state;
      try {
        auto version = st.store->version();
        if (version <= st.current->version())
          return st.current->version(); // this node's own change, or one already loaded
        st.event_types = st.events->load_event_types();
        publish(self, version);
      } catch (const std::exception& e) {
        log(log_level::error, "registry_reload_failed", {{"error", e.what()}});
      }
      return st.current->version();
    },
    [=](atom::routing, shard_router& router) {
      if (router.version() > self->state.router.version())
        self->state.router = std::move(router);
    },
    [=](atom::subscribe, assignment_shard_actor& shard) {
      self->send(shard, atom::snapshot::value, self->state.current);
      self->state.subscribers.push_back(std::move(shard));
    },
    [=](atom::status) -> status_record {
      auto& st = self->state;
      return {"experiment_registry",
              {{"expd_registry_snapshot_version", "gauge",
                "Version of the newest experiments snapshot.", "",
                static_cast<double>(st.current->version())},
               {"expd_registry_applies_total", "counter", "Documents applied with changes.", "",
                static_cast<double>(st.applies)},
               {"expd_registry_status_changes_total", "counter", "Experiment status changes.",
                "", static_cast<double>(st.status_changes)},
               {"expd_registry_barriers_total", "counter",
                "Bucket moves every shard of the cluster confirmed it had stored for.", "",
                static_cast<double>(st.barriers)},
               {"expd_registry_barriers_refused_total", "counter",
                "Bucket moves refused because a shard did not confirm in time.", "",
                static_cast<double>(st.barriers_refused)},
               {"expd_registry_saved_groups", "gauge", "Saved groups in the newest snapshot.", "",
                static_cast<double>(st.current->saved_groups()->size())},
               {"expd_registry_saved_group_changes_total", "counter",
                "Saved group documents applied with changes, and groups deleted.", "",
                static_cast<double>(st.group_applies + st.group_deletes)},
               {"expd_registry_event_types", "gauge", "Known event types.", "",
                static_cast<double>(st.event_types.size())},
               {"expd_registry_event_type_applies_total", "counter",
                "Event type documents applied with changes.", "",
                static_cast<double>(st.event_type_applies)}}};
    },
  };
}

} // namespace expd

#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/assign_request.hpp"
#include "core/snapshot.hpp"
#include "core/sticky_table.hpp"
#include "core/uuid.hpp"

namespace expd::core {

/// One row of exp.assignments: the variant a unit got, under which salt.
struct assignment_record {
  uuid experiment_id;
  uuid variant_id;
  std::string unit_type;
  std::string unit_id;
  std::shared_ptr<const std::string> salt; ///< shared: one per experiment, not per row
};

/// One answered assignment; pointers into the book's current snapshot.
struct served_assignment {
  const experiment* exp;
  const variant* var;
};

/// The assignment logic of one shard, without actors or I/O: a snapshot of the
/// experiments plus the sticky variant of every unit it has seen. A unit keeps its
/// variant through allocation changes; only a new salt re-randomises it. Targeting is
/// checked on every request: a unit that stops matching gets no assignment for that
/// request but keeps its variant for when it matches again.
class assignment_book {
public:
  /// Installs a newer snapshot; sticky variants of experiments that are gone or
  /// re-salted are forgotten.
  void install(snapshot_ptr snap);

  const snapshot_ptr& current() const noexcept {
    return snap_;
  }

  /// Loads a stored assignment (start-up). Rows of unknown experiments or of an old
  /// salt are ignored: they no longer decide anything.
  void remember(const assignment_record& row);

  /// Answers `req` into `out` (cleared first). First-time assignments are appended to
  /// `fresh` for the write-behind writer. Throws core::field_error for a requested
  /// experiment that does not exist.
  void assign(const assign_request& req, std::vector<served_assignment>& out,
              std::vector<assignment_record>& fresh);

  /// Appends to `out` (not cleared) the (experiment_id, variant_id) of every running or
  /// paused experiment of `unit_type` in which the unit holds a variant: the context
  /// ingestion attaches to an event sent without "experiments". Assigns nothing and
  /// ignores targeting: the event happened under the variant the unit was given.
  void held_variants(std::string_view unit_type, std::string_view unit_id,
                     std::vector<std::pair<uuid, uuid>>& out) const;

  /// Sticky entries held, over all experiments.
  std::size_t sticky_size() const noexcept;

private:
  /// The sticky units of one experiment of the current snapshot, under its salt.
  struct sticky_units {
    sticky_table table;
    /// table.variant_ids() resolved in the current snapshot; nullptr for a variant
    /// that is gone (its units get no assignment rather than a new one).
    std::vector<const variant*> variants;

    void resolve_new_variants(const experiment& exp);
  };

  sticky_units& sticky_of(const experiment& exp) noexcept;
  void assign_one(const experiment& exp, const unit_key& key, const assign_request& req,
                  std::vector<served_assignment>& out, std::vector<assignment_record>& fresh);

  snapshot_ptr snap_;
  std::vector<sticky_units> sticky_; ///< parallel to snap_->experiments()
};

/// Appends `{"assignments":[...]}` in the client contract's shape.
void append_assignments_json(std::string& out, const std::vector<served_assignment>& list);

} // namespace expd::core

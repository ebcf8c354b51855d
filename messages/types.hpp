#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "core/access_policy.hpp"
#include "core/assign_request.hpp"
#include "core/assignment_book.hpp"
#include "core/event.hpp"
#include "core/snapshot.hpp"
#include "core/event_query.hpp"

namespace expd {

/// An answer to an API call, ready for the gateway to write: an HTTP status and a
/// JSON body (the client contract's error shape when status >= 400).
struct api_reply {
  std::uint16_t status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {}; ///< e.g. Retry-After
};

/// One Prometheus sample an actor reports about itself.
struct metric_sample {
  std::string name;   ///< "expd_writer_queue_depth"
  std::string type;   ///< "counter" or "gauge"
  std::string help;
  std::string labels; ///< rendered label pairs without braces, or empty
  double value = 0;
};

/// What every long-lived actor answers to atom::status: its counters and queue
/// depths, so /metrics (and later /v1/cluster) come from one mechanism.
struct status_record {
  std::string component;
  std::vector<metric_sample> samples;
};

using assignment_batch = std::vector<core::assignment_record>;

/// A unit whose variants ingestion asks its shard for, to attach them to an event
/// sent without "experiments".
struct unit_ref {
  std::string unit_type;
  std::string unit_id;
};
using unit_refs = std::vector<unit_ref>;

/// Per unit of a unit_refs, in its order: the (experiment_id, variant_id) it holds.
using held_variants_list = std::vector<std::vector<std::pair<core::uuid, core::uuid>>>;

/// What a node says of itself to a node that links to it, so a join to the wrong
/// cluster or from an incompatible build is refused with a clear error.
struct node_hello {
  std::string cluster_id; ///< the PostgreSQL database the cluster coordinates in
  std::string name;
  std::int32_t protocol = 0;
  std::string build_version;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_hello& x) {
  return f(caf::meta::type_name("expd.node_hello"), x.cluster_id, x.name, x.protocol,
           x.build_version);
}

/// Which consumer of the spool reports progress (segments go once all have passed).
enum class spool_consumer : std::uint8_t { loader, archiver };

} // namespace expd

// These messages stay inside one process for now; the cluster issue gives the ones
// that cross nodes a protobuf schema in messages/*.proto.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::access_policy_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::api_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::status_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::assignment_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::unit_refs)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::held_variants_list)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::assign_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::snapshot_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::event_catalog_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::spool_consumer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::event_query)

#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/meta/type_name.hpp>

#include "core/access_policy.hpp"
#include "core/event.hpp"
#include "core/generation.hpp"
#include "core/snapshot.hpp"
#include "core/training_schedule.hpp"
#include "messages/error.hpp"
#include "messages/inspect.hpp"

namespace expd {

/// A successful answer to an API call, ready for the gateway to write: an HTTP status
/// (200, 201, 202, or 503 for a failed /health) and a JSON body. Refusals are
/// caf::error values (messages/error.hpp) that the gateway renders.
struct api_reply {
  std::uint16_t status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers = {};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, api_reply& x) {
  return f(caf::meta::type_name("expd.api_reply"), x.status, x.body, x.headers);
}

/// One Prometheus sample an actor reports about itself.
struct metric_sample {
  std::string name;   ///< "expd_writer_queue_depth"
  std::string type;   ///< "counter" or "gauge"
  std::string help;
  std::string labels; ///< rendered label pairs without braces, or empty
  double value = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, metric_sample& x) {
  return f(caf::meta::type_name("expd.metric_sample"), x.name, x.type, x.help, x.labels,
           x.value);
}

/// What every long-lived actor answers to atom::status: its counters and queue
/// depths, so /metrics (and later /v1/cluster) come from one mechanism.
struct status_record {
  std::string component;
  std::vector<metric_sample> samples;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, status_record& x) {
  return f(caf::meta::type_name("expd.status_record"), x.component, x.samples);
}

using assignment_batch = std::vector<core::assignment_record>;

/// A unit whose variants ingestion asks its shard for, to attach them to an event
/// sent without "experiments".
struct unit_ref {
  std::string unit_type;
  std::string unit_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, unit_ref& x) {
  return f(caf::meta::type_name("expd.unit_ref"), x.unit_type, x.unit_id);
}

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

/// Asks a shard to store, before it answers, every first-time assignment of these
/// experiments until it installs a snapshot newer than `snapshot_version` (or for
/// `hold_ms` at most), and to store what it assigned before; the registry sends it to
/// every shard of the cluster before it moves buckets (docs/cluster.md). Empty
/// `experiments`: back to writing behind at once (the change was given up).
struct assignment_barrier {
  std::vector<core::uuid> experiments;
  std::uint64_t snapshot_version = 0;
  std::int64_t hold_ms = 0; ///< relative: nodes' steady clocks are not comparable
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, assignment_barrier& x) {
  return f(caf::meta::type_name("expd.assignment_barrier"), x.experiments,
           x.snapshot_version, x.hold_ms);
}

/// Which consumer of the spool reports progress (segments go once all have passed).
/// CAF serializes an enum as its underlying integer.
enum class spool_consumer : std::uint8_t { loader, archiver };

/// A trainer worker's report on its job (rank 0's counts; the others' are ignored):
/// what exp.training_jobs shows and exp.training_job_log keeps.
struct training_progress {
  std::string job_id;
  std::uint64_t step = 0;        ///< optimizer steps done
  std::uint64_t total_steps = 0; ///< 0: not known yet
  double loss = 0;
  double learning_rate = 0;
  double grad_norm = 0;
  std::uint64_t tokens = 0; ///< trained on so far in this job, across ranks
  double tokens_per_second = 0;
  std::string checkpoint; ///< written at this step (where a retry resumes), or empty
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, training_progress& x) {
  return f(caf::meta::type_name("expd.training_progress"), x.job_id, x.step, x.total_steps,
           x.loss, x.learning_rate, x.grad_norm, x.tokens, x.tokens_per_second, x.checkpoint);
}

/// How a worker's run of a job ended. `retriable`: the job may resume from its latest
/// checkpoint elsewhere (a rank lost, out of memory); false for a fault in the job
/// itself (a missing dataset, a checkpoint of another architecture).
struct training_outcome {
  std::string job_id;
  core::rank_result result = core::rank_result::succeeded;
  std::string error;
  bool retriable = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, training_outcome& x) {
  return f(caf::meta::type_name("expd.training_outcome"), x.job_id, x.result, x.error,
           x.retriable);
}

/// What a model host loads (gpu/model_host): a registered model version's files on the
/// host's machine, where the node put what it fetched from MLflow (the node and its
/// expd-trainer share a machine: --trainer-listen is loopback).
struct model_load_request {
  std::string key;     ///< "planner_model/5": a host serves one inference worker per key
  std::string model;   ///< the base model's Hugging Face-layout folder
  std::string adapter; ///< the version's PEFT adapter folder, merged in; empty: the base alone
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, model_load_request& x) {
  return f(caf::meta::type_name("expd.model_load_request"), x.key, x.model, x.adapter);
}

/// The inference worker's answer to a core::generation_request (gpu/inference_worker).
struct generation_result {
  std::string id; ///< the request's
  /// The generated token ids; a matched stop sequence is left out.
  std::vector<std::int32_t> tokens;
  core::finish_reason finish_reason = core::finish_reason::length;
  std::int32_t stop_index = -1;       ///< which of the request's stop sequences matched; -1: none
  std::uint32_t prompt_tokens = 0;
  std::uint32_t generated_tokens = 0; ///< what the model produced, a matched stop sequence's included
  std::uint32_t batch_size = 0;       ///< the rows of the batch it ran in
  std::int64_t queue_us = 0;          ///< from arrival to its batch's start
  std::int64_t compute_us = 0;        ///< its batch's prefill and decoding, until the last row ended
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, generation_result& x) {
  return f(caf::meta::type_name("expd.generation_result"), x.id, x.tokens, x.finish_reason,
           x.stop_index, x.prompt_tokens, x.generated_tokens, x.batch_size, x.queue_us,
           x.compute_us);
}

/// What the plan server asks of a served model version (actors/serving/plan_model): a
/// request's input text, rendered from the domain tables, completed greedily.
struct plan_generation {
  std::string request_id;
  std::string input;
  std::uint32_t max_new_tokens = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_generation& x) {
  return f(caf::meta::type_name("expd.plan_generation"), x.request_id, x.input, x.max_new_tokens);
}

/// A plan_generation's answer: the plan as text and what the inference worker said.
struct plan_completion {
  std::string plan;
  generation_result result;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_completion& x) {
  return f(caf::meta::type_name("expd.plan_completion"), x.plan, x.result);
}

/// The plan reader's answer (actors/serving/plan_server): a request's input text and the
/// model its variant's policy version names.
struct plan_preparation {
  std::string input;
  std::string policy_version_id; ///< the stored version's UUID
  std::string model_name;
  std::int32_t model_version = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, plan_preparation& x) {
  return f(caf::meta::type_name("expd.plan_preparation"), x.input, x.policy_version_id, x.model_name,
           x.model_version);
}

} // namespace expd

// In-process pointers to immutable state. None crosses a node: each node builds its own
// from PostgreSQL and its own files.
// The experiments snapshot: a node loads the documents from PostgreSQL itself.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::snapshot_ptr)
// The event catalog: built beside each node's snapshot from the same tables.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::event_catalog_ptr)
// The access policy: each node reads its own credential files (SIGHUP reloads them).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(expd::core::access_policy_ptr)

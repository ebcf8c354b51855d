#include "messages/type_registry.hpp"

#include "messages/actors.hpp"
#include "messages/shard_router.hpp"

namespace expd {

// add_message_type<T> also registers std::vector<T> ("std::vector<expd.unit_ref>"),
// which covers assignment_batch and unit_refs.
void add_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<api_reply>("expd.api_reply")
    .add_message_type<metric_sample>("expd.metric_sample")
    .add_message_type<status_record>("expd.status_record")
    .add_message_type<core::uuid>("expd.uuid")
    .add_message_type<core::assign_request>("expd.assign_request")
    .add_message_type<core::assignment_record>("expd.assignment_record")
    .add_message_type<core::event_query>("expd.event_query")
    .add_message_type<core::dataset_build_request>("expd.dataset_build_request")
    .add_message_type<unit_ref>("expd.unit_ref")
    .add_message_type<held_variants_list>("expd.held_variants_list")
    .add_message_type<spool_consumer>("expd.spool_consumer")
    .add_message_type<node_hello>("expd.node_hello")
    .add_message_type<assignment_barrier>("expd.assignment_barrier")
    .add_message_type<core::rank_result>("expd.rank_result")
    .add_message_type<training_progress>("expd.training_progress")
    .add_message_type<training_outcome>("expd.training_outcome")
    .add_message_type<core::finish_reason>("expd.finish_reason")
    .add_message_type<core::generation_request>("expd.generation_request")
    .add_message_type<generation_result>("expd.generation_result")
    .add_message_type<model_load_request>("expd.model_load_request")
    .add_message_type<core::plan_input>("expd.plan_input")
    .add_message_type<core::plan_request>("expd.plan_request")
    .add_message_type<core::plan_assignment>("expd.plan_assignment")
    .add_message_type<plan_generation>("expd.plan_generation")
    .add_message_type<plan_completion>("expd.plan_completion")
    .add_message_type<plan_preparation>("expd.plan_preparation")
    .add_message_type<status_actor>("expd.status_actor")
    .add_message_type<assignment_writer_actor>("expd.assignment_writer_actor")
    .add_message_type<assignment_shard_actor>("expd.assignment_shard_actor")
    .add_message_type<spool_writer_actor>("expd.spool_writer_actor")
    .add_message_type<event_loader_actor>("expd.event_loader_actor")
    .add_message_type<archiver_actor>("expd.archiver_actor")
    .add_message_type<partition_keeper_actor>("expd.partition_keeper_actor")
    .add_message_type<event_reader_actor>("expd.event_reader_actor")
    .add_message_type<aggregator_actor>("expd.aggregator_actor")
    .add_message_type<results_reader_actor>("expd.results_reader_actor")
    .add_message_type<ingestion_actor>("expd.ingestion_actor")
    .add_message_type<experiment_registry_actor>("expd.experiment_registry_actor")
    .add_message_type<shard_access_actor>("expd.shard_access_actor")
    .add_message_type<node_entry_actor>("expd.node_entry_actor")
    .add_message_type<node_entry_control_actor>("expd.node_entry_control_actor")
    .add_message_type<membership_actor>("expd.membership_actor")
    .add_message_type<trainer_worker_actor>("expd.trainer_worker_actor")
    .add_message_type<training_tracker_actor>("expd.training_tracker_actor")
    .add_message_type<training_registry_actor>("expd.training_registry_actor")
    .add_message_type<inference_actor>("expd.inference_actor")
    .add_message_type<dataset_builder_actor>("expd.dataset_builder_actor")
    .add_message_type<model_host_actor>("expd.model_host_actor")
    .add_message_type<replay_runner_actor>("expd.replay_runner_actor")
    .add_message_type<pipeline_scheduler_actor>("expd.pipeline_scheduler_actor")
    .add_message_type<plan_model_actor>("expd.plan_model_actor")
    .add_message_type<plan_reader_actor>("expd.plan_reader_actor")
    .add_message_type<plan_server_actor>("expd.plan_server_actor")
    .add_error_category(error_category, render_error);
}

} // namespace expd

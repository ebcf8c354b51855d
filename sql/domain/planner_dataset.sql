-- The planner dataset (onboarding spec 9.1, 9.2; docs/lifecycle.md, "Datasets from
-- events"): one row per plan generated in the window [:'from', :'to') and accepted in
-- it, joined to the household, pantry, constraints and recipes it was made from.
-- expd binds the window and streams the rows out with COPY (FORMAT binary); the same
-- file runs in psql: psql -v from=2025-01-06 -v to=2025-01-13 -f planner_dataset.sql.
-- Point the build at your own tables by editing this query: keep the output columns
-- (names, order, types), and render `input` the way your model was trained to read it.
WITH generated AS (
  -- A retried request logs plan_generated again with the same request_id: the first counts.
  SELECT DISTINCT ON (e.context->>'request_id')
         e.event_id, e.occurred_at, e.unit_id, e.context
    FROM exp.events e
   WHERE e.event_type = 'plan_generated'
     AND e.occurred_at >= :'from' AND e.occurred_at < :'to'
   ORDER BY e.context->>'request_id', e.occurred_at, e.event_id
), accepted AS (
  -- A user may answer twice (accept, then edit and accept again): the last answer counts.
  SELECT DISTINCT ON (e.context->>'request_id')
         e.event_id, e.occurred_at, e.context, e.metrics
    FROM exp.events e
   WHERE e.event_type = 'plan_accepted'
     AND e.occurred_at >= :'from' AND e.occurred_at < :'to'
   ORDER BY e.context->>'request_id', e.occurred_at DESC, e.event_id
)
SELECT g.context->>'request_id' AS request_id,
       coalesce(g.context->>'household_id', g.unit_id) AS household_id,
       g.occurred_at AS "timestamp",
       g.context->>'policy_version_id' AS policy_version_id,
       g.event_id::text AS generated_event_id,
       a.event_id::text AS accepted_event_id,
       -- The input context, rendered as POST /v1/plan renders a request's (planner_schema.sql).
       planner.plan_input(h, p, c, g.context->>'workflow', g.context->>'mode', g.context->'previous_plan') AS input,
       -- The target: the plan as the user accepted it, with the edits they made.
       (a.context->>'plan') || '; edits: '
         || coalesce((SELECT string_agg(x.edit, '; ') FROM jsonb_array_elements_text(a.context->'edits') AS x(edit)),
                     'none') AS target
  FROM generated g
  JOIN accepted a ON a.context->>'request_id' = g.context->>'request_id'
                 AND a.occurred_at >= g.occurred_at
                 AND (a.metrics->>'accepted')::boolean
  -- POST /v1/plan names the household when the unit is another (a user of it).
  JOIN planner.households h ON h.household_id = coalesce(g.context->>'household_id', g.unit_id)
  JOIN planner.pantry_snapshots p ON p.pantry_id = g.context->>'pantry_id'
  JOIN planner.constraints c ON c.constraint_id = g.context->>'constraint_id'
 ORDER BY g.occurred_at, g.context->>'request_id'

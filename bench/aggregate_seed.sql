-- Seeds a scratch database (migrated) for bench/aggregate_vs_groupby.sh:
-- 3 running experiments (2, 3 and 2 variants), :units units, :events events over
-- :days days, 5 metrics over 3 event types. Every unit is in experiment 1, every
-- second unit also in experiment 2 and every third in experiment 3, so an event
-- carries 1 to 3 experiment contexts (1.83 on average), as a real product's would.
-- psql -v events=10000000 -v units=150000 -v days=14 -f bench/aggregate_seed.sql
SELECT setseed(0.42);
SET TimeZone = 'UTC';

INSERT INTO exp.event_types (name, metrics) VALUES
  ('plan_generated', '{"latency_ms":{"type":"number","min":0,"unit":"ms","per_unit":"mean"},
                       "cost_usd":{"type":"number","min":0,"unit":"usd"},
                       "plan_steps":{"type":"integer","min":0}}'),
  ('plan_accepted', '{"accepted":{"type":"boolean"}}'),
  ('leftovers_used', '{"items_used":{"type":"integer","min":0}}');

INSERT INTO exp.experiments (name, unit_type, status, salt, start_at)
SELECT 'bench_exp_' || k, 'user', 'running', 'bench_exp_' || k, timestamptz '2025-03-01'
FROM generate_series(1, 3) k;

INSERT INTO exp.variants (experiment_id, name, position, allocation)
SELECT e.id, 'v' || p, p, 1.0 / n
FROM exp.experiments e
CROSS JOIN LATERAL (SELECT CASE e.name WHEN 'bench_exp_2' THEN 3 ELSE 2 END AS n) c
CROSS JOIN LATERAL generate_series(0, c.n - 1) p;

-- One assignment per unit and experiment it is in; variant by a hash of the unit.
CREATE TEMP TABLE unit_variant AS
SELECT u, k, v.id AS variant_id, v.experiment_id
FROM generate_series(0, :units - 1) u
CROSS JOIN generate_series(1, 3) k
JOIN exp.experiments e ON e.name = 'bench_exp_' || k
JOIN exp.variants v ON v.experiment_id = e.id
 AND v.position = abs(hashint4(u * 3 + k)) % CASE k WHEN 2 THEN 3 ELSE 2 END
WHERE k = 1 OR (k = 2 AND u % 2 = 0) OR (k = 3 AND u % 3 = 0);

INSERT INTO exp.assignments (experiment_id, unit_id, unit_type, variant_id, salt, assigned_at)
SELECT experiment_id, 'user-' || u, 'user', variant_id, 'bench_exp_' || k,
       timestamptz '2025-03-01' + (abs(hashint4(u)) % (:days * 86400)) * interval '1 second' / 4
FROM unit_variant;

-- Per unit: its experiment and variant arrays, in experiment order.
CREATE TEMP TABLE unit_context AS
SELECT u, array_agg(experiment_id ORDER BY k) AS experiment_ids,
       array_agg(variant_id ORDER BY k) AS variant_ids,
       max(CASE WHEN k = 1 THEN variant_id::text END) AS v1
FROM unit_variant GROUP BY u;
CREATE UNIQUE INDEX ON unit_context (u);
ANALYZE unit_context;

SELECT exp.ensure_event_partitions(date '2025-03-01', date '2025-03-01' + :days);

-- Events: a unit drawn with a skew (some units are far more active), a time spread
-- over the days, a type by share (60% plan_generated, 30% plan_accepted, 10%
-- leftovers_used) and metric values with a small effect of variant position.
INSERT INTO exp.events (event_id, occurred_at, received_at, event_type, unit_type, unit_id,
                        experiment_ids, variant_ids, context, metrics)
SELECT gen_random_uuid(), t, t + interval '2 seconds',
       CASE WHEN r < 0.6 THEN 'plan_generated' WHEN r < 0.9 THEN 'plan_accepted' ELSE 'leftovers_used' END,
       'user', 'user-' || c.u, c.experiment_ids, c.variant_ids, '{}'::jsonb,
       CASE WHEN r < 0.6 THEN jsonb_build_object('latency_ms', round((300 + 400 * random())::numeric, 1),
                                                 'cost_usd', round((0.002 * random())::numeric, 6),
                                                 'plan_steps', 1 + (random() * 9)::int)
            WHEN r < 0.9 THEN jsonb_build_object('accepted', random() < 0.3)
            ELSE jsonb_build_object('items_used', (random() * 4)::int) END
FROM (SELECT g, random() AS r,
             (floor(power(random(), 1.5) * :units))::int AS u,
             timestamptz '2025-03-01' + (g::double precision / :events) * (:days * interval '1 day')
               + random() * interval '10 minutes' AS t
      FROM generate_series(0, :events - 1) g) s
JOIN unit_context c ON c.u = s.u;

ANALYZE exp.events;
ANALYZE exp.assignments;

-- Metabase dashboard: Experiment Overview. Chart: one row per experiment and variant:
-- status, allocation, units exposed, and each metric's cumulative per-unit mean.
-- Source: exp.exposure_aggregates, exp.metric_aggregates (granularity 'experiment').
SELECT e.name AS experiment, e.status, e.start_at, v.name AS variant, v.allocation,
       coalesce(x.units, 0) AS exposed_units,
       round((coalesce(x.units, 0) / nullif(sum(coalesce(x.units, 0)) OVER (PARTITION BY e.id), 0))::numeric, 4)
         AS exposure_share,
       m.event_type, m.metric_name, m.per_unit, m.units AS n, m.mean, m.computed_at
FROM exp.experiments e
JOIN exp.variants v ON v.experiment_id = e.id
LEFT JOIN exp.exposure_aggregates x
  ON x.variant_id = v.id AND x.experiment_id = e.id AND x.granularity = 'experiment'
LEFT JOIN exp.metric_aggregates m
  ON m.variant_id = v.id AND m.experiment_id = e.id AND m.granularity = 'experiment'
ORDER BY e.name, v.position, m.event_type, m.metric_name;

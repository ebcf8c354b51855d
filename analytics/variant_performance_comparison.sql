-- Metabase dashboard: Variant Performance Comparison. Chart: each variant's cumulative
-- per-unit mean beside the first variant's (the control) and the relative lift, per
-- metric. Filter: {{experiment}} (text, experiment name). The significance of a lift
-- comes from the results API (core/statistics), not from this query.
WITH m AS (
  SELECT e.name AS experiment, v.name AS variant, v.position, a.event_type, a.metric_name,
         a.units AS n, a.mean,
         sqrt(greatest(a.sum_sq / nullif(a.units, 0) - (a.sum / nullif(a.units, 0)) ^ 2, 0)) AS sd
  FROM exp.metric_aggregates a
  JOIN exp.variants v ON v.id = a.variant_id
  JOIN exp.experiments e ON e.id = a.experiment_id
  WHERE a.granularity = 'experiment' [[AND e.name = {{experiment}}]]
)
SELECT m.experiment, m.event_type, m.metric_name, m.variant, m.n, m.mean, m.sd,
       c.variant AS control, c.mean AS control_mean,
       round(((m.mean - c.mean) / nullif(c.mean, 0))::numeric, 4) AS relative_lift
FROM m
JOIN m c ON c.experiment = m.experiment AND c.event_type = m.event_type
        AND c.metric_name = m.metric_name
        AND c.position = (SELECT min(position) FROM m m2 WHERE m2.experiment = m.experiment)
ORDER BY m.experiment, m.event_type, m.metric_name, m.position;

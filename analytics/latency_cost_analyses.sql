-- Metabase dashboard: Latency & Cost Analyses. Chart: hourly per-unit latency and cost
-- per variant (mean, min, max of per-unit values), plus the units behind each point.
-- Filter: {{experiment}}. Line chart: x = hour, y = mean, series = variant + metric.
SELECT m.bucket_start AS hour, e.name AS experiment, v.name AS variant, m.event_type,
       m.metric_name, m.per_unit, m.units AS n, m.units_with_events, m.events, m.mean,
       m.min, m.max
FROM exp.metric_aggregates m
JOIN exp.variants v ON v.id = m.variant_id
JOIN exp.experiments e ON e.id = m.experiment_id
WHERE m.granularity = 'hour'
  AND (m.metric_name ILIKE '%latency%' OR m.metric_name ILIKE '%cost%')
  [[AND e.name = {{experiment}}]]
ORDER BY 1, 2, 3, 4, 5;

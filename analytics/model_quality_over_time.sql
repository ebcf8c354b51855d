-- Metabase dashboard: Model Quality Over Time. Chart: daily per-unit means of the
-- quality metrics (acceptance, edits, validator interventions: whatever the event
-- types declare) per variant and the MLflow model it serves. Filter: {{experiment}}.
-- Line chart: x = day, y = mean, series = variant (model version).
SELECT m.bucket_start AS day, m.experiment_name AS experiment,
       m.variant_name || coalesce(' (' || m.mlflow_model_name || ' v' || m.mlflow_model_version || ')', '')
         AS variant_model,
       m.event_type, m.metric_name, m.units AS n, m.mean
FROM exp.v_policy_metrics m
WHERE m.granularity = 'day'
  AND m.metric_name NOT ILIKE '%latency%' AND m.metric_name NOT ILIKE '%cost%'
  [[AND m.experiment_name = {{experiment}}]]
ORDER BY 1, 2, 3, 4, 5;

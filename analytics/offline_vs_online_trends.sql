-- Metabase dashboard: Offline vs Online Evaluation Trends. Chart: per policy version,
-- its offline replay scores (exp.offline_replay_results) beside the online daily mean of
-- the same-named metric for the variants serving it (exp.v_policy_metrics, day rows).
-- Line chart: x = day, y = value, series = source + metric.
SELECT date_trunc('day', r.evaluated_at) AS day, 'offline' AS source, p.name AS policy,
       pv.version AS policy_version, pv.mlflow_model_name, pv.mlflow_model_version,
       r.metric_name, avg(r.value) AS value
FROM exp.offline_replay_results r
JOIN exp.policy_versions pv ON pv.id = r.policy_version_id
JOIN exp.policies p ON p.id = pv.policy_id
GROUP BY 1, 2, 3, 4, 5, 6, 7
UNION ALL
SELECT m.bucket_start, 'online', m.policy_name, m.policy_version, m.mlflow_model_name,
       m.mlflow_model_version, m.metric_name,
       sum(m.sum) / nullif(sum(m.units), 0)
FROM exp.v_policy_metrics m
WHERE m.granularity = 'day' AND m.policy_version IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
ORDER BY 1, 3, 4, 7, 2;

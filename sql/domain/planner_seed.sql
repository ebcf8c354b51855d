-- Loads the files of expd-planning-corpus --format=domain --out=DIR into the planner
-- schema: psql -v dir=DIR -f sql/domain/planner_seed.sql (after planner_schema.sql).
-- Client-side \copy, so the files need only be readable by psql. The events go
-- through POST /v1/events (events.ndjson), not here.
\cd :dir
BEGIN;
TRUNCATE planner.constraints, planner.pantry_snapshots, planner.recipes, planner.exclusions, planner.households;
\copy planner.households FROM 'households.csv' (FORMAT csv, HEADER)
\copy planner.recipes FROM 'recipes.csv' (FORMAT csv, HEADER)
\copy planner.exclusions FROM 'exclusions.csv' (FORMAT csv, HEADER)
\copy planner.pantry_snapshots FROM 'pantry_snapshots.csv' (FORMAT csv, HEADER)
\copy planner.constraints FROM 'constraints.csv' (FORMAT csv, HEADER)
COMMIT;
ANALYZE planner.households, planner.recipes, planner.exclusions, planner.pantry_snapshots, planner.constraints;

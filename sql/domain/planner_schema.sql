-- The planner example domain: the product team's tables, not expd's (expd's are in
-- schema exp, made by the numbered migrations in sql/). A dataset build joins them
-- with exp.events (sql/domain/planner_dataset.sql; docs/lifecycle.md, "Datasets from
-- events"). Seed rows: expd-planning-corpus --format=domain --out=DIR, then
-- sql/domain/planner_seed.sql. Idempotent: safe to run again.
CREATE SCHEMA IF NOT EXISTS planner;

CREATE TABLE IF NOT EXISTS planner.households (
  household_id text PRIMARY KEY,
  adults       integer NOT NULL CHECK (adults > 0),
  children     integer NOT NULL CHECK (children >= 0),
  diet         text NOT NULL,                -- omnivore, pescatarian, vegetarian, vegan
  allergies    text[] NOT NULL DEFAULT '{}'  -- nuts, gluten, dairy, eggs
);

CREATE TABLE IF NOT EXISTS planner.recipes (
  recipe_id   text PRIMARY KEY,
  name        text NOT NULL,
  minutes     integer NOT NULL CHECK (minutes > 0),
  cuisine     text NOT NULL,
  contains    text[] NOT NULL DEFAULT '{}',  -- meat, fish, dairy, gluten, nuts, egg
  ingredients text[] NOT NULL
);

-- What a diet or an allergy rules out: the recipes whose contains meet excludes.
-- Offline replay checks generated plans against it (docs/lifecycle.md, "Offline replay").
CREATE TABLE IF NOT EXISTS planner.exclusions (
  name     text PRIMARY KEY,              -- a diet (vegan) or an allergy (nuts)
  excludes text[] NOT NULL DEFAULT '{}'   -- contents of planner.recipes
);

-- What a household had in its pantry when it asked for a plan; the plan_generated
-- event names the snapshot (context.pantry_id). items: [{"ingredient","quantity"}], in
-- the order the household listed them.
CREATE TABLE IF NOT EXISTS planner.pantry_snapshots (
  pantry_id    text PRIMARY KEY,
  household_id text NOT NULL REFERENCES planner.households,
  taken_at     timestamptz NOT NULL,
  items        jsonb NOT NULL CHECK (jsonb_typeof(items) = 'array')
);

-- The constraints a request was made under (context.constraint_id).
CREATE TABLE IF NOT EXISTS planner.constraints (
  constraint_id text PRIMARY KEY,
  household_id  text NOT NULL REFERENCES planner.households,
  max_minutes   integer NOT NULL CHECK (max_minutes > 0), -- per meal
  dinners       integer NOT NULL CHECK (dinners > 0),
  no_repeats    boolean NOT NULL DEFAULT true             -- none of the previous plan's recipes
);

-- A request's input text, in the synthetic corpus's words (tools/planning_corpus.cpp):
-- the one rendering both the dataset query (planner_dataset.sql) and POST /v1/plan use,
-- so a model reads at serving time exactly what it was trained on. Change the words
-- here, for both, and train again. NULL when workflow or mode is.
CREATE OR REPLACE FUNCTION planner.plan_input(h planner.households, p planner.pantry_snapshots,
                                              c planner.constraints, p_workflow text, p_mode text,
                                              p_previous_plan jsonb) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT 'household: ' || h.adults || CASE WHEN h.adults = 1 THEN ' adult' ELSE ' adults' END
         || CASE WHEN h.children = 0 THEN ''
                 WHEN h.children = 1 THEN ', 1 child'
                 ELSE ', ' || h.children || ' children' END
         || '; diet: ' || h.diet
         || '; allergies: ' || coalesce(nullif(array_to_string(h.allergies, ', '), ''), 'none')
         || '; pantry: ' || coalesce((SELECT string_agg((i.item->>'ingredient') || ' ' || (i.item->>'quantity'), ', '
                                                        ORDER BY i.n)
                                        FROM jsonb_array_elements(p.items) WITH ORDINALITY AS i(item, n)), 'nothing')
         || '; constraints: max ' || c.max_minutes || ' min per meal, ' || c.dinners
         || CASE WHEN c.dinners = 1 THEN ' dinner' ELSE ' dinners' END
         || CASE WHEN c.no_repeats THEN ', no repeats of the previous plan' ELSE '' END
         || '; workflow: ' || p_workflow
         || '; mode: ' || p_mode
         || '; previous plan: ' || coalesce((SELECT string_agg(r.name, ', ' ORDER BY x.n)
                                               FROM jsonb_array_elements_text(p_previous_plan)
                                                    WITH ORDINALITY AS x(recipe_id, n)
                                               JOIN planner.recipes r ON r.recipe_id = x.recipe_id), 'none')
$$;

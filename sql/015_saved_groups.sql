-- Saved groups (docs/targeting.md#saved-groups): named id lists (an attribute key and
-- its values, GrowthBook's "ID lists") or named conditions, which experiments'
-- conditions name ($inGroup, $savedGroup, ...). Changing one changes who those
-- experiments serve from the next snapshot, without the experiments being applied.
CREATE TABLE IF NOT EXISTS exp.saved_groups (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name          text NOT NULL UNIQUE,
  description   text NOT NULL DEFAULT '',
  -- An id list has attribute_key and id_values (a JSON array of strings and numbers),
  -- a condition group has condition; never both.
  attribute_key text,
  id_values     jsonb,
  condition     jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT saved_groups_one_kind CHECK (
    (attribute_key IS NOT NULL AND jsonb_typeof(id_values) = 'array' AND condition IS NULL)
    OR (attribute_key IS NULL AND id_values IS NULL AND jsonb_typeof(condition) = 'object'))
);

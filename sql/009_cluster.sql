-- The cluster (issue 11, docs/cluster.md). PostgreSQL is its coordination store: who
-- is a member (leases on PostgreSQL's clock), which ring is current, which snapshot
-- version the experiments are at. Changes are announced with NOTIFY expd_cluster.

-- A row's ring slot, so a node that gains a slot loads exactly its sticky rows. Rows
-- written before the column existed have NULL: readers hash those themselves.
ALTER TABLE exp.assignments ADD COLUMN IF NOT EXISTS slot smallint;
CREATE INDEX IF NOT EXISTS assignments_slot_idx ON exp.assignments (slot);

CREATE TABLE IF NOT EXISTS exp.cluster_nodes (
  name             text PRIMARY KEY,
  cluster_address  text NOT NULL,
  http_address     text NOT NULL,
  build_version    text NOT NULL,
  protocol         integer NOT NULL,
  state            text NOT NULL CHECK (state IN ('joining', 'up', 'draining', 'down', 'left')),
  -- Which process holds the name: every start takes a new one, and a process whose
  -- incarnation is no longer the row's has been replaced and must stop serving.
  incarnation      bigint NOT NULL,
  lease_until      timestamptz NOT NULL,
  -- The newest ring under which the node stopped serving the slots it lost and stored
  -- their first-time assignments: a slot's new owner waits for it before answering.
  released_ring    bigint NOT NULL DEFAULT 0,
  -- What the node reports of itself on each renewal (GET /v1/cluster).
  stats            jsonb NOT NULL DEFAULT '{}',
  started_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE SEQUENCE IF NOT EXISTS exp.cluster_incarnations;

-- The one current ring: its version and its members' names (owners follow from the
-- names by rendezvous hashing, core/shard_ring); and the cluster's id, which nodes
-- compare when they link, so a node pointed at another database is refused.
CREATE TABLE IF NOT EXISTS exp.cluster_ring (
  only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  cluster_id uuid NOT NULL DEFAULT gen_random_uuid(),
  version    bigint NOT NULL,
  members    text[] NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO exp.cluster_ring (version, members) VALUES (0, '{}') ON CONFLICT DO NOTHING;

-- Experiment snapshots are numbered cluster-wide: a node that changes experiments or
-- event types takes the next number and announces it (NOTIFY expd_cluster,
-- 'experiments'); every node then loads them again under that number.
CREATE SEQUENCE IF NOT EXISTS exp.snapshot_versions;

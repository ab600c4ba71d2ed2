-- Indexes for the alert history queries (history, timeline, active, top, flapping, stats).
--
-- Kept apart from the tables so that index design can change (a later migration, or a redo of
-- this one) without touching data: the Down section drops indexes only.
--
-- Plain CREATE INDEX in a transaction, not NO TRANSACTION + CREATE INDEX CONCURRENTLY:
--   * this migration runs right after 00001, on empty tables, where CONCURRENTLY only adds cost
--     (two table scans, waits for every open transaction) and its failure mode (an INVALID index
--     left behind, with no transaction to roll back) needs a manual fix,
--   * CREATE INDEX CONCURRENTLY is refused on a partitioned table, which alert_events is meant
--     to become (migrations/README.md).
-- An index added later to a large, live alert_events belongs in its own NO TRANSACTION
-- migration that uses CONCURRENTLY (one index per statement, IF NOT EXISTS so a rerun repairs).
--
-- Already indexed by 00001's constraints:
--   alert_events (fingerprint, starts_at, status)  unique key, and an alert's timeline
--   alert_events (id)                              primary key
--   alerts (fingerprint)                           primary key
--
-- None of these indexes is unique, so none needs the partition key to exist on a partitioned
-- alert_events. Label matchers other than equality (=~, !=, !~) cannot use the GIN indexes: they
-- filter the rows another index or the scan returns.

-- +goose Up

-- History, newest first, with keyset pagination:
--   WHERE (starts_at, id) < ($cursor_starts_at, $cursor_id) ORDER BY starts_at DESC, id DESC LIMIT n
-- Also a time range (starts_at BETWEEN ...), the most recent events, and the windows that flapping
-- and stats aggregate over. Filters on status, receiver or label values are applied on top.
-- starts_at is the partition key to be: time ranges prune partitions.
CREATE INDEX alert_events_starts_at_id_idx ON alert_events (starts_at DESC, id DESC);

-- History of one alertname in the same keyset order (the common filter: a dedicated range of the
-- index instead of every event). A status filter is cheap on top (two values).
CREATE INDEX alert_events_alertname_starts_at_id_idx ON alert_events (alertname, starts_at DESC, id DESC);

-- Label matchers by containment: labels @> '{"severity": "critical", "namespace": "prod"}'.
-- jsonb_path_ops: smaller and faster than the default jsonb_ops for @>, which is the only
-- operator the queries use on labels (it does not support ?, ?| and ?&).
CREATE INDEX alert_events_labels_idx ON alert_events USING gin (labels jsonb_path_ops);

-- Active alerts newest first (WHERE status = 'firing' ORDER BY starts_at DESC), counts per status.
CREATE INDEX alerts_status_starts_at_idx ON alerts (status, starts_at DESC);

-- Current alerts of one alertname, optionally in one status.
CREATE INDEX alerts_alertname_status_idx ON alerts (alertname, status);

-- Top alerts by firing episodes (ORDER BY firing_episodes DESC, fingerprint LIMIT n).
CREATE INDEX alerts_firing_episodes_idx ON alerts (firing_episodes DESC, fingerprint);

-- Label matchers on current alerts (severity, namespace, any label equality).
CREATE INDEX alerts_labels_idx ON alerts USING gin (labels jsonb_path_ops);

-- +goose Down
DROP INDEX alerts_labels_idx;
DROP INDEX alerts_firing_episodes_idx;
DROP INDEX alerts_alertname_status_idx;
DROP INDEX alerts_status_starts_at_idx;
DROP INDEX alert_events_labels_idx;
DROP INDEX alert_events_alertname_starts_at_id_idx;
DROP INDEX alert_events_starts_at_id_idx;

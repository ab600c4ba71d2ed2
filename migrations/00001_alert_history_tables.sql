-- Alert history: the two tables of the model (docs/migrations.md, "The alert history schema").
--
-- alert_events is append-only: one row per state an alert reached. Alertmanager re-sends every
-- alert of a group on each notification, so ingestion inserts with
--   ON CONFLICT (fingerprint, status, starts_at) DO NOTHING
-- and a re-sent state adds nothing. alerts holds the current state per fingerprint and is updated
-- in the same transaction as the events.
--
-- Ready for time partitioning (migrations/README.md): alert_events would be partitioned by
-- RANGE (starts_at). starts_at is the only possible key: a unique constraint of a partitioned
-- table must contain the partition key, and the idempotence key must not contain received_at
-- (a re-delivery has a new one). The unique key below already contains it.
--
-- One transaction (the default): both tables appear, or neither does.

-- +goose Up
-- Alertmanager's two states. An enum rather than text with a check: the generated types get the
-- union 'firing' | 'resolved', and its order (firing first) is the order the states happen in.
CREATE TYPE alert_status AS ENUM ('firing', 'resolved');

CREATE TABLE alert_events (
  id bigint GENERATED ALWAYS AS IDENTITY,
  fingerprint text NOT NULL,
  status alert_status NOT NULL,
  -- Alertmanager's startsAt. It has nanoseconds, timestamptz keeps microseconds (rounding) and a
  -- JavaScript Date milliseconds. The key below compares what was stored, so a re-sent state
  -- maps to the same row as long as ingestion converts startsAt the same way every time.
  starts_at timestamptz NOT NULL,
  -- Alertmanager's endsAt, NULL while firing (Go's zero time 0001-01-01T00:00:00Z).
  ends_at timestamptz,
  labels jsonb NOT NULL DEFAULT '{}',
  annotations jsonb NOT NULL DEFAULT '{}',
  -- Computed from labels, never written: history by alertname is the most common filter, and
  -- a column lets a b-tree serve it in keyset order (00002). Absent label: NULL.
  alertname text GENERATED ALWAYS AS (labels ->> 'alertname') STORED,
  generator_url text NOT NULL DEFAULT '',
  -- From the webhook body: which receiver notified, and the group it came in.
  receiver text NOT NULL,
  group_key text NOT NULL,
  -- When the webhook was received (now() is the transaction's start: one value per webhook).
  received_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT alert_events_pkey PRIMARY KEY (id),
  CONSTRAINT alert_events_labels_check CHECK (jsonb_typeof(labels) = 'object'),
  CONSTRAINT alert_events_annotations_check CHECK (jsonb_typeof(annotations) = 'object'),
  -- The idempotence key, on (fingerprint, status, starts_at). The columns are ordered so that its
  -- index also serves an alert's timeline (WHERE fingerprint = $1 ORDER BY starts_at, status,
  -- where 'firing' sorts before 'resolved'). ON CONFLICT (fingerprint, status, starts_at) finds
  -- it whatever the order the columns are named in.
  CONSTRAINT alert_events_fingerprint_starts_at_status_key UNIQUE (fingerprint, starts_at, status)
);

COMMENT ON TABLE alert_events IS 'Append-only alert history: one row per state (firing, resolved) an alert reached.';
COMMENT ON COLUMN alert_events.starts_at IS 'Alertmanager''s startsAt (nanoseconds are lost: timestamptz keeps microseconds).';
COMMENT ON COLUMN alert_events.ends_at IS 'Alertmanager''s endsAt, NULL while firing (Alertmanager sends Go''s zero time).';
COMMENT ON COLUMN alert_events.alertname IS 'labels->>''alertname'', computed by the server (NULL without that label).';
COMMENT ON COLUMN alert_events.received_at IS 'When the webhook that brought this state was received.';

CREATE TABLE alerts (
  fingerprint text NOT NULL,
  -- Same meaning as in alert_events, for the newest state.
  status alert_status NOT NULL,
  labels jsonb NOT NULL DEFAULT '{}',
  annotations jsonb NOT NULL DEFAULT '{}',
  alertname text GENERATED ALWAYS AS (labels ->> 'alertname') STORED,
  -- The current (newest) episode: its startsAt, and its endsAt once resolved.
  starts_at timestamptz NOT NULL,
  ends_at timestamptz,
  generator_url text NOT NULL DEFAULT '',
  receiver text NOT NULL,
  -- starts_at of the first episode ever recorded: when the alert first fired.
  first_seen_at timestamptz NOT NULL,
  -- received_at of the newest notification that carried the alert, re-sends included: a firing
  -- alert whose last_seen_at is old is one Alertmanager stopped sending.
  last_seen_at timestamptz NOT NULL,
  -- received_at of the newest event of the alert: when its current state arrived.
  last_received_at timestamptz NOT NULL,
  -- Number of distinct firing episodes (firing events) recorded: flapping alerts have many.
  firing_episodes integer NOT NULL DEFAULT 0,
  CONSTRAINT alerts_pkey PRIMARY KEY (fingerprint),
  CONSTRAINT alerts_labels_check CHECK (jsonb_typeof(labels) = 'object'),
  CONSTRAINT alerts_annotations_check CHECK (jsonb_typeof(annotations) = 'object'),
  CONSTRAINT alerts_firing_episodes_check CHECK (firing_episodes >= 0)
);

COMMENT ON TABLE alerts IS 'Current state per fingerprint, updated in the same transaction as alert_events.';
COMMENT ON COLUMN alerts.alertname IS 'labels->>''alertname'', computed by the server (NULL without that label).';
COMMENT ON COLUMN alerts.starts_at IS 'startsAt of the current (newest) episode.';
COMMENT ON COLUMN alerts.ends_at IS 'endsAt of the current episode, NULL while it fires.';
COMMENT ON COLUMN alerts.first_seen_at IS 'starts_at of the first episode recorded.';
COMMENT ON COLUMN alerts.last_seen_at IS 'received_at of the newest notification carrying the alert (re-sends included).';
COMMENT ON COLUMN alerts.last_received_at IS 'received_at of the newest event: when the current state arrived.';
COMMENT ON COLUMN alerts.firing_episodes IS 'Firing episodes recorded (distinct starts_at of firing events).';

-- +goose Down
DROP TABLE alerts;
DROP TABLE alert_events;
DROP TYPE alert_status;

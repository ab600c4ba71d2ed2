-- +goose Up
-- Comments on the columns 00001 left undocumented: kysely-codegen copies them into src/schema/database.ts,
-- where they document the generated types (and psql's \d+ shows them).
COMMENT ON COLUMN alert_events.id IS 'Row identity, assigned by the server; also the tie-breaker of the history order.';
COMMENT ON COLUMN alert_events.fingerprint IS 'Alertmanager''s fingerprint of the alert''s label set.';
COMMENT ON COLUMN alert_events.status IS 'The state this event records: firing or resolved.';
COMMENT ON COLUMN alert_events.labels IS 'The alert''s labels (a JSON object of strings).';
COMMENT ON COLUMN alert_events.annotations IS 'The alert''s annotations as sent with this state (a JSON object of strings).';
COMMENT ON COLUMN alert_events.generator_url IS 'Link to the rule that produced the alert; may be empty.';
COMMENT ON COLUMN alert_events.receiver IS 'The receiver of the webhook that brought this state.';
COMMENT ON COLUMN alert_events.group_key IS 'Alertmanager''s key of the notification group of that webhook.';
COMMENT ON COLUMN alerts.fingerprint IS 'Alertmanager''s fingerprint of the alert''s label set: one row per fingerprint.';
COMMENT ON COLUMN alerts.status IS 'The state of the newest event: firing or resolved.';
COMMENT ON COLUMN alerts.labels IS 'The alert''s labels as of the newest event (a JSON object of strings).';
COMMENT ON COLUMN alerts.annotations IS 'The alert''s annotations as of the newest event (a JSON object of strings).';
COMMENT ON COLUMN alerts.generator_url IS 'Link to the rule that produced the alert, as of the newest event.';
COMMENT ON COLUMN alerts.receiver IS 'The receiver of the webhook that brought the newest event.';

-- +goose Down
COMMENT ON COLUMN alert_events.id IS NULL;
COMMENT ON COLUMN alert_events.fingerprint IS NULL;
COMMENT ON COLUMN alert_events.status IS NULL;
COMMENT ON COLUMN alert_events.labels IS NULL;
COMMENT ON COLUMN alert_events.annotations IS NULL;
COMMENT ON COLUMN alert_events.generator_url IS NULL;
COMMENT ON COLUMN alert_events.receiver IS NULL;
COMMENT ON COLUMN alert_events.group_key IS NULL;
COMMENT ON COLUMN alerts.fingerprint IS NULL;
COMMENT ON COLUMN alerts.status IS NULL;
COMMENT ON COLUMN alerts.labels IS NULL;
COMMENT ON COLUMN alerts.annotations IS NULL;
COMMENT ON COLUMN alerts.generator_url IS NULL;
COMMENT ON COLUMN alerts.receiver IS NULL;

-- +goose Up
-- Routed detections, written in the same transaction as the page that changed them and
-- drained by the DeliverOutbox activity: a crash can neither lose nor duplicate a delivery.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    connection_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    route_id TEXT NOT NULL,
    record_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    trigger TEXT NOT NULL,
    generation BIGINT NOT NULL DEFAULT 0,
    ocsf JSONB NOT NULL,
    raw JSONB NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ,
    UNIQUE (connection_id, route_id, record_key, content_hash, generation)
);
CREATE INDEX outbox_due ON outbox (connection_id, status, next_attempt_at);

-- +goose Down
DROP TABLE outbox;

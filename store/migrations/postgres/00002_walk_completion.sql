-- +goose Up
-- The last finished walk's ID (and its removals), so an activity retried after its final page
-- committed reports the finished walk instead of walking again.
ALTER TABLE stream_state ADD COLUMN last_walk_id TEXT;
ALTER TABLE stream_state ADD COLUMN walk_removed BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE stream_state DROP COLUMN walk_removed;
ALTER TABLE stream_state DROP COLUMN last_walk_id;

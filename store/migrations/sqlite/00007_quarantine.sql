-- +goose Up
-- Records the console sent that the connector could not read (a field of the wrong type, say):
-- kept exactly as received, with the reason, instead of stopping the walk or dropping them.
-- A later walk that reads the same record key successfully removes its row here.
CREATE TABLE quarantine (
    connection_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    record_key TEXT NOT NULL,
    raw TEXT NOT NULL,
    error TEXT NOT NULL,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, stream, record_key)
);

-- +goose Down
DROP TABLE quarantine;

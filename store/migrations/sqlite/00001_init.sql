-- +goose Up
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    console_url TEXT NOT NULL,
    settings TEXT NOT NULL,
    token_sealed TEXT NOT NULL,
    token_fingerprint TEXT NOT NULL,
    pending_token_sealed TEXT,
    pending_token_fingerprint TEXT,
    token_expires_at TIMESTAMP,
    state TEXT NOT NULL DEFAULT 'Registered',
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    deleted_at TIMESTAMP
);

CREATE TABLE sync_runs (
    connection_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    workflow_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    streams TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP,
    summary TEXT,
    PRIMARY KEY (connection_id, seq)
);

-- One row per connection and stream: the committed watermark and the walk in progress.
CREATE TABLE stream_state (
    connection_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    watermark TIMESTAMP,
    last_full_at TIMESTAMP,
    walk_id TEXT,
    walk_mode TEXT,
    walk_params TEXT,
    walk_cursor TEXT,
    walk_max_updated TIMESTAMP,
    walk_started_at TIMESTAMP,
    walk_pages BIGINT NOT NULL DEFAULT 0,
    walk_fetched BIGINT NOT NULL DEFAULT 0,
    walk_inserted BIGINT NOT NULL DEFAULT 0,
    walk_updated BIGINT NOT NULL DEFAULT 0,
    walk_unchanged BIGINT NOT NULL DEFAULT 0,
    walk_total BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, stream)
);

-- Agents: Qualys ETM's flat host-asset columns, the OCSF 5001 event and the raw S1 JSON.
CREATE TABLE agents (
    connection_id TEXT NOT NULL,
    record_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMP,
    first_seen_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    removed_at TIMESTAMP,
    seen_walk TEXT,
    raw TEXT NOT NULL,
    ocsf TEXT NOT NULL,
    agent_id TEXT NOT NULL DEFAULT '',
    uuid TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    processor TEXT NOT NULL DEFAULT '',
    last_boot TIMESTAMP,
    serial_number TEXT NOT NULL DEFAULT '',
    cpu_count BIGINT NOT NULL DEFAULT 0,
    core_count BIGINT NOT NULL DEFAULT 0,
    ip_addresses TEXT NOT NULL DEFAULT '',
    external_ip TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '',
    manufacturer TEXT NOT NULL DEFAULT '',
    gateway TEXT NOT NULL DEFAULT '',
    interface_name TEXT NOT NULL DEFAULT '',
    mac_address TEXT NOT NULL DEFAULT '',
    os_arch TEXT NOT NULL DEFAULT '',
    os_name TEXT NOT NULL DEFAULT '',
    os_version TEXT NOT NULL DEFAULT '',
    os_type TEXT NOT NULL DEFAULT '',
    total_memory_mb BIGINT NOT NULL DEFAULT 0,
    domain TEXT NOT NULL DEFAULT '',
    agent_version TEXT NOT NULL DEFAULT '',
    agent_status TEXT NOT NULL DEFAULT '',
    network_status TEXT NOT NULL DEFAULT '',
    machine_type TEXT NOT NULL DEFAULT '',
    last_active TIMESTAMP,
    last_logged_in_user TEXT NOT NULL DEFAULT '',
    site_id TEXT NOT NULL DEFAULT '',
    site_name TEXT NOT NULL DEFAULT '',
    group_id TEXT NOT NULL DEFAULT '',
    group_name TEXT NOT NULL DEFAULT '',
    account_id TEXT NOT NULL DEFAULT '',
    account_name TEXT NOT NULL DEFAULT '',
    tags TEXT NOT NULL DEFAULT '',
    is_active BOOLEAN NOT NULL DEFAULT FALSE,
    infected BOOLEAN NOT NULL DEFAULT FALSE,
    active_threats BIGINT NOT NULL DEFAULT 0,
    is_decommissioned BOOLEAN NOT NULL DEFAULT FALSE,
    is_uninstalled BOOLEAN NOT NULL DEFAULT FALSE,
    registered_at TIMESTAMP,
    created_at TIMESTAMP,
    updated_at TIMESTAMP,
    PRIMARY KEY (connection_id, record_key)
);
CREATE INDEX agents_removed ON agents (connection_id, removed_at);

-- +goose Down
DROP TABLE agents;
DROP TABLE stream_state;
DROP TABLE sync_runs;
DROP TABLE connections;

-- +goose Up
CREATE TABLE connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    console_url TEXT NOT NULL,
    settings JSONB NOT NULL,
    token_sealed TEXT NOT NULL,
    token_fingerprint TEXT NOT NULL,
    pending_token_sealed TEXT,
    pending_token_fingerprint TEXT,
    token_expires_at TIMESTAMPTZ,
    state TEXT NOT NULL DEFAULT 'Registered',
    last_error JSONB,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    deleted_at TIMESTAMPTZ
);

CREATE TABLE sync_runs (
    connection_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    workflow_id TEXT NOT NULL,
    mode TEXT NOT NULL,
    streams TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    summary JSONB,
    PRIMARY KEY (connection_id, seq)
);

-- One row per connection and stream: the committed watermark and the walk in progress.
CREATE TABLE stream_state (
    connection_id TEXT NOT NULL,
    stream TEXT NOT NULL,
    watermark TIMESTAMPTZ,
    last_full_at TIMESTAMPTZ,
    walk_id TEXT,
    walk_mode TEXT,
    walk_params TEXT,
    walk_cursor TEXT,
    walk_max_updated TIMESTAMPTZ,
    walk_started_at TIMESTAMPTZ,
    walk_pages BIGINT NOT NULL DEFAULT 0,
    walk_fetched BIGINT NOT NULL DEFAULT 0,
    walk_inserted BIGINT NOT NULL DEFAULT 0,
    walk_updated BIGINT NOT NULL DEFAULT 0,
    walk_unchanged BIGINT NOT NULL DEFAULT 0,
    walk_total BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (connection_id, stream)
);

-- Agents: Qualys ETM's flat host-asset columns, the OCSF 5001 event and the raw S1 JSON.
CREATE TABLE agents (
    connection_id TEXT NOT NULL,
    record_key TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    source_updated_at TIMESTAMPTZ,
    first_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    removed_at TIMESTAMPTZ,
    seen_walk TEXT,
    raw JSONB NOT NULL,
    ocsf JSONB NOT NULL,
    agent_id TEXT NOT NULL DEFAULT '',
    uuid TEXT NOT NULL DEFAULT '',
    hostname TEXT NOT NULL DEFAULT '',
    processor TEXT NOT NULL DEFAULT '',
    last_boot TIMESTAMPTZ,
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
    last_active TIMESTAMPTZ,
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
    registered_at TIMESTAMPTZ,
    created_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    PRIMARY KEY (connection_id, record_key)
);
CREATE INDEX agents_removed ON agents (connection_id, removed_at);

-- +goose Down
DROP TABLE agents;
DROP TABLE stream_state;
DROP TABLE sync_runs;
DROP TABLE connections;

-- +goose Up
-- PostgreSQL switches its JSON columns to lz4 compression in this version; SQLite has no
-- per-column compression. Kept so both dialects share version numbers.
SELECT 1;

-- +goose Down
SELECT 1;

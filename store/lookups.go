package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/sentinelone-connector/s1conn/ocsf"
)

// CVEDetails returns the cached CVE detail documents (raw JSON from /risks/cves) of the IDs given.
func (s *Store) CVEDetails(ctx context.Context, ids []string) (map[string][]byte, error) {
	out := make(map[string][]byte, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	sel := "detail"
	if s.isPG {
		sel = "detail::text"
	}
	q, args, err := sqlx.In(`SELECT cve_id, `+sel+` FROM cve_details WHERE cve_id IN (?)`, ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, fmt.Errorf("reading cached CVE details: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, d string
		if err := rows.Scan(&id, &d); err != nil {
			return nil, err
		}
		out[id] = []byte(d)
	}
	return out, rows.Err()
}

// PutCVEDetails caches CVE detail documents (shared by every connection: CVE facts are global).
func (s *Store) PutCVEDetails(ctx context.Context, details map[string][]byte) error {
	if len(details) == 0 {
		return nil
	}
	ph := "?"
	if s.isPG {
		ph = "CAST(? AS jsonb)"
	}
	return s.inTx(ctx, func(tx *sqlxTx) error {
		q := tx.Rebind(`INSERT INTO cve_details (cve_id, detail, fetched_at) VALUES (?, ` + ph + `, ?)
			ON CONFLICT (cve_id) DO UPDATE SET detail = excluded.detail, fetched_at = excluded.fetched_at`)
		now := s.now()
		for id, d := range details {
			if _, err := tx.ExecContext(ctx, q, id, string(d), now); err != nil {
				return fmt.Errorf("caching %s: %w", id, err)
			}
		}
		return nil
	})
}

// HostAssets returns the stored flat host rows of the given agent IDs (for joins).
func (s *Store) HostAssets(ctx context.Context, connID string, agentIDs []string) (map[string]*ocsf.HostAsset, error) {
	out := make(map[string]*ocsf.HostAsset, len(agentIDs))
	if len(agentIDs) == 0 {
		return out, nil
	}
	cols := strings.Join(ocsf.HostAssetColumns(), ", ")
	for len(agentIDs) > 0 {
		n := min(len(agentIDs), maxParams-1)
		q, args, err := s.keysIn(`SELECT `+cols+` FROM agents WHERE connection_id = ? AND record_key `, connID, agentIDs[:n])
		if err != nil {
			return nil, err
		}
		var hs []ocsf.HostAsset
		if err := s.db.SelectContext(ctx, &hs, s.db.Rebind(q), args...); err != nil {
			return nil, fmt.Errorf("joining agents: %w", err)
		}
		for i := range hs {
			h := hs[i]
			utcPtr(h.LastBoot)
			utcPtr(h.LastActive)
			utcPtr(h.RegisteredAt)
			utcPtr(h.CreatedAt)
			utcPtr(h.UpdatedAt)
			out[h.AgentID] = &h
		}
		agentIDs = agentIDs[n:]
	}
	return out, nil
}

func utcPtr(t *time.Time) {
	if t != nil {
		*t = t.UTC()
	}
}

// RemovedSince returns the records of a stream marked removed at or after t (e.g. by the
// full reconcile that just ended), for rewriting them into their final state.
func (s *Store) RemovedSince(ctx context.Context, connID, stream string, t time.Time) ([]*StoredRecord, error) {
	tb, ok := tables[stream]
	if !ok {
		return nil, fmt.Errorf("unknown stream %q", stream)
	}
	raw := "raw"
	if s.isPG {
		raw = "raw::text"
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT record_key, `+raw+`, removed_at FROM `+tb.Name+`
		WHERE connection_id = ? AND removed_at IS NOT NULL AND removed_at >= ? ORDER BY record_key`), connID, t.UTC())
	if err != nil {
		return nil, fmt.Errorf("reading removed %s: %w", stream, err)
	}
	defer rows.Close()
	var out []*StoredRecord
	for rows.Next() {
		var r StoredRecord
		var rawS string
		var at time.Time
		if err := rows.Scan(&r.Key, &rawS, &at); err != nil {
			return nil, err
		}
		r.Raw, r.RemovedAt = []byte(rawS), at.UTC()
		out = append(out, &r)
	}
	return out, rows.Err()
}

// RewriteRemoved replaces removed records' content (their final state) and keeps them removed.
func (s *Store) RewriteRemoved(ctx context.Context, t Table, connID string, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	return s.inTx(ctx, func(tx *sqlxTx) error {
		var removedAt []struct {
			Key string    `db:"record_key"`
			At  time.Time `db:"removed_at"`
		}
		keys := recordKeys(recs)
		for len(keys) > 0 {
			n := min(len(keys), maxParams-1)
			q, args, err := sqlx.In(`SELECT record_key, removed_at FROM `+t.Name+` WHERE connection_id = ? AND removed_at IS NOT NULL AND record_key IN (?)`, connID, keys[:n])
			if err != nil {
				return err
			}
			var part []struct {
				Key string    `db:"record_key"`
				At  time.Time `db:"removed_at"`
			}
			if err := tx.SelectContext(ctx, &part, tx.Rebind(q), args...); err != nil {
				return err
			}
			removedAt = append(removedAt, part...)
			keys = keys[n:]
		}
		if err := s.upsert(ctx, tx, t, connID, "", s.now(), recs); err != nil {
			return err
		}
		for _, r := range removedAt {
			if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE `+t.Name+` SET removed_at = ? WHERE connection_id = ? AND record_key = ?`),
				r.At.UTC(), connID, r.Key); err != nil {
				return err
			}
		}
		return nil
	})
}

// FlatValues returns one flat column's values for the given keys (e.g. the previous status).
func (s *Store) FlatValues(ctx context.Context, t Table, connID, column string, keys []string) (map[string]string, error) {
	out := make(map[string]string, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	ok := false
	for _, c := range t.FlatColumns {
		ok = ok || c == column
	}
	if !ok {
		return nil, fmt.Errorf("%s has no column %q", t.Name, column)
	}
	q, args, err := s.keysIn(`SELECT record_key, `+column+` FROM `+t.Name+` WHERE connection_id = ? AND record_key `, connID, keys)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, rows.Err()
}

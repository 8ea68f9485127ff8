package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Quarantined is a record the console sent that the connector could not transform: kept
// exactly as received with the reason, so nothing the console said is lost and one bad record
// does not stop the walk. A later walk that stores the same key clears it.
type Quarantined struct {
	Stream    string    `db:"stream" json:"stream"`
	Key       string    `db:"record_key" json:"key"`
	Raw       []byte    `db:"raw" json:"-"`
	Error     string    `db:"error" json:"error"`
	FirstSeen time.Time `db:"first_seen_at" json:"firstSeenAt"`
	LastSeen  time.Time `db:"last_seen_at" json:"lastSeenAt"`
}

// quarantine stores a page's unreadable records and clears the quarantine of the keys the page
// stored, inside the page's transaction.
func (s *Store) quarantine(ctx context.Context, tx *sqlxTx, stream, connID string, now time.Time, bad []Quarantined, stored []Record) error {
	if len(stored) > 0 {
		keys := recordKeys(stored)
		for len(keys) > 0 {
			n := min(len(keys), maxParams-2)
			q, args, err := s.keysIn(`DELETE FROM quarantine WHERE connection_id = ? AND stream = ? AND record_key `, connID, stream, keys[:n])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("clearing the %s quarantine: %w", stream, err)
			}
			keys = keys[n:]
		}
	}
	for _, b := range bad {
		if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO quarantine (connection_id, stream, record_key, raw, error, first_seen_at, last_seen_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id, stream, record_key) DO UPDATE SET raw = excluded.raw,
			error = excluded.error, last_seen_at = excluded.last_seen_at`),
			connID, stream, b.Key, string(b.Raw), b.Error, now, now); err != nil {
			return fmt.Errorf("quarantining a %s record: %w", stream, err)
		}
	}
	return nil
}

// Quarantine stores unreadable records read outside a walk (the alerts' status refresh).
func (s *Store) Quarantine(ctx context.Context, stream, connID string, bad []Quarantined) error {
	return s.inTx(ctx, func(tx *sqlxTx) error { return s.quarantine(ctx, tx, stream, connID, s.now(), bad, nil) })
}

// QuarantineCounts returns how many records of each stream are quarantined.
func (s *Store) QuarantineCounts(ctx context.Context, connID string) (map[string]int64, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT stream, COUNT(*) FROM quarantine WHERE connection_id = ? GROUP BY stream`), connID)
	if err != nil {
		return nil, fmt.Errorf("counting quarantined records: %w", err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var st string
		var n int64
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}

// QuarantinedRecords returns a stream's quarantined records in key order ("" = every stream).
func (s *Store) QuarantinedRecords(ctx context.Context, connID, stream string) ([]Quarantined, error) {
	q := `SELECT stream, record_key, raw, error, first_seen_at, last_seen_at FROM quarantine WHERE connection_id = ?`
	args := []any{connID}
	if stream != "" {
		q += ` AND stream = ?`
		args = append(args, stream)
	}
	var out []Quarantined
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(q+` ORDER BY stream, record_key`), args...); err != nil {
		return nil, fmt.Errorf("reading quarantined records: %w", err)
	}
	for i := range out {
		out[i].FirstSeen, out[i].LastSeen = out[i].FirstSeen.UTC(), out[i].LastSeen.UTC()
	}
	return out, nil
}

// hasQuarantine reports whether the stream has quarantined records to clear (one indexed probe,
// so pages of streams without any skip the DELETE).
func (s *Store) hasQuarantine(ctx context.Context, tx *sqlxTx, stream, connID string) (bool, error) {
	var one int
	err := tx.QueryRowxContext(ctx, tx.Rebind(`SELECT 1 FROM quarantine WHERE connection_id = ? AND stream = ? LIMIT 1`), connID, stream).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading the %s quarantine: %w", stream, err)
	}
	return true, nil
}

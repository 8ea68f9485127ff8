package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sentinelone-connector/s1conn/model"
)

// trigger classifies a stored change for routing.
func trigger(r *Record, old existingRow, existed bool) string {
	switch {
	case !existed:
		return model.TriggerNew
	case r.Status == "resolved" && old.status != "resolved":
		return model.TriggerResolved
	}
	return model.TriggerChanged
}

// enqueue writes an outbox row per (written record, fired route) inside the page's transaction.
// The unique key (route, record, content hash, generation) makes a re-committed page enqueue nothing.
func (s *Store) enqueue(ctx context.Context, tx *sqlxTx, t Table, connID string, written []Record,
	existing map[string]existingRow, router func(*Record, string) []string, now time.Time) (int64, error) {
	var n int64
	json := "?"
	if s.isPG {
		json = "CAST(? AS jsonb)"
	}
	q := tx.Rebind(`INSERT INTO outbox (connection_id, stream, route_id, record_key, content_hash, trigger, generation, ocsf, raw,
		status, attempts, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 0, ` + json + `, ` + json + `, 'pending', 0, ?, ?)
		ON CONFLICT (connection_id, route_id, record_key, content_hash, generation) DO NOTHING`)
	for i := range written {
		r := &written[i]
		old, existed := existing[r.Key]
		trig := trigger(r, old, existed)
		for _, route := range router(r, trig) {
			res, err := tx.ExecContext(ctx, q, connID, t.Stream, route, r.Key, r.Hash, trig, string(r.OCSF), string(r.Raw), now, now)
			if err != nil {
				return n, fmt.Errorf("queueing %s %s for route %s: %w", t.Stream, r.Key, route, err)
			}
			k, _ := res.RowsAffected()
			n += k
		}
	}
	return n, nil
}

// OutboxRow is one queued delivery.
type OutboxRow struct {
	ID          int64  `db:"id"`
	Stream      string `db:"stream"`
	RouteID     string `db:"route_id"`
	RecordKey   string `db:"record_key"`
	ContentHash string `db:"content_hash"`
	Trigger     string `db:"trigger"`
	Generation  int64  `db:"generation"`
	OCSF        string `db:"ocsf"`
	Raw         string `db:"raw"`
	Attempts    int    `db:"attempts"`
}

// DueOutbox returns up to limit pending deliveries whose time has come, oldest first.
func (s *Store) DueOutbox(ctx context.Context, connID string, limit int) ([]OutboxRow, error) {
	ocsf, raw := "ocsf", "raw"
	if s.isPG {
		ocsf, raw = "ocsf::text AS ocsf", "raw::text AS raw"
	}
	var rows []OutboxRow
	err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT id, stream, route_id, record_key, content_hash, trigger, generation, `+
		ocsf+`, `+raw+`, attempts FROM outbox WHERE connection_id = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?`),
		connID, s.now(), limit)
	if err != nil {
		return nil, fmt.Errorf("reading the outbox: %w", err)
	}
	return rows, nil
}

// NextOutboxDue is the earliest retry time among pending deliveries (zero when none).
func (s *Store) NextOutboxDue(ctx context.Context, connID string) (time.Time, error) {
	var t sql.NullTime
	if err := s.db.GetContext(ctx, &t, s.db.Rebind(`SELECT MIN(next_attempt_at) FROM outbox WHERE connection_id = ? AND status = 'pending'`), connID); err != nil {
		return time.Time{}, err
	}
	return scanTime(t), nil
}

// MarkDelivered records a successful delivery.
func (s *Store) MarkDelivered(ctx context.Context, id int64) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?, last_error = NULL
		WHERE id = ? AND status = 'pending'`), s.now(), id)
	return err
}

// MarkFailed records a failed attempt: retried at next, or dead-lettered when dead.
func (s *Store) MarkFailed(ctx context.Context, id int64, errMsg string, next time.Time, dead bool) error {
	status := "pending"
	if dead {
		status = "dead"
	}
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, next_attempt_at = ?
		WHERE id = ? AND status = 'pending'`), status, errMsg, next.UTC(), id)
	return err
}

// RouteCount is a route's deliveries by outcome.
type RouteCount struct {
	RouteID   string `json:"route" db:"route_id"`
	Delivered int64  `json:"delivered" db:"delivered"`
	Pending   int64  `json:"pending" db:"pending"`
	Dead      int64  `json:"deadLettered" db:"dead"`
}

// OutboxCounts returns per-route delivery counts.
func (s *Store) OutboxCounts(ctx context.Context, connID string) ([]RouteCount, error) {
	var out []RouteCount
	err := s.db.SelectContext(ctx, &out, s.db.Rebind(`SELECT route_id,
		SUM(CASE WHEN status = 'delivered' THEN 1 ELSE 0 END) AS delivered,
		SUM(CASE WHEN status = 'pending' THEN 1 ELSE 0 END) AS pending,
		SUM(CASE WHEN status = 'dead' THEN 1 ELSE 0 END) AS dead
		FROM outbox WHERE connection_id = ? GROUP BY route_id ORDER BY route_id`), connID)
	if err != nil {
		return nil, fmt.Errorf("counting deliveries: %w", err)
	}
	return out, nil
}

// DeadLetters returns dead-lettered deliveries with their last error.
func (s *Store) DeadLetters(ctx context.Context, connID string, limit int) ([]map[string]any, error) {
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(`SELECT id, route_id, record_key, trigger, attempts, last_error FROM outbox
		WHERE connection_id = ? AND status = 'dead' ORDER BY id LIMIT ?`), connID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		m := map[string]any{}
		if err := rows.MapScan(m); err != nil {
			return nil, err
		}
		for k, v := range m {
			if b, ok := v.([]byte); ok {
				m[k] = string(b)
			}
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Replay queues a new delivery generation, for the given routes, of every stored record of a
// stream changed at the console since `since`. It returns how many deliveries were queued.
func (s *Store) Replay(ctx context.Context, connID, stream string, routeIDs []string, since time.Time) (int64, error) {
	t, ok := tables[stream]
	if !ok {
		return 0, fmt.Errorf("unknown stream %q", stream)
	}
	var total int64
	err := s.inTx(ctx, func(tx *sqlxTx) error {
		var gen int64
		if err := tx.GetContext(ctx, &gen, tx.Rebind(`SELECT COALESCE(MAX(generation), 0) + 1 FROM outbox WHERE connection_id = ?`), connID); err != nil {
			return err
		}
		now := s.now()
		for _, route := range routeIDs {
			res, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO outbox (connection_id, stream, route_id, record_key, content_hash, trigger,
				generation, ocsf, raw, status, attempts, next_attempt_at, created_at)
				SELECT connection_id, ?, ?, record_key, content_hash, ?, ?, ocsf, raw, 'pending', 0, ?, ?
				FROM `+t.Name+` WHERE connection_id = ? AND removed_at IS NULL AND source_updated_at >= ?`),
				stream, route, model.TriggerReplay, gen, now, now, connID, since.UTC())
			if err != nil {
				return fmt.Errorf("queueing the replay of %s: %w", route, err)
			}
			n, _ := res.RowsAffected()
			total += n
		}
		return nil
	})
	return total, err
}

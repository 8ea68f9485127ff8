package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/model"
)

// Connection is a stored connection. The token is only ever held sealed.
type Connection struct {
	ID                 string
	Name               string
	Description        string
	ConsoleURL         string
	Settings           model.ConnectionSettings
	TokenSealed        string
	TokenFingerprint   string
	PendingSealed      string
	PendingFingerprint string
	TokenExpiresAt     time.Time
	State              model.State
	LastError          *model.ErrorInfo
	CreatedAt          time.Time
	UpdatedAt          time.Time
	DeletedAt          time.Time
}

type connRow struct {
	ID                 string         `db:"id"`
	Name               string         `db:"name"`
	Description        string         `db:"description"`
	ConsoleURL         string         `db:"console_url"`
	Settings           string         `db:"settings"`
	TokenSealed        string         `db:"token_sealed"`
	TokenFingerprint   string         `db:"token_fingerprint"`
	PendingSealed      sql.NullString `db:"pending_token_sealed"`
	PendingFingerprint sql.NullString `db:"pending_token_fingerprint"`
	TokenExpiresAt     sql.NullTime   `db:"token_expires_at"`
	State              string         `db:"state"`
	LastError          sql.NullString `db:"last_error"`
	CreatedAt          time.Time      `db:"created_at"`
	UpdatedAt          time.Time      `db:"updated_at"`
	DeletedAt          sql.NullTime   `db:"deleted_at"`
}

func (r connRow) toConnection() (*Connection, error) {
	c := &Connection{ID: r.ID, Name: r.Name, Description: r.Description, ConsoleURL: r.ConsoleURL,
		TokenSealed: r.TokenSealed, TokenFingerprint: r.TokenFingerprint,
		PendingSealed: r.PendingSealed.String, PendingFingerprint: r.PendingFingerprint.String,
		TokenExpiresAt: scanTime(r.TokenExpiresAt), State: model.State(r.State),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(), DeletedAt: scanTime(r.DeletedAt)}
	if err := json.Unmarshal([]byte(r.Settings), &c.Settings); err != nil {
		return nil, fmt.Errorf("connection %s: decoding stored settings: %w", r.ID, err)
	}
	if r.LastError.Valid && r.LastError.String != "" {
		c.LastError = new(model.ErrorInfo)
		if err := json.Unmarshal([]byte(r.LastError.String), c.LastError); err != nil {
			return nil, fmt.Errorf("connection %s: decoding last error: %w", r.ID, err)
		}
	}
	return c, nil
}

const connColumns = `id, name, description, console_url, settings, token_sealed, token_fingerprint,
	pending_token_sealed, pending_token_fingerprint, token_expires_at, state, last_error, created_at, updated_at, deleted_at`

// CreateConnection inserts c; ErrExists if the ID is taken by a connection that is not deleted.
func (s *Store) CreateConnection(ctx context.Context, c *Connection) error {
	settings, err := json.Marshal(c.Settings)
	if err != nil {
		return err
	}
	now := s.now()
	if c.State == "" {
		c.State = model.StateRegistered
	}
	return s.inTx(ctx, func(tx *sqlxTx) error {
		var deleted sql.NullTime
		err := tx.GetContext(ctx, &deleted, tx.Rebind(`SELECT deleted_at FROM connections WHERE id = ?`), c.ID)
		switch {
		case err == nil && !deleted.Valid:
			return fmt.Errorf("connection %q %w: choose another --id or delete it first", c.ID, ErrExists)
		case err == nil:
			// A deleted connection's ID may be reused: its old row (and kept data) is replaced.
			// Fix: the old checkpoints and run history went on as the new connection's: its first sync
			// (seq 1, the same deterministic walk ID) could resume the old connection's unfinished walk
			// with that console's cursor and params, a delta would start from the old watermark, and
			// StartRun/FinishRun collided with the old runs' (connection_id, seq). Drop them; kept
			// records stay until the new connection's first (full, since no watermark) walk reconciles
			// them, which needs their seen_walk forgotten (the new walks reuse the old walk IDs).
			for _, t := range []string{"stream_state", "sync_runs"} {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+t+` WHERE connection_id = ?`), c.ID); err != nil {
					return fmt.Errorf("clearing %s of deleted connection %s: %w", t, c.ID, err)
				}
			}
			for _, t := range RecordTables() {
				if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE `+t+` SET seen_walk = NULL WHERE connection_id = ?`), c.ID); err != nil {
					return fmt.Errorf("clearing %s of deleted connection %s: %w", t, c.ID, err)
				}
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM connections WHERE id = ?`), c.ID); err != nil {
				return err
			}
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO connections (id, name, description, console_url, settings,
			token_sealed, token_fingerprint, token_expires_at, state, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			c.ID, c.Name, c.Description, c.ConsoleURL, string(settings), c.TokenSealed, c.TokenFingerprint,
			nullTime(c.TokenExpiresAt), string(c.State), now, now)
		if err != nil {
			return fmt.Errorf("storing connection %s: %w", c.ID, err)
		}
		c.CreatedAt, c.UpdatedAt = now, now
		return nil
	})
}

// GetConnection reads one connection (deleted ones included); ErrNotFound when absent.
func (s *Store) GetConnection(ctx context.Context, id string) (*Connection, error) {
	var r connRow
	err := s.db.GetContext(ctx, &r, s.db.Rebind(`SELECT `+connColumns+` FROM connections WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("connection %q %w: list connections with `starter connection list`", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading connection %s: %w", id, err)
	}
	return r.toConnection()
}

// ListConnections returns every connection not deleted, by ID.
func (s *Store) ListConnections(ctx context.Context) ([]*Connection, error) {
	var rows []connRow
	if err := s.db.SelectContext(ctx, &rows, `SELECT `+connColumns+` FROM connections WHERE deleted_at IS NULL ORDER BY id`); err != nil {
		return nil, fmt.Errorf("listing connections: %w", err)
	}
	out := make([]*Connection, 0, len(rows))
	for _, r := range rows {
		c, err := r.toConnection()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// UpdateSettings replaces a connection's non-secret settings.
func (s *Store) UpdateSettings(ctx context.Context, id string, st model.ConnectionSettings) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return s.exec1(ctx, `UPDATE connections SET settings = ?, updated_at = ? WHERE id = ?`, string(b), s.now(), id)
}

// SetState mirrors the workflow's state (and last error / token expiry when given).
func (s *Store) SetState(ctx context.Context, id string, st model.State, lastErr *model.ErrorInfo, tokenExpires time.Time) error {
	var le any
	if lastErr != nil {
		b, _ := json.Marshal(lastErr)
		le = string(b)
	}
	q := `UPDATE connections SET state = ?, last_error = ?, updated_at = ?`
	args := []any{string(st), le, s.now()}
	if !tokenExpires.IsZero() {
		q += `, token_expires_at = ?`
		args = append(args, tokenExpires.UTC())
	}
	if st == model.StateDeleted {
		q += `, deleted_at = ?`
		args = append(args, s.now())
	}
	q += ` WHERE id = ?`
	return s.exec1(ctx, q, append(args, id)...)
}

// SetPendingToken stores a sealed token awaiting the rotate-token check.
func (s *Store) SetPendingToken(ctx context.Context, id, sealed, fingerprint string) error {
	return s.exec1(ctx, `UPDATE connections SET pending_token_sealed = ?, pending_token_fingerprint = ?, updated_at = ? WHERE id = ?`,
		sealed, fingerprint, s.now(), id)
}

// PromotePendingToken makes the pending token active if its fingerprint matches.
func (s *Store) PromotePendingToken(ctx context.Context, id, fingerprint string, expires time.Time) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE connections SET token_sealed = pending_token_sealed,
		token_fingerprint = pending_token_fingerprint, pending_token_sealed = NULL, pending_token_fingerprint = NULL,
		token_expires_at = ?, updated_at = ? WHERE id = ? AND pending_token_fingerprint = ?`),
		nullTime(expires), s.now(), id, fingerprint)
	if err != nil {
		return fmt.Errorf("promoting the new token of %s: %w", id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		// Already promoted (a retried activity) is success; anything else is a mismatch.
		c, err := s.GetConnection(ctx, id)
		if err != nil {
			return err
		}
		if c.TokenFingerprint == fingerprint {
			return nil
		}
		return fmt.Errorf("connection %s has no pending token %s: run `starter rotate-token` again", id, fingerprint)
	}
	return nil
}

// DeleteConnectionRow removes just the connection row (undoing a create whose workflow could
// not start); records kept from an earlier connection with the same ID stay.
func (s *Store) DeleteConnectionRow(ctx context.Context, id string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`DELETE FROM connections WHERE id = ?`), id)
	return err
}

// PurgeConnection deletes a connection's records, checkpoints and runs (and the connection row).
func (s *Store) PurgeConnection(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx *sqlxTx) error {
		for _, t := range append(RecordTables(), "stream_state", "sync_runs", "outbox", "quarantine", "connections") {
			col := "connection_id"
			if t == "connections" {
				col = "id"
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`DELETE FROM `+t+` WHERE `+col+` = ?`), id); err != nil {
				return fmt.Errorf("purging %s of %s: %w", t, id, err)
			}
		}
		return nil
	})
}

func (s *Store) exec1(ctx context.Context, q string, args ...any) error {
	res, err := s.db.ExecContext(ctx, s.db.Rebind(q), args...)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Fields(q)[0], err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("connection %w", ErrNotFound)
	}
	return nil
}

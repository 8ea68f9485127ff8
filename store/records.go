package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Table describes a stream's record table: common columns plus the stream's flat columns.
type Table struct {
	Stream      string
	Name        string
	FlatColumns []string
	// StatusColumn is the flat column holding new | in_progress | resolved, when the stream
	// has one; routing compares it before and after a change to detect resolutions.
	StatusColumn string
}

var tables = map[string]Table{}

// Register declares a stream's table; the migrations must create it with the same flat columns.
func Register(t Table) { tables[t.Stream] = t }

// TableFor returns the table of a stream.
func TableFor(stream string) (Table, bool) {
	t, ok := tables[stream]
	return t, ok
}

// RecordTables lists every registered record table, sorted.
func RecordTables() []string {
	out := make([]string, 0, len(tables))
	for _, t := range tables {
		out = append(out, t.Name)
	}
	sort.Strings(out)
	return out
}

// Record is one record of a stream ready to store.
type Record struct {
	Key             string
	Hash            string
	SourceUpdatedAt time.Time
	Raw             []byte // exactly as the console sent it
	OCSF            []byte
	Flat            []any // values in Table.FlatColumns order
	// Status and Attrs feed routing: Status is new | in_progress | resolved; Attrs holds
	// severity / confidence / status for route filters.
	Status string
	Attrs  map[string]string
}

// StreamState is a stream's checkpoint: the committed watermark and the walk in progress.
type StreamState struct {
	ConnectionID   string
	Stream         string
	Watermark      time.Time
	LastFullAt     time.Time
	WalkID         string
	WalkMode       string
	WalkParams     string // the pinned query of the walk, URL-encoded
	WalkCursor     string // the cursor of the next page to fetch; "" = first page
	WalkMaxUpdated time.Time
	WalkStartedAt  time.Time
	WalkPages      int64
	WalkFetched    int64
	WalkInserted   int64
	WalkUpdated    int64
	WalkUnchanged  int64
	WalkTotal      int64
	WalkRemoved    int64
	LastWalkID     string
	// Completed is set by BeginWalk when the requested walk already finished (a retried activity).
	Completed bool
	UpdatedAt time.Time
}

type streamRow struct {
	ConnectionID   string         `db:"connection_id"`
	Stream         string         `db:"stream"`
	Watermark      sql.NullTime   `db:"watermark"`
	LastFullAt     sql.NullTime   `db:"last_full_at"`
	WalkID         sql.NullString `db:"walk_id"`
	WalkMode       sql.NullString `db:"walk_mode"`
	WalkParams     sql.NullString `db:"walk_params"`
	WalkCursor     sql.NullString `db:"walk_cursor"`
	WalkMaxUpdated sql.NullTime   `db:"walk_max_updated"`
	WalkStartedAt  sql.NullTime   `db:"walk_started_at"`
	WalkPages      int64          `db:"walk_pages"`
	WalkFetched    int64          `db:"walk_fetched"`
	WalkInserted   int64          `db:"walk_inserted"`
	WalkUpdated    int64          `db:"walk_updated"`
	WalkUnchanged  int64          `db:"walk_unchanged"`
	WalkTotal      int64          `db:"walk_total"`
	WalkRemoved    int64          `db:"walk_removed"`
	LastWalkID     sql.NullString `db:"last_walk_id"`
	UpdatedAt      time.Time      `db:"updated_at"`
}

func (r streamRow) state() *StreamState {
	return &StreamState{ConnectionID: r.ConnectionID, Stream: r.Stream, Watermark: scanTime(r.Watermark),
		LastFullAt: scanTime(r.LastFullAt), WalkID: r.WalkID.String, WalkMode: r.WalkMode.String,
		WalkParams: r.WalkParams.String, WalkCursor: r.WalkCursor.String, WalkMaxUpdated: scanTime(r.WalkMaxUpdated),
		WalkStartedAt: scanTime(r.WalkStartedAt), WalkPages: r.WalkPages, WalkFetched: r.WalkFetched,
		WalkInserted: r.WalkInserted, WalkUpdated: r.WalkUpdated, WalkUnchanged: r.WalkUnchanged,
		WalkTotal: r.WalkTotal, WalkRemoved: r.WalkRemoved, LastWalkID: r.LastWalkID.String, UpdatedAt: r.UpdatedAt.UTC()}
}

const streamColumns = `connection_id, stream, watermark, last_full_at, walk_id, walk_mode, walk_params, walk_cursor,
	walk_max_updated, walk_started_at, walk_pages, walk_fetched, walk_inserted, walk_updated, walk_unchanged, walk_total, updated_at,
	walk_removed, last_walk_id`

func getStreamState(ctx context.Context, q sqlx.QueryerContext, rebind func(string) string, connID, stream string) (*StreamState, error) {
	var r streamRow
	err := sqlx.GetContext(ctx, q, &r, rebind(`SELECT `+streamColumns+` FROM stream_state WHERE connection_id = ? AND stream = ?`), connID, stream)
	if errors.Is(err, sql.ErrNoRows) {
		return &StreamState{ConnectionID: connID, Stream: stream}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the %s checkpoint: %w", stream, err)
	}
	return r.state(), nil
}

// StreamStates returns every stream checkpoint of a connection.
func (s *Store) StreamStates(ctx context.Context, connID string) ([]*StreamState, error) {
	var rows []streamRow
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+streamColumns+` FROM stream_state WHERE connection_id = ? ORDER BY stream`), connID); err != nil {
		return nil, fmt.Errorf("reading checkpoints: %w", err)
	}
	out := make([]*StreamState, len(rows))
	for i, r := range rows {
		out[i] = r.state()
	}
	return out, nil
}

// BeginWalk returns the walk to continue: the stored one if its ID is walkID (a retried
// activity resumes where the last committed page left off), otherwise a fresh walk with
// params pinned. The returned state's Watermark is the committed one.
func (s *Store) BeginWalk(ctx context.Context, connID, stream, walkID, mode, params string) (st *StreamState, resumed bool, err error) {
	err = s.inTx(ctx, func(tx *sqlxTx) error {
		cur, err := getStreamState(ctx, tx, tx.Rebind, connID, stream)
		if err != nil {
			return err
		}
		if cur.WalkID == walkID && walkID != "" {
			st, resumed = cur, true
			return nil
		}
		if cur.LastWalkID == walkID && walkID != "" && cur.WalkID == "" {
			cur.Completed = true
			st, resumed = cur, true
			return nil
		}
		now := s.now()
		cur.WalkID, cur.WalkMode, cur.WalkParams, cur.WalkCursor = walkID, mode, params, ""
		cur.WalkMaxUpdated, cur.WalkStartedAt = time.Time{}, now
		cur.WalkPages, cur.WalkFetched, cur.WalkInserted, cur.WalkUpdated, cur.WalkUnchanged, cur.WalkTotal, cur.WalkRemoved = 0, 0, 0, 0, 0, 0, 0
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO stream_state (`+streamColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, '', NULL, ?, 0, 0, 0, 0, 0, 0, ?, 0, NULL)
			ON CONFLICT (connection_id, stream) DO UPDATE SET walk_id = excluded.walk_id, walk_mode = excluded.walk_mode,
			walk_params = excluded.walk_params, walk_cursor = '', walk_max_updated = NULL, walk_started_at = excluded.walk_started_at,
			walk_pages = 0, walk_fetched = 0, walk_inserted = 0, walk_updated = 0, walk_unchanged = 0, walk_total = 0,
			walk_removed = 0, updated_at = excluded.updated_at`),
			connID, stream, nullTime(cur.Watermark), nullTime(cur.LastFullAt), walkID, mode, params, now, now)
		if err != nil {
			return fmt.Errorf("starting the %s walk: %w", stream, err)
		}
		st = cur
		return nil
	})
	return st, resumed, err
}

// ResetWalkCursor forgets the walk's cursor (after the console rejected it) so the walk restarts
// from its pinned filters; stored rows make the re-read pages idempotent.
func (s *Store) ResetWalkCursor(ctx context.Context, connID, stream, walkID string) error {
	_, err := s.db.ExecContext(ctx, s.db.Rebind(`UPDATE stream_state SET walk_cursor = '', updated_at = ? WHERE connection_id = ? AND stream = ? AND walk_id = ?`),
		s.now(), connID, stream, walkID)
	return err
}

// Page is one fetched page to commit with its checkpoint.
type Page struct {
	ConnectionID string
	Table        Table
	// Checkpoint names the stream_state row of this walk; empty = Table.Stream. Backfill windows
	// of a stream walk in parallel, each with its own checkpoint row ("threats@<from>").
	Checkpoint string
	WalkID     string
	Full       bool   // a full walk: rows not seen by the end of it are marked removed
	NextCursor string // "" when this is the walk's last page
	TotalItems int64
	Fetched    int64 // records the console returned on this page (before de-duplication)
	Records    []Record
	// Quarantined are the page's records the transform could not read, stored as received.
	Quarantined []Quarantined
	// Router names the routes a stored change fires (nil: no routing); the outbox rows are
	// written in the page's transaction.
	Router func(r *Record, trigger string) []string
	// Prev is the walk's previous page while it still commits (StartCommit; nil: none).
	Prev *PendingCommit
	// Part marks a commit of some of a page's records when the page is committed in parts
	// (a delta walk splits a page when nothing else of it is committing, so parts write in
	// parallel): its rows and counts are stored, but the cursor, walk_pages and walk_fetched
	// stay, and it is never the walk's end. The page's last part is an ordinary Page with the
	// page's cursor and Fetched; a crash between parts re-reads the page, whose committed
	// parts are then unchanged rows.
	Part bool
}

// PageCounts is what committing a page did.
type PageCounts struct {
	Inserted, Updated, Unchanged, Removed int64
	Routed                                int64     // outbox rows queued
	Quarantined                           int64     // unreadable records kept in the quarantine
	Watermark                             time.Time // the committed watermark after this page
}

// ErrWalkSuperseded means another walk took over the stream's checkpoint (e.g. a newer sync).
var ErrWalkSuperseded = errors.New("walk superseded by a newer walk")

// CommitPage stores a page's records and advances the walk's checkpoint in one transaction.
// Re-committing the same page changes nothing but last_seen_at. On the last page (NextCursor ""),
// the watermark moves to the highest source timestamp the walk committed, and a full walk marks
// the rows it did not see as removed.
func (s *Store) CommitPage(ctx context.Context, p *Page) (PageCounts, error) {
	pc, err := s.commitPage(ctx, p, nil)
	if err == nil {
		s.analyzeHint(ctx, p, pc)
	}
	return pc, err
}

// analyzeHint counts a committed page's inserted rows towards its table's next ANALYZE.
func (s *Store) analyzeHint(ctx context.Context, p *Page, pc PageCounts) {
	if s.isPG && pc.Inserted > 0 {
		// Statistics are a hint to the planner and the page is committed: a failed analysis
		// (e.g. the walk was cancelled meanwhile) is retried with the next page, not reported.
		s.growth.inserted(ctx, s, p.Table.Name, pc.Inserted)
	}
}

// commitPage runs a page's transaction; ended (if set) learns its outcome as soon as the
// transaction is over (nil: committed), before the caller's after-commit work.
func (s *Store) commitPage(ctx context.Context, p *Page, ended func(error)) (pc PageCounts, err error) {
	if ended != nil {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("committing a %s page panicked: %v; the page was rolled back, nothing is lost — report this", p.Table.Stream, r)
			}
			ended(err)
		}()
	}
	recs := dedupe(p.Records)
	ckpt := p.Checkpoint
	if ckpt == "" {
		ckpt = p.Table.Stream
	}
	err = s.inConnTx(ctx, func(tx *sqlxTx, conn *sqlx.Conn) error {
		if s.isPG {
			if _, err := tx.ExecContext(ctx, `SET LOCAL lock_timeout = '`+pageLockTimeout+`'`); err != nil {
				return fmt.Errorf("starting the %s page: %w", p.Table.Stream, err)
			}
		}
		st, err := getStreamState(ctx, tx, tx.Rebind, p.ConnectionID, ckpt)
		if err != nil {
			return err
		}
		if st.WalkID != p.WalkID {
			return fmt.Errorf("%s walk %s: %w (now %s)", p.Table.Stream, p.WalkID, ErrWalkSuperseded, st.WalkID)
		}
		now := s.now()
		existing, err := s.existing(ctx, tx, p.Table, p.ConnectionID, recs)
		if err != nil {
			return err
		}
		var write, ins, upd []Record
		var same []string
		var pageMax time.Time
		for _, r := range recs {
			if r.SourceUpdatedAt.After(pageMax) {
				pageMax = r.SourceUpdatedAt
			}
			old, ok := existing[r.Key]
			switch {
			case !ok:
				pc.Inserted++
				write = append(write, r)
				ins = append(ins, r)
			case old.hash != r.Hash || old.removed:
				pc.Updated++
				write = append(write, r)
				upd = append(upd, r)
			default:
				pc.Unchanged++
				same = append(same, r.Key)
			}
		}
		if p.Router != nil {
			n, err := s.enqueue(ctx, tx, p.Table, p.ConnectionID, write, existing, p.Router, now)
			if err != nil {
				return err
			}
			pc.Routed = n
		}
		if err := s.storeRecords(ctx, tx, conn, p.Table, p.ConnectionID, p.WalkID, now, ins, upd, existing); err != nil {
			return err
		}
		// A quarantined record the table already holds is still on the console: mark it seen so
		// a full walk does not flag it removed (its stored version stays until a readable one).
		for _, q := range p.Quarantined {
			same = append(same, q.Key)
		}
		if err := s.touch(ctx, tx, p.Table, p.ConnectionID, p.WalkID, now, same); err != nil {
			return err
		}
		held, err := s.hasQuarantine(ctx, tx, p.Table.Stream, p.ConnectionID)
		if err != nil {
			return err
		}
		if len(p.Quarantined) > 0 || held {
			if err := s.quarantine(ctx, tx, p.Table.Stream, p.ConnectionID, now, p.Quarantined, recs); err != nil {
				return err
			}
			pc.Quarantined = int64(len(p.Quarantined))
		}
		if p.Prev != nil {
			// The rows are written; the checkpoint follows the previous page (pending.go).
			if s.beforePrevWait != nil {
				s.beforePrevWait(p)
			}
			if err := p.Prev.waitCommitted(ctx); err != nil {
				return err
			}
			if st, err = getStreamState(ctx, tx, tx.Rebind, p.ConnectionID, ckpt); err != nil {
				return err
			}
			if st.WalkID != p.WalkID {
				return fmt.Errorf("%s walk %s: %w (now %s)", p.Table.Stream, p.WalkID, ErrWalkSuperseded, st.WalkID)
			}
		}
		maxUpd := st.WalkMaxUpdated
		if pageMax.After(maxUpd) {
			maxUpd = pageMax
		}
		final := p.NextCursor == "" && !p.Part
		if p.Part {
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE stream_state SET walk_max_updated = ?,
			walk_inserted = walk_inserted + ?, walk_updated = walk_updated + ?, walk_unchanged = walk_unchanged + ?,
			updated_at = ? WHERE connection_id = ? AND stream = ?`),
				nullTime(maxUpd), pc.Inserted, pc.Updated, pc.Unchanged, now, p.ConnectionID, ckpt)
		} else {
			_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE stream_state SET walk_cursor = ?, walk_max_updated = ?,
			walk_pages = walk_pages + 1, walk_fetched = walk_fetched + ?, walk_inserted = walk_inserted + ?,
			walk_updated = walk_updated + ?, walk_unchanged = walk_unchanged + ?, walk_total = ?, updated_at = ?
			WHERE connection_id = ? AND stream = ?`),
				p.NextCursor, nullTime(maxUpd), p.Fetched, pc.Inserted, pc.Updated, pc.Unchanged, p.TotalItems, now,
				p.ConnectionID, ckpt)
		}
		if err != nil {
			return fmt.Errorf("advancing the %s checkpoint: %w", ckpt, err)
		}
		pc.Watermark = st.Watermark
		if !final {
			return nil
		}
		if maxUpd.After(pc.Watermark) {
			pc.Watermark = maxUpd
		}
		lastFull := st.LastFullAt
		if p.Full {
			res, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE `+p.Table.Name+` SET removed_at = ?
				WHERE connection_id = ? AND removed_at IS NULL AND (seen_walk IS NULL OR seen_walk <> ?)`),
				now, p.ConnectionID, p.WalkID)
			if err != nil {
				return fmt.Errorf("marking vanished %s: %w", p.Table.Stream, err)
			}
			pc.Removed, _ = res.RowsAffected()
			lastFull = st.WalkStartedAt
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`UPDATE stream_state SET watermark = ?, last_full_at = ?, walk_id = NULL,
			walk_cursor = NULL, walk_params = NULL, last_walk_id = ?, walk_removed = ?, updated_at = ?
			WHERE connection_id = ? AND stream = ?`),
			nullTime(pc.Watermark), nullTime(lastFull), p.WalkID, pc.Removed, now, p.ConnectionID, ckpt)
		return err
	})
	return pc, err
}

// UpsertRecords stores records outside any walk (e.g. re-reading alerts by ID to catch status
// changes). Idempotent: unchanged hashes are only marked seen.
func (s *Store) UpsertRecords(ctx context.Context, t Table, connID string, recs []Record, router func(*Record, string) []string) (PageCounts, error) {
	var pc PageCounts
	recs = dedupe(recs)
	err := s.inTx(ctx, func(tx *sqlxTx) error {
		existing, err := s.existing(ctx, tx, t, connID, recs)
		if err != nil {
			return err
		}
		var write []Record
		var same []string
		for _, r := range recs {
			old, ok := existing[r.Key]
			switch {
			case !ok:
				pc.Inserted++
				write = append(write, r)
			case old.hash != r.Hash || old.removed:
				pc.Updated++
				write = append(write, r)
			default:
				pc.Unchanged++
				same = append(same, r.Key)
			}
		}
		// Unchanged records were read now too: last_seen_at says so (a retried alerts refresh
		// skips what this sync already re-read).
		for len(same) > 0 {
			n := min(len(same), maxParams-2)
			q, args, err := s.keysIn(`UPDATE `+t.Name+` SET last_seen_at = ? WHERE connection_id = ? AND record_key `, s.now(), connID, same[:n])
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, q, args...); err != nil {
				return fmt.Errorf("marking %s seen: %w", t.Stream, err)
			}
			same = same[n:]
		}
		if router != nil {
			n, err := s.enqueue(ctx, tx, t, connID, write, existing, router, s.now())
			if err != nil {
				return err
			}
			pc.Routed = n
		}
		if held, err := s.hasQuarantine(ctx, tx, t.Stream, connID); err != nil {
			return err
		} else if held {
			if err := s.quarantine(ctx, tx, t.Stream, connID, s.now(), nil, recs); err != nil {
				return err
			}
		}
		return s.upsert(ctx, tx, t, connID, "", s.now(), write)
	})
	return pc, err
}

// SetWatermarkIfEarlier moves a stream's watermark forward to t (never back), e.g. to the end
// of a first backfill so the next delta starts there.
func (s *Store) SetWatermarkIfEarlier(ctx context.Context, connID, stream string, t time.Time) error {
	return s.inTx(ctx, func(tx *sqlxTx) error {
		cur, err := getStreamState(ctx, tx, tx.Rebind, connID, stream)
		if err != nil {
			return err
		}
		if !cur.Watermark.Before(t) {
			return nil
		}
		_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO stream_state (connection_id, stream, watermark, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (connection_id, stream) DO UPDATE SET watermark = excluded.watermark, updated_at = excluded.updated_at`),
			connID, stream, t.UTC(), s.now())
		return err
	})
}

// Keys returns record keys of a stream matching a SQL condition on its flat columns
// (a fixed condition string from the caller, never user input), for targeted re-reads.
func (s *Store) Keys(ctx context.Context, t Table, connID, cond string, args ...any) ([]string, error) {
	q := `SELECT record_key FROM ` + t.Name + ` WHERE connection_id = ? AND removed_at IS NULL`
	if cond != "" {
		q += ` AND (` + cond + `)`
	}
	var keys []string
	if err := s.db.SelectContext(ctx, &keys, s.db.Rebind(q+` ORDER BY record_key`), append([]any{connID}, args...)...); err != nil {
		return nil, fmt.Errorf("selecting %s keys: %w", t.Stream, err)
	}
	return keys, nil
}

// Count counts a connection's present records of t matching cond (as Keys).
func (s *Store) Count(ctx context.Context, t Table, connID, cond string, args ...any) (int64, error) {
	q := `SELECT COUNT(*) FROM ` + t.Name + ` WHERE connection_id = ? AND removed_at IS NULL`
	if cond != "" {
		q += ` AND (` + cond + `)`
	}
	var n int64
	if err := s.db.QueryRowxContext(ctx, s.db.Rebind(q), append([]any{connID}, args...)...).Scan(&n); err != nil {
		return 0, fmt.Errorf("counting %s: %w", t.Stream, err)
	}
	return n, nil
}

// Earliest is the earliest value of the timestamp column among a connection's present records
// of t (zero when there are none).
func (s *Store) Earliest(ctx context.Context, t Table, connID, column string) (time.Time, error) {
	var at []sql.NullTime
	q := `SELECT ` + column + ` FROM ` + t.Name + ` WHERE connection_id = ? AND removed_at IS NULL AND ` + column +
		` IS NOT NULL ORDER BY ` + column + ` LIMIT 1`
	if err := s.db.SelectContext(ctx, &at, s.db.Rebind(q), connID); err != nil {
		return time.Time{}, fmt.Errorf("reading the earliest %s %s: %w", t.Stream, column, err)
	}
	if len(at) == 0 {
		return time.Time{}, nil
	}
	return scanTime(at[0]), nil
}

// recordKeys returns the keys of recs, in order.
func recordKeys(recs []Record) []string {
	keys := make([]string, len(recs))
	for i, r := range recs {
		keys[i] = r.Key
	}
	return keys
}

// dedupe keeps the last occurrence of each key (a record that changed while the walk ran can appear twice).
func dedupe(in []Record) []Record {
	seen := make(map[string]int, len(in))
	out := make([]Record, 0, len(in))
	for _, r := range in {
		if i, ok := seen[r.Key]; ok {
			out[i] = r
			continue
		}
		seen[r.Key] = len(out)
		out = append(out, r)
	}
	return out
}

type existingRow struct {
	hash      string
	removed   bool
	status    string
	firstSeen string // first_seen_at as PostgreSQL's text (PostgreSQL only)
}

// keysIn completes a statement ending in "record_key " with a key-list condition and rebinds it:
// one text[] parameter on PostgreSQL (= ANY), an IN list elsewhere. args precede the keys.
func (s *Store) keysIn(prefix string, args ...any) (string, []any, error) {
	keys := args[len(args)-1].([]string)
	args = args[:len(args)-1]
	if s.isPG {
		return s.db.Rebind(prefix + `= ANY(?)`), append(args, pq.StringArray(keys)), nil
	}
	q, a, err := sqlx.In(prefix+`IN (?)`, append(args, keys)...)
	if err != nil {
		return "", nil, err
	}
	return s.db.Rebind(q), a, nil
}

// maxParams keeps every statement under SQLite's and PostgreSQL's bind-parameter limits.
const maxParams = 30000

func (s *Store) existing(ctx context.Context, tx *sqlxTx, t Table, connID string, recs []Record) (map[string]existingRow, error) {
	out := make(map[string]existingRow, len(recs))
	keys := recordKeys(recs)
	status := "''"
	if t.StatusColumn != "" {
		status = t.StatusColumn
	}
	first := "''"
	if s.isPG {
		// Changed rows are rewritten with COPY (pgwrite.go), which parses this text back in the
		// same session: lib/pq sets DateStyle ISO, whose output carries the UTC offset.
		first = "first_seen_at::text"
	}
	sel := `SELECT record_key, content_hash, removed_at IS NOT NULL AS removed, ` + status + `, ` + first + ` FROM ` + t.Name
	for len(keys) > 0 {
		n := min(len(keys), maxParams-1)
		q, args, err := s.keysIn(sel+` WHERE connection_id = ? AND record_key `, connID, keys[:n])
		if err != nil {
			return nil, err
		}
		rows, err := tx.QueryContext(ctx, q, args...)
		if err != nil {
			return nil, fmt.Errorf("reading stored %s: %w", t.Stream, err)
		}
		for rows.Next() {
			var k, h, st, first string
			var removed bool
			if err := rows.Scan(&k, &h, &removed, &st, &first); err != nil {
				rows.Close()
				return nil, err
			}
			out[k] = existingRow{hash: h, removed: removed, status: st, firstSeen: first}
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		keys = keys[n:]
	}
	return out, nil
}

var commonColumns = []string{"connection_id", "record_key", "content_hash", "source_updated_at", "first_seen_at",
	"last_seen_at", "removed_at", "seen_walk", "raw", "ocsf"}

func (s *Store) upsert(ctx context.Context, tx *sqlxTx, t Table, connID, walkID string, now time.Time, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	cols := append(append([]string{}, commonColumns...), t.FlatColumns...)
	perRow := len(cols)
	batch := max(1, maxParams/perRow)
	var sets []string
	for _, c := range cols {
		switch c {
		case "connection_id", "record_key", "first_seen_at":
			continue
		}
		sets = append(sets, c+" = excluded."+c)
	}
	ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", perRow), ", ") + ")"
	if s.isPG {
		// jsonb columns (raw, ocsf) take text parameters.
		ph = placeholderRow(perRow, 8, 9)
	}
	for start := 0; start < len(recs); start += batch {
		end := min(start+batch, len(recs))
		var b strings.Builder
		b.WriteString("INSERT INTO " + t.Name + " (" + strings.Join(cols, ", ") + ") VALUES ")
		args := make([]any, 0, (end-start)*perRow)
		for i, r := range recs[start:end] {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ph)
			args = append(args, connID, r.Key, r.Hash, nullTime(r.SourceUpdatedAt), now, now, nil, walkID, jsonText(r.Raw), jsonText(r.OCSF))
			if len(r.Flat) != len(t.FlatColumns) {
				return fmt.Errorf("%s record %s has %d flat values for %d columns", t.Stream, r.Key, len(r.Flat), len(t.FlatColumns))
			}
			args = append(args, r.Flat...)
		}
		b.WriteString(" ON CONFLICT (connection_id, record_key) DO UPDATE SET " + strings.Join(sets, ", "))
		if _, err := tx.ExecContext(ctx, tx.Rebind(b.String()), args...); err != nil {
			return fmt.Errorf("storing %d %s records: %w", end-start, t.Stream, err)
		}
	}
	return nil
}

// placeholderRow builds "(?, …)" with the jsonIdx columns cast to jsonb (PostgreSQL).
func placeholderRow(n int, jsonIdx ...int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = "?"
	}
	for _, j := range jsonIdx {
		parts[j] = "CAST(? AS jsonb)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func (s *Store) touch(ctx context.Context, tx *sqlxTx, t Table, connID, walkID string, now time.Time, keys []string) error {
	for len(keys) > 0 {
		n := min(len(keys), maxParams-3)
		q, args, err := s.keysIn(`UPDATE `+t.Name+` SET last_seen_at = ?, seen_walk = ? WHERE connection_id = ? AND record_key `,
			now, walkID, connID, keys[:n])
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return fmt.Errorf("marking %s seen: %w", t.Stream, err)
		}
		keys = keys[n:]
	}
	return nil
}

// StreamCount is a stream's stored rows.
type StreamCount struct {
	Stream  string `json:"stream"`
	Total   int64  `json:"total"`
	Active  int64  `json:"active"`
	Removed int64  `json:"removed"`
}

// CountRecords counts a connection's rows per registered stream.
func (s *Store) CountRecords(ctx context.Context, connID string) ([]StreamCount, error) {
	streams := make([]string, 0, len(tables))
	for k := range tables {
		streams = append(streams, k)
	}
	sort.Strings(streams)
	out := make([]StreamCount, 0, len(streams))
	for _, st := range streams {
		t := tables[st]
		c := StreamCount{Stream: st}
		err := s.db.QueryRowxContext(ctx, s.db.Rebind(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN removed_at IS NULL THEN 0 ELSE 1 END), 0) FROM `+t.Name+` WHERE connection_id = ?`), connID).Scan(&c.Total, &c.Removed)
		if err != nil {
			return nil, fmt.Errorf("counting %s: %w", st, err)
		}
		c.Active = c.Total - c.Removed
		out = append(out, c)
	}
	return out, nil
}

// StoredRecord is a record as read back for export.
type StoredRecord struct {
	Key       string
	Hash      string
	Raw       []byte
	OCSF      []byte
	Flat      map[string]any
	RemovedAt time.Time
	FirstSeen time.Time
	LastSeen  time.Time
}

// EachRecord calls fn for every stored record of a stream, in key order, streaming rows.
func (s *Store) EachRecord(ctx context.Context, connID, stream string, fn func(*StoredRecord) error) error {
	t, ok := tables[stream]
	if !ok {
		return fmt.Errorf("unknown stream %q", stream)
	}
	cols := append([]string{"record_key", "content_hash", "raw", "ocsf", "removed_at", "first_seen_at", "last_seen_at"}, t.FlatColumns...)
	sel := make([]string, len(cols))
	copy(sel, cols)
	if s.isPG {
		sel[2], sel[3] = "raw::text", "ocsf::text"
	}
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(`SELECT `+strings.Join(sel, ", ")+` FROM `+t.Name+` WHERE connection_id = ? ORDER BY record_key`), connID)
	if err != nil {
		return fmt.Errorf("reading %s: %w", stream, err)
	}
	defer rows.Close()
	// Fix: SQLite has no boolean type, so BOOLEAN flat columns came back as int64 0/1 there (and
	// `export --format flat` wrote 1/0 instead of true/false as on PostgreSQL). Convert them back.
	isBool := make([]bool, len(t.FlatColumns))
	if !s.isPG {
		cts, err := rows.ColumnTypes()
		if err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		for i := range isBool {
			isBool[i] = strings.EqualFold(cts[len(cols)-len(t.FlatColumns)+i].DatabaseTypeName(), "BOOLEAN")
		}
	}
	for rows.Next() {
		var r StoredRecord
		var raw, ev string
		var removed, first, last sql.NullTime
		vals := make([]any, len(t.FlatColumns))
		ptrs := []any{&r.Key, &r.Hash, &raw, &ev, &removed, &first, &last}
		for i := range vals {
			ptrs = append(ptrs, &vals[i])
		}
		if err := rows.Scan(ptrs...); err != nil {
			return fmt.Errorf("reading %s: %w", stream, err)
		}
		r.Raw, r.OCSF = []byte(raw), []byte(ev)
		r.RemovedAt, r.FirstSeen, r.LastSeen = scanTime(removed), scanTime(first), scanTime(last)
		r.Flat = make(map[string]any, len(vals)+1)
		for i, c := range t.FlatColumns {
			if b, ok := vals[i].([]byte); ok {
				vals[i] = string(b)
			}
			if n, ok := vals[i].(int64); ok && isBool[i] {
				vals[i] = n != 0
			}
			// Fix: timestamps came back in the session's zone on PostgreSQL and in time.Local on
			// SQLite, so exports depended on the server/machine zone; return UTC like every other time.
			if tm, ok := vals[i].(time.Time); ok {
				vals[i] = tm.UTC()
			}
			r.Flat[c] = vals[i]
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return rows.Err()
}

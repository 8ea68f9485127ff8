package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// PostgreSQL write path. Profiling the agents full sync (bench/results.md) showed the commit
// loop waiting on PostgreSQL in the multi-row INSERT … ON CONFLICT: ~1,000 rows of 52 bound
// text parameters per statement, each row probed against the primary key by ON CONFLICT after
// CommitPage had already probed it in existing(). Rows that existing() found absent are new, so
// they are streamed with COPY into the table itself (no conflict arbitration, no parameter
// parsing); so are changed rows, once their stored versions are deleted (storeRecords). Key
// lookups bind one text[] parameter instead of a thousand.

// storeRecords writes a page's new and changed records. ins are the records existing() did not
// find; upd the ones it found with another hash (or removed); old is what existing() found.
//
// On PostgreSQL enough rows are streamed with COPY: the new ones, and the changed ones too,
// whose stored versions are deleted first and whose first_seen_at is carried over (what the
// upsert would have kept). Why: an ON CONFLICT update of a row costs PostgreSQL far more than
// the insert of one — in the threats delta of make bench 780 µs of its CPU a changed threat
// against 267 µs a new one in the full sync; BenchmarkCommitPageAgents/update-page 3,336 →
// 5,116 rec/s. Outside the connector a replaced row is a delete and an insert, not an update
// (logical replication, triggers; an UPDATE of another transaction waiting on the old version
// skips it): the connector's own writers never touch a key another page is writing
// (pending.go), and readers see the old row or the new one, never neither.
func (s *Store) storeRecords(ctx context.Context, tx *sqlxTx, conn *sqlx.Conn, t Table, connID, walkID string, now time.Time, ins, upd []Record, old map[string]existingRow) error {
	if !s.isPG || len(ins)+len(upd) < copyMinRows {
		return s.upsert(ctx, tx, t, connID, walkID, now, append(ins, upd...))
	}
	// A concurrent writer (another walk's page) may have inserted one of these keys since
	// existing() looked: COPY then fails on the primary key. The savepoint keeps the page's
	// transaction usable (the delete rolled back with it) and the rows go through the upsert
	// instead.
	if _, err := tx.ExecContext(ctx, `SAVEPOINT copy_page`); err != nil {
		return fmt.Errorf("storing %s records: %w", t.Stream, err)
	}
	if s.beforeCopy != nil {
		s.beforeCopy()
	}
	err := s.deleteKeys(ctx, tx, t, connID, upd)
	if err == nil {
		err = copyRecords(ctx, conn, t, connID, walkID, now, append(ins[:len(ins):len(ins)], upd...), old)
	}
	if err != nil {
		var pqe *pq.Error
		if !errors.As(err, &pqe) || pqe.Code != "23505" {
			return err
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT copy_page`); err != nil {
			return fmt.Errorf("storing %s records: %w", t.Stream, err)
		}
		return s.upsert(ctx, tx, t, connID, walkID, now, append(ins, upd...))
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT copy_page`); err != nil {
		return fmt.Errorf("storing %s records: %w", t.Stream, err)
	}
	return nil
}

// deleteKeys deletes the stored rows of recs (changed records about to be written again).
func (s *Store) deleteKeys(ctx context.Context, tx *sqlxTx, t Table, connID string, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	q, args, err := s.keysIn(`DELETE FROM `+t.Name+` WHERE connection_id = ? AND record_key `, connID, recordKeys(recs))
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, q, args...); err != nil {
		return fmt.Errorf("replacing %d changed %s records: %w", len(recs), t.Stream, err)
	}
	return nil
}

// copyMinRows: below this a single upsert statement costs less than a COPY round trip.
const copyMinRows = 16

// copyBatch is about how many bytes of COPY text go to the driver at once (lib/pq flushes its
// buffer to the server at 63 KiB).
const copyBatch = 48 << 10

// copyRecords streams records into the table with COPY (PostgreSQL only). The rows are
// formatted here (copytext.go) and handed to lib/pq's copyin.CopyData on the transaction's
// driver connection.
func copyRecords(ctx context.Context, conn *sqlx.Conn, t Table, connID, walkID string, now time.Time, recs []Record, old map[string]existingRow) error {
	cols := append(append([]string{}, commonColumns...), t.FlatColumns...)
	nowText := string(pq.FormatTimestamp(now)) // the same text for every row, formatted once
	err := copyLines(ctx, conn, CopyStatement(t.Name, cols), func(buf []byte, i int) ([]byte, bool, error) {
		if i == len(recs) {
			return buf, false, nil
		}
		r := &recs[i]
		if len(r.Flat) != len(t.FlatColumns) {
			return buf, false, fmt.Errorf("%s record %s has %d flat values for %d columns", t.Stream, r.Key, len(r.Flat), len(t.FlatColumns))
		}
		// jsonb columns take their JSON as text.
		first := nowText
		if o, ok := old[r.Key]; ok && o.firstSeen != "" {
			first = o.firstSeen // a changed record keeps when it was first seen
		}
		common := [...]any{connID, r.Key, r.Hash, nullTime(r.SourceUpdatedAt), first, nowText, nil, walkID, jsonText(r.Raw), jsonText(r.OCSF)}
		buf, err := appendCopyRow(buf, common[:])
		if err == nil && len(r.Flat) > 0 {
			buf = append(buf, '\t')
			buf, err = appendCopyRow(buf, r.Flat)
		}
		return buf, true, err
	})
	if err != nil {
		return fmt.Errorf("storing %d %s records: %w", len(recs), t.Stream, err)
	}
	return nil
}

// copyLines runs the COPY … FROM STDIN statement q on conn's driver connection (inside the
// transaction open on conn), sending the lines next appends for i = 0, 1, … until it reports
// no more (next appends one line, without its newline, to buf and returns it).
func copyLines(ctx context.Context, conn *sqlx.Conn, q string, next func(buf []byte, i int) ([]byte, bool, error)) error {
	var panicked any
	err := conn.Raw(func(dc any) (err error) {
		// database/sql closes a Conn whose Raw function returns driver.ErrBadConn or panics, and
		// that close waits for the transaction open on it: neither may leave this function. A
		// panic goes on once Raw has returned, so the transaction rolls back as for any other.
		defer func() {
			if r := recover(); r != nil {
				panicked, err = r, errors.New("COPY panicked")
			}
			if err != nil {
				err = rawErr{err}
			}
		}()
		return copyRows(ctx, dc, q, next)
	})
	if panicked != nil {
		panic(panicked)
	}
	if re, ok := err.(rawErr); ok {
		err = re.err
	}
	return err
}

// rawErr carries an error out of conn.Raw without unwrapping to driver.ErrBadConn (see
// copyLines); the caller unwraps it, and the transaction's next statement or its rollback
// then meets the bad connection and discards it.
type rawErr struct{ err error }

func (e rawErr) Error() string { return e.err.Error() }

// copyData is lib/pq's COPY statement: CopyData sends text and a newline.
type copyData interface {
	driver.Stmt
	CopyData(ctx context.Context, line string) (driver.Result, error)
}

// copyRows runs the COPY statement q on the driver connection dc. Lines are sent about
// copyBatch bytes at a time, joined by newlines: each CopyData call with a cancellable context
// starts a goroutine in lib/pq to watch it, which a call per row would pay 1,000 times a page.
func copyRows(ctx context.Context, dc any, q string, next func(buf []byte, i int) ([]byte, bool, error)) error {
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return fmt.Errorf("the database driver (%T) cannot prepare statements with a context", dc)
	}
	st, err := pc.PrepareContext(ctx, q)
	if err != nil {
		return err
	}
	cd, ok := st.(copyData)
	if !ok {
		_ = st.Close()
		return fmt.Errorf("the database driver's COPY statement (%T) takes no CopyData", st)
	}
	// Close ends the COPY (CopyDone) and returns the server's verdict on every row. It must run
	// even when next panics: until it does, the statement's goroutine reads the connection,
	// which the transaction's rollback is about to use.
	closed := false
	defer func() {
		if !closed {
			_ = cd.Close()
		}
	}()
	var buf []byte
	send := func() error {
		_, err := cd.CopyData(ctx, unsafe.String(unsafe.SliceData(buf), len(buf)))
		buf = buf[:0]
		return err
	}
	for i := 0; ; i++ {
		n := len(buf)
		if n > 0 {
			buf = append(buf, '\n')
		}
		var more bool
		if buf, more, err = next(buf, i); err != nil {
			break
		}
		if !more {
			if buf = buf[:n]; n > 0 {
				err = send()
			}
			break
		}
		if len(buf) >= copyBatch {
			if err = send(); err != nil {
				break
			}
		}
	}
	// After a failure above too: the connection stays usable for the rollback.
	closed = true
	if cerr := cd.Close(); err == nil {
		err = cerr
	}
	return err
}

// jsonText passes a record's JSON to the driver as text (jsonb columns take text; a []byte
// would be sent as bytea) without copying it: a page holds ~8 MB of JSON, and the copies
// showed up as runtime.memmove in the profile. Safe because a Record's JSON is never
// modified after the transform built it.
func jsonText(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// CopyStatement is the COPY … FROM STDIN statement of table and columns, for lib/pq's Prepare.
func CopyStatement(table string, cols []string) string {
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = pq.QuoteIdentifier(c)
	}
	return "COPY " + pq.QuoteIdentifier(table) + " (" + strings.Join(quoted, ", ") + ") FROM STDIN"
}

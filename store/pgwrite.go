package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unsafe"

	"github.com/lib/pq"
)

// PostgreSQL write path. Profiling the agents full sync (bench/results.md) showed the commit
// loop waiting on PostgreSQL in the multi-row INSERT … ON CONFLICT: ~1,000 rows of 52 bound
// text parameters per statement, each row probed against the primary key by ON CONFLICT after
// CommitPage had already probed it in existing(). Rows that existing() found absent are new, so
// they are streamed with COPY into the table itself (no conflict arbitration, no parameter
// parsing); changed rows keep the upsert. Key lookups bind one text[] parameter instead of a
// thousand.

// storeRecords writes a page's new and changed records. ins are the records existing() did not
// find; upd the ones it found with another hash (or removed).
func (s *Store) storeRecords(ctx context.Context, tx *sqlxTx, t Table, connID, walkID string, now time.Time, ins, upd []Record) error {
	if !s.isPG || len(ins) < copyMinRows {
		return s.upsert(ctx, tx, t, connID, walkID, now, append(ins, upd...))
	}
	// A concurrent writer (another walk's page) may have inserted one of these keys since
	// existing() looked: COPY then fails on the primary key. The savepoint keeps the page's
	// transaction usable and the rows go through the upsert instead.
	if _, err := tx.ExecContext(ctx, `SAVEPOINT copy_page`); err != nil {
		return fmt.Errorf("storing %s records: %w", t.Stream, err)
	}
	if s.beforeCopy != nil {
		s.beforeCopy()
	}
	if err := s.copyRecords(ctx, tx, t, connID, walkID, now, ins); err != nil {
		var pqe *pq.Error
		if !errors.As(err, &pqe) || pqe.Code != "23505" {
			return err
		}
		if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT copy_page`); err != nil {
			return fmt.Errorf("storing %s records: %w", t.Stream, err)
		}
		upd = append(ins, upd...)
	} else if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT copy_page`); err != nil {
		return fmt.Errorf("storing %s records: %w", t.Stream, err)
	}
	return s.upsert(ctx, tx, t, connID, walkID, now, upd)
}

// copyMinRows: below this a single upsert statement costs less than a COPY round trip.
const copyMinRows = 16

// copyRecords streams records into the table with COPY (PostgreSQL only).
func (s *Store) copyRecords(ctx context.Context, tx *sqlxTx, t Table, connID, walkID string, now time.Time, recs []Record) error {
	cols := append(append([]string{}, commonColumns...), t.FlatColumns...)
	stmt, err := tx.PrepareContext(ctx, CopyStatement(t.Name, cols))
	if err != nil {
		return fmt.Errorf("storing %s records: %w", t.Stream, err)
	}
	defer stmt.Close()
	args := make([]any, len(cols))
	for _, r := range recs {
		if len(r.Flat) != len(t.FlatColumns) {
			return fmt.Errorf("%s record %s has %d flat values for %d columns", t.Stream, r.Key, len(r.Flat), len(t.FlatColumns))
		}
		// jsonb columns take their text form; a []byte would be sent as bytea.
		args[0], args[1], args[2], args[3], args[4] = connID, r.Key, r.Hash, nullTime(r.SourceUpdatedAt), now
		args[5], args[6], args[7], args[8], args[9] = now, nil, walkID, jsonText(r.Raw), jsonText(r.OCSF)
		copy(args[len(commonColumns):], r.Flat)
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("storing %d %s records: %w", len(recs), t.Stream, err)
		}
	}
	if _, err := stmt.ExecContext(ctx); err != nil {
		return fmt.Errorf("storing %d %s records: %w", len(recs), t.Stream, err)
	}
	return nil
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

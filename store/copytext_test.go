package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/internal/testenv"
)

// copyCases are rows of (n, text, bigint, bool, float, timestamptz, timestamptz, bytea, jsonb)
// values as the write path passes them, with every character COPY's text format escapes.
func copyCases() [][]any {
	ny, _ := time.LoadLocation("America/New_York")
	ts := time.Date(2026, 11, 30, 23, 59, 59, 123456789, time.UTC)
	tsNY := time.Date(1999, 12, 31, 19, 0, 0, 1000, ny)
	var nilTime *time.Time
	rows := [][]any{
		{int64(1), "plain", int64(0), true, 0.0, ts, &ts, []byte{}, `{}`},
		{int64(2), `C:\Windows\System32\cmd.exe`, int64(-9223372036854775808), false, -1.5e-300, tsNY, &tsNY, []byte{0, 1, 0xfe, '\\', '\n'}, `{"p":"C:\\Windows\\x","q":"say \"hi\"\n"}`},
		{int64(3), "tab\there\nnew line\r\ncrlf\\end\\", int64(9223372036854775807), true, 3.141592653589793, time.Time{}.Add(time.Hour), nilTime, nil, `[1, 2,` + "\n\t" + `3]`},
		{int64(4), "", int64(42), false, 1e21, time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), nilTime, []byte(nil), `"\\\\"`},
		{int64(5), "ünïcødé ✓ \u2028 \\N \\.", nil, nil, nil, nil, nil, nil, nil},
		{int64(6), strings.Repeat(`\"`, 40000) + "\t", int64(7), true, 2.5, ts.Add(-time.Nanosecond), &ts, []byte("x"), `{"a":"` + strings.Repeat(`\\`, 3000) + `"}`},
		{int64(7), "\\", int64(1), true, 1.0, time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), &ts, []byte("\t"), `null`},
	}
	// Enough more to fill several of copyRows' batches, so batch boundaries fall between rows.
	for n := int64(8); n < 400; n++ {
		s := fmt.Sprintf(`row %d \\ of "many"`, n) + strings.Repeat("x", int(n))
		rows = append(rows, []any{n, s, n, n%2 == 0, float64(n) / 7, ts.Add(time.Duration(n) * time.Second), nilTime, []byte(s), fmt.Sprintf(`{"n":%d,"s":%q}`, n, s)})
	}
	return rows
}

// TestCopyRowMatchesDriver: rows written by appendCopyRow through CopyData are stored exactly as
// lib/pq's own COPY encoding (database/sql Exec per row) stores them.
func TestCopyRowMatchesDriver(t *testing.T) {
	t.Parallel()
	s := openAt(t, postgresNonUTC(t))
	ctx := t.Context()
	const cols = `n bigint, s text, i bigint, b boolean, f double precision, t timestamptz, tp timestamptz, by bytea, j jsonb`
	const names = `(n, s, i, b, f, t, tp, by, j)`
	for _, tb := range []string{"copy_driver", "copy_ours"} {
		_, err := s.db.ExecContext(ctx, `CREATE TABLE `+tb+` (`+cols+`)`)
		require.NoError(t, err)
	}
	rows := copyCases()
	require.NoError(t, s.inTx(ctx, func(tx *sqlxTx) error {
		st, err := tx.PrepareContext(ctx, `COPY copy_driver `+names+` FROM STDIN`)
		if err != nil {
			return err
		}
		defer st.Close()
		for _, r := range rows {
			if _, err := st.ExecContext(ctx, r...); err != nil {
				return err
			}
		}
		_, err = st.ExecContext(ctx)
		return err
	}))
	require.NoError(t, s.inConnTx(ctx, func(tx *sqlxTx, conn *sqlx.Conn) error {
		return copyAll(ctx, conn, `COPY copy_ours `+names+` FROM STDIN`, rows)
	}))
	read := func(tb string) []string {
		var out []string
		q := `SELECT concat_ws('|', n, quote_nullable(s), quote_nullable(i), quote_nullable(b), quote_nullable(f::text),
			quote_nullable(t), quote_nullable(tp), quote_nullable(encode(by, 'hex')), quote_nullable(j::text)) FROM ` + tb + ` ORDER BY n`
		require.NoError(t, s.db.SelectContext(ctx, &out, q))
		return out
	}
	driver, ours := read("copy_driver"), read("copy_ours")
	require.Len(t, driver, len(rows))
	assert.Equal(t, driver, ours)
	var same bool
	require.NoError(t, s.db.GetContext(ctx, &same, `SELECT NOT EXISTS (SELECT * FROM copy_driver EXCEPT ALL SELECT * FROM copy_ours)
		AND NOT EXISTS (SELECT * FROM copy_ours EXCEPT ALL SELECT * FROM copy_driver)`))
	assert.True(t, same, "the tables hold the same rows")
}

// TestCopyRowErrors: a value the writer cannot encode is an error naming its type, and a row the
// server rejects fails the COPY with PostgreSQL's error while the connection stays usable.
func TestCopyRowErrors(t *testing.T) {
	t.Parallel()
	_, err := appendCopyRow(nil, []any{"a", []string{"x"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "[]string")

	s := openAt(t, testenv.PostgresURL(t))
	ctx := t.Context()
	_, err = s.db.ExecContext(ctx, `CREATE TABLE copy_err (k text PRIMARY KEY)`)
	require.NoError(t, err)
	err = s.inConnTx(ctx, func(tx *sqlxTx, conn *sqlx.Conn) error {
		return copyAll(ctx, conn, `COPY copy_err (k) FROM STDIN`, [][]any{{"a"}, {"b"}, {"a"}})
	})
	require.Error(t, err)
	var pqe *pq.Error
	require.ErrorAs(t, err, &pqe)
	assert.Equal(t, "23505", string(pqe.Code))
	var n int
	require.NoError(t, s.db.GetContext(ctx, &n, `SELECT count(*) FROM copy_err`))
	assert.Zero(t, n, "the failed COPY's transaction was rolled back")
	require.NoError(t, s.inConnTx(ctx, func(tx *sqlxTx, conn *sqlx.Conn) error {
		return copyAll(ctx, conn, `COPY copy_err (k) FROM STDIN`, [][]any{{"a"}, {"b"}})
	}))
	require.NoError(t, s.db.GetContext(ctx, &n, `SELECT count(*) FROM copy_err`))
	assert.Equal(t, 2, n)

	// A broken connection (driver.ErrBadConn) or a panic while the COPY runs under the
	// transaction fails the transaction (the panic goes on once it is rolled back), not a
	// deadlock in database/sql's Conn.Raw.
	copyFailing := func(fail func() error) error {
		return s.inConnTx(ctx, func(tx *sqlxTx, conn *sqlx.Conn) error {
			return copyLines(ctx, conn, `COPY copy_err (k) FROM STDIN`, func(buf []byte, i int) ([]byte, bool, error) {
				if i == 1 {
					return buf, false, fail()
				}
				return append(buf, "c"...), true, nil
			})
		})
	}
	err = copyFailing(func() error { return fmt.Errorf("writing: %w", driver.ErrBadConn) })
	require.ErrorIs(t, err, driver.ErrBadConn)
	assert.PanicsWithValue(t, "boom", func() { _ = copyFailing(func() error { panic("boom") }) })
	require.NoError(t, s.db.GetContext(ctx, &n, `SELECT count(*) FROM copy_err`))
	assert.Equal(t, 2, n, "the failed transactions were rolled back")
}

// copyAll COPYs rows with the connector's writer.
func copyAll(ctx context.Context, conn *sqlx.Conn, q string, rows [][]any) error {
	return copyLines(ctx, conn, q, func(buf []byte, i int) ([]byte, bool, error) {
		if i == len(rows) {
			return buf, false, nil
		}
		buf, err := appendCopyRow(buf, rows[i])
		return buf, true, err
	})
}

// TestConnTxAfterBackendsKilled: a page's transaction begins on a fresh connection when the
// pooled ones were broken behind the pool's back (PostgreSQL restarted or killed the backends),
// as DB.BeginTx's own retry would: Conn.BeginTx has none.
func TestConnTxAfterBackendsKilled(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	s := openAt(t, url)
	ctx := t.Context()
	conns := make([]*sqlx.Conn, 4)
	for i := range conns {
		c, err := s.db.Connx(ctx)
		require.NoError(t, err)
		require.NoError(t, c.PingContext(ctx))
		conns[i] = c
	}
	for _, c := range conns {
		require.NoError(t, c.Close())
	}
	var name string
	require.NoError(t, s.db.GetContext(ctx, &name, `SELECT current_database()`))
	admin, err := sql.Open("postgres", url)
	require.NoError(t, err)
	defer admin.Close()
	others := `SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`
	var before int
	require.NoError(t, admin.QueryRowContext(ctx, others, name).Scan(&before))
	require.GreaterOrEqual(t, before, len(conns), "the pool holds idle connections")
	_, err = admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, name)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var n int
		return admin.QueryRowContext(ctx, others, name).Scan(&n) == nil && n == 0
	}, 10*time.Second, 10*time.Millisecond, "the backends exit")
	err = s.inConnTx(ctx, func(tx *sqlxTx, conn *sqlx.Conn) error {
		_, err := tx.ExecContext(ctx, `SELECT 1`)
		return err
	})
	require.NoError(t, err)
}

package store

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/internal/testenv"
	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
)

// backend is one database the store supports; every test runs against each of them.
type backend struct {
	name string
	url  func(t *testing.T) string // a fresh, empty database for the test
}

var backends = []backend{
	{"postgres", postgresNonUTC},
	{"sqlite", func(t *testing.T) string { return "sqlite://" + filepath.Join(t.TempDir(), "x.db") }},
}

// postgresNonUTC is a fresh PostgreSQL database whose sessions use a non-UTC time zone (as on a
// server in local time), so every timestamp must round-trip by instant and come back in UTC.
func postgresNonUTC(t *testing.T) string {
	t.Helper()
	url := testenv.PostgresURL(t)
	db, err := sql.Open("postgres", url)
	require.NoError(t, err)
	defer db.Close()
	var name string
	require.NoError(t, db.QueryRowContext(t.Context(), `SELECT current_database()`).Scan(&name))
	_, err = db.ExecContext(t.Context(), `ALTER DATABASE `+name+` SET timezone TO 'America/New_York'`)
	require.NoError(t, err)
	return url
}

// forEachBackend runs fn as a parallel subtest per backend, each with its own fresh database.
func forEachBackend(t *testing.T, fn func(t *testing.T, url string)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			fn(t, b.url(t))
		})
	}
}

// openAt opens (and migrates) the store at url, closing it when the test ends.
func openAt(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url)
	require.NoError(t, err, "Open(%s)", url)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// clock is a settable time source for Store.now, so timestamps are exact.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

var t0 = time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

// openClocked opens the store at url with a fake clock starting at t0.
func openClocked(t *testing.T, url string) (*Store, *clock) {
	t.Helper()
	s := openAt(t, url)
	c := &clock{t: t0}
	s.now = c.now
	return s, c
}

func agentsTable(t *testing.T) Table {
	t.Helper()
	tb, ok := TableFor(model.StreamAgents)
	require.True(t, ok, "the agents table is registered")
	return tb
}

// mustCreateConn stores a minimal connection.
func mustCreateConn(t *testing.T, s *Store, id string) *Connection {
	t.Helper()
	c := &Connection{ID: id, Name: "conn " + id, ConsoleURL: "https://usea1.sentinelone.net",
		Settings:    model.ConnectionSettings{Streams: []string{model.StreamAgents}, Schedule: "1h"},
		TokenSealed: "sealed-" + id, TokenFingerprint: "fp-" + id}
	require.NoError(t, s.CreateConnection(t.Context(), c))
	return c
}

// agentKey is an S1-like numeric agent ID; fixed width so key order is numeric order.
func agentKey(i int) string { return fmt.Sprintf("18%017d", i) }

// hostAsset builds a realistic flat row for agent i; every field is set (nil times only when
// withNulls and i%7 == 0, to round-trip NULLs too).
func hostAsset(i int, withNulls bool) ocsf.HostAsset {
	ts := func(d time.Duration) *time.Time {
		v := t0.Add(-d).Add(time.Duration(i) * time.Millisecond)
		return &v
	}
	h := ocsf.HostAsset{
		AgentID:          agentKey(i),
		UUID:             fmt.Sprintf("%08x-4c1e-4f3a-9d2b-%012x", i, i*7919),
		Hostname:         fmt.Sprintf("WS-FIN-%04d", i),
		Processor:        "Intel(R) Core(TM) i7-10610U CPU @ 1.80GHz",
		LastBoot:         ts(36 * time.Hour),
		SerialNumber:     fmt.Sprintf("PF2%05dX", i),
		CPUCount:         1,
		CoreCount:        int64(4 + i%4*2),
		IPAddresses:      fmt.Sprintf("10.20.%d.%d,fe80::1c2b:%x", i/250, i%250+1, i),
		ExternalIP:       fmt.Sprintf("203.0.113.%d", i%250+1),
		Model:            "ThinkPad T14 Gen 1",
		Manufacturer:     "LENOVO",
		Gateway:          fmt.Sprintf("10.20.%d.254", i/250),
		InterfaceName:    "Ethernet,Wi-Fi",
		MACAddress:       fmt.Sprintf("00:1a:2b:%02x:%02x:%02x", i>>16&0xff, i>>8&0xff, i&0xff),
		OSArch:           "64 bit",
		OSName:           "Windows 11 Enterprise",
		OSVersion:        "22631",
		OSType:           "windows",
		TotalMemoryMB:    16384,
		Domain:           "corp.example.com",
		AgentVersion:     "23.4.2.14",
		AgentStatus:      []string{"active", "inactive", "decommissioned", "uninstalled"}[i%4],
		NetworkStatus:    "connected",
		MachineType:      "laptop",
		LastActive:       ts(5 * time.Minute),
		LastLoggedInUser: fmt.Sprintf("CORP\\user%d", i),
		SiteID:           "1100000000000000001",
		SiteName:         "Default site",
		GroupID:          "1200000000000000002",
		GroupName:        "Finance – Laptops", // non-ASCII on purpose
		AccountID:        "1000000000000000000",
		AccountName:      "Example Corp",
		Tags:             fmt.Sprintf(`[{"key":"env","value":"prod"},{"key":"idx","value":"%d"}]`, i),
		IsActive:         i%2 == 0,
		Infected:         i%5 == 0,
		ActiveThreats:    int64(i % 3),
		IsDecommissioned: i%4 == 2,
		IsUninstalled:    i%4 == 3,
		RegisteredAt:     ts(400 * 24 * time.Hour),
		CreatedAt:        ts(400 * 24 * time.Hour),
		UpdatedAt:        ts(time.Hour),
	}
	if withNulls && i%7 == 0 {
		h.LastBoot, h.RegisteredAt = nil, nil
	}
	return h
}

// mkRecord builds record i in version v: its hash, source time and content depend on v.
func mkRecord(i, v int) Record {
	h := hostAsset(i, true)
	upd := t0.Add(time.Duration(i)*time.Second + time.Duration(v)*time.Hour)
	h.UpdatedAt = &upd
	raw := fmt.Sprintf(`{"id": "%s", "computerName": "%s", "updatedAt": "%s", "agentVersion": "23.4.2.14", "v": %d, "tags": {"sentinelone": [{"key": "env", "value": "prod"}]}}`,
		h.AgentID, h.Hostname, upd.Format(time.RFC3339Nano), v)
	ev := fmt.Sprintf(`{"class_uid": 5001, "activity_id": 2, "time": %d, "device": {"uid": "%s", "hostname": "%s", "type_id": 3}, "metadata": {"version": "1.5.0"}}`,
		upd.UnixMilli(), h.AgentID, h.Hostname)
	return Record{Key: h.AgentID, Hash: fmt.Sprintf("sha256-%d-v%d", i, v), SourceUpdatedAt: upd,
		Raw: []byte(raw), OCSF: []byte(ev), Flat: h.Values()}
}

func mkRecords(from, to, v int) []Record {
	out := make([]Record, 0, to-from)
	for i := from; i < to; i++ {
		out = append(out, mkRecord(i, v))
	}
	return out
}

// pg is a page of the agents stream of connection conn in walk walkID.
func pg(t *testing.T, conn, walkID string, full bool, next string, recs ...Record) *Page {
	return &Page{ConnectionID: conn, Table: agentsTable(t), WalkID: walkID, Full: full, NextCursor: next,
		TotalItems: int64(len(recs)), Fetched: int64(len(recs)), Records: recs}
}

// stored reads a connection's agents rows by key.
func stored(t *testing.T, s *Store, conn string) map[string]*StoredRecord {
	t.Helper()
	out := map[string]*StoredRecord{}
	require.NoError(t, s.EachRecord(t.Context(), conn, model.StreamAgents, func(r *StoredRecord) error {
		out[r.Key] = r
		return nil
	}))
	return out
}

// streamState returns the agents checkpoint of conn (zero state when none).
func streamState(t *testing.T, s *Store, conn string) *StreamState {
	t.Helper()
	sts, err := s.StreamStates(t.Context(), conn)
	require.NoError(t, err)
	for _, st := range sts {
		if st.Stream == model.StreamAgents {
			return st
		}
	}
	return &StreamState{ConnectionID: conn, Stream: model.StreamAgents}
}

func counts(t *testing.T, s *Store, conn string) StreamCount {
	t.Helper()
	cs, err := s.CountRecords(t.Context(), conn)
	require.NoError(t, err)
	for _, c := range cs {
		if c.Stream == model.StreamAgents {
			return c
		}
	}
	t.Fatalf("CountRecords has no agents entry: %+v", cs)
	return StreamCount{}
}

// assertJSONEq compares JSON semantically (PostgreSQL's jsonb normalises whitespace and key order).
func assertJSONEq(t *testing.T, want, got []byte, msgAndArgs ...any) {
	t.Helper()
	assert.JSONEq(t, string(want), string(got), msgAndArgs...)
}

// ---- migrations ----

func TestMigrationsApplyAndAreIdempotent(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s := openAt(t, url)
		wantTables := append([]string{"connections", "stream_state", "sync_runs"}, RecordTables()...)
		for _, tb := range wantTables {
			var n int
			require.NoError(t, s.DB().GetContext(t.Context(), &n, `SELECT COUNT(*) FROM `+tb), "table %s exists", tb)
		}
		mustCreateConn(t, s, "keep")
		require.NoError(t, s.Close())

		// Opening again applies nothing and keeps the data.
		s2 := openAt(t, url)
		var versions []int64
		require.NoError(t, s2.DB().SelectContext(t.Context(), &versions, `SELECT version_id FROM goose_db_version WHERE version_id > 0 ORDER BY id`))
		assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7}, versions, "each migration applied exactly once")
		c, err := s2.GetConnection(t.Context(), "keep")
		require.NoError(t, err)
		assert.Equal(t, "conn keep", c.Name)
		// And a third time while the second store is still open.
		openAt(t, url)
	})
}

func TestConcurrentOpenPostgres(t *testing.T) {
	t.Parallel()
	// Several rounds on fresh databases: without the advisory lock, concurrent goose runs race on
	// CREATE TABLE (pg_type_typname_nsp_index) often but not every time.
	for round := range 3 {
		url := testenv.PostgresURL(t)
		const n = 8
		stores := make([]*Store, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = Open(t.Context(), url)
			})
		}
		close(start)
		wg.Wait()
		for i := range n {
			if stores[i] != nil {
				t.Cleanup(func() { _ = stores[i].Close() })
			}
		}
		for i := range n {
			require.NoError(t, errs[i], "round %d: concurrent Open %d", round, i)
		}
		var versions []int64
		require.NoError(t, stores[0].DB().SelectContext(t.Context(), &versions, `SELECT version_id FROM goose_db_version WHERE version_id > 0`))
		assert.Equal(t, []int64{1, 2, 3, 4, 5, 6, 7}, versions)
		// No store may keep the migration lock once Open returned (it would block every later Open).
		var held int
		require.NoError(t, stores[0].DB().GetContext(t.Context(), &held, heldLockQuery))
		assert.Zero(t, held, "the migration advisory lock is still held after Open")
		// Every store works.
		for i, s := range stores {
			mustCreateConn(t, s, fmt.Sprintf("c%d", i))
		}
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	t.Parallel()
	_, err := Open(t.Context(), "mysql://x")
	require.Error(t, err)
	_, err = Open(t.Context(), "sqlite://")
	require.Error(t, err)
}

// ---- schema drift ----

// tableColumns returns a table's column names and declared types, as the database reports them.
func tableColumns(t *testing.T, s *Store, table string) map[string]string {
	t.Helper()
	type col struct {
		Name string `db:"name"`
		Type string `db:"type"`
	}
	var cols []col
	if s.IsPostgres() {
		require.NoError(t, s.DB().SelectContext(t.Context(), &cols, `SELECT column_name AS name, data_type AS type
			FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, table))
	} else {
		require.NoError(t, s.DB().SelectContext(t.Context(), &cols, `SELECT name, type FROM pragma_table_info('`+table+`') ORDER BY cid`))
	}
	out := make(map[string]string, len(cols))
	for _, c := range cols {
		_, dup := out[c.Name]
		require.False(t, dup, "column %s.%s listed twice", table, c.Name)
		out[c.Name] = strings.ToLower(c.Type)
	}
	require.NotEmpty(t, out, "table %s has no columns (does it exist?)", table)
	return out
}

func TestRecordTablesMatchRegisteredColumns(t *testing.T) {
	t.Parallel()
	// The agents table's flat columns are the HostAsset row's, in Values() order.
	require.Equal(t, ocsf.HostAssetColumns(), agentsTable(t).FlatColumns)
	h := hostAsset(1, false)
	require.Len(t, h.Values(), len(ocsf.HostAssetColumns()), "HostAsset.Values() and HostAssetColumns() disagree")

	forEachBackend(t, func(t *testing.T, url string) {
		s := openAt(t, url)
		for _, name := range RecordTables() {
			var tb Table
			for _, x := range tables {
				if x.Name == name {
					tb = x
				}
			}
			got := tableColumns(t, s, name)
			want := append(append([]string{}, commonColumns...), tb.FlatColumns...)
			gotNames := make([]string, 0, len(got))
			for c := range got {
				gotNames = append(gotNames, c)
			}
			assert.ElementsMatch(t, want, gotNames, "table %s: migration columns differ from commonColumns + FlatColumns", name)
		}

		// Each flat column's SQL type fits the Go type HostAsset writes into it.
		got := tableColumns(t, s, "agents")
		pgTypes := map[reflect.Type]string{reflect.TypeFor[string](): "text", reflect.TypeFor[int64](): "bigint",
			reflect.TypeFor[bool](): "boolean", reflect.TypeFor[*time.Time](): "timestamp with time zone"}
		liteTypes := map[reflect.Type]string{reflect.TypeFor[string](): "text", reflect.TypeFor[int64](): "bigint",
			reflect.TypeFor[bool](): "boolean", reflect.TypeFor[*time.Time](): "timestamp"}
		rt := reflect.TypeFor[ocsf.HostAsset]()
		for i := range rt.NumField() {
			f := rt.Field(i)
			col := f.Tag.Get("db")
			if col == "" || col == "-" {
				continue
			}
			want, ok := liteTypes[f.Type]
			if s.IsPostgres() {
				want, ok = pgTypes[f.Type]
			}
			if assert.True(t, ok, "HostAsset.%s has type %s, which the store has no column type for", f.Name, f.Type) {
				assert.Equal(t, want, got[col], "agents.%s type (HostAsset.%s is %s)", col, f.Name, f.Type)
			}
		}
	})
}

// ---- runs ----

func TestRuns(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c1")

		runs, err := s.LastRuns(ctx, "c1", 5)
		require.NoError(t, err)
		assert.Empty(t, runs)

		in1 := model.StartRunInput{ConnectionID: "c1", Seq: 1, WorkflowID: "sync:c1:1", Mode: model.ModeFull, Streams: []string{"agents", "alerts"}}
		require.NoError(t, s.StartRun(ctx, in1))
		// A retried StartRun changes nothing.
		clk.advance(time.Minute)
		require.NoError(t, s.StartRun(ctx, model.StartRunInput{ConnectionID: "c1", Seq: 1, WorkflowID: "other", Mode: model.ModeDelta}))
		require.NoError(t, s.StartRun(ctx, model.StartRunInput{ConnectionID: "c1", Seq: 2, WorkflowID: "sync:c1:2", Mode: model.ModeDelta, Streams: []string{"agents"}}))
		// The same seq of another connection is another run.
		require.NoError(t, s.StartRun(ctx, model.StartRunInput{ConnectionID: "c2", Seq: 1, WorkflowID: "sync:c2:1", Mode: model.ModeFull}))

		var r1 struct {
			WorkflowID string    `db:"workflow_id"`
			Mode       string    `db:"mode"`
			Streams    string    `db:"streams"`
			Status     string    `db:"status"`
			StartedAt  time.Time `db:"started_at"`
		}
		require.NoError(t, s.DB().GetContext(ctx, &r1, s.DB().Rebind(`SELECT workflow_id, mode, streams, status, started_at FROM sync_runs WHERE connection_id = ? AND seq = 1`), "c1"))
		assert.Equal(t, "sync:c1:1", r1.WorkflowID)
		assert.Equal(t, model.ModeFull, r1.Mode)
		assert.Equal(t, "agents,alerts", r1.Streams)
		assert.Equal(t, "running", r1.Status)
		assert.True(t, r1.StartedAt.Equal(t0), "started_at %v", r1.StartedAt)

		runs, err = s.LastRuns(ctx, "c1", 5)
		require.NoError(t, err)
		assert.Empty(t, runs, "running syncs have no summary yet")

		sum1 := model.RunSummary{Seq: 1, WorkflowID: "sync:c1:1", StartedAt: t0, FinishedAt: t0.Add(90 * time.Second),
			Status: model.RunPartial, Mode: model.ModeFull,
			Streams: []model.StreamResult{{Stream: "agents", Mode: model.ModeFull, Pages: 3, Fetched: 2500, Inserted: 2500,
				Watermark: t0.Add(-time.Hour), Duration: 80 * time.Second},
				{Stream: "alerts", Error: &model.ErrorInfo{At: t0, Stream: "alerts", Type: "Transient", Message: "502"}}},
			RequestIDs: []string{"req-1"}}
		sum2 := model.RunSummary{Seq: 2, WorkflowID: "sync:c1:2", StartedAt: t0.Add(time.Hour), FinishedAt: t0.Add(time.Hour + time.Second),
			Status: model.RunFailed, Mode: model.ModeDelta,
			Error: &model.ErrorInfo{At: t0.Add(time.Hour), Type: "Auth", Message: "401", Remediation: "rotate the token"}}
		require.NoError(t, s.FinishRun(ctx, "c1", sum2))
		require.NoError(t, s.FinishRun(ctx, "c1", sum1))
		// Finishing a run that never started is not an error (and stores nothing).
		require.NoError(t, s.FinishRun(ctx, "c1", model.RunSummary{Seq: 99, Status: model.RunSuccess}))

		runs, err = s.LastRuns(ctx, "c1", 5)
		require.NoError(t, err)
		assert.Equal(t, []model.RunSummary{sum2, sum1}, runs, "newest first")
		runs, err = s.LastRuns(ctx, "c1", 1)
		require.NoError(t, err)
		assert.Equal(t, []model.RunSummary{sum2}, runs)
		runs, err = s.LastRuns(ctx, "c2", 5)
		require.NoError(t, err)
		assert.Empty(t, runs)

		var status string
		var finished time.Time
		require.NoError(t, s.DB().QueryRowxContext(ctx, s.DB().Rebind(`SELECT status, finished_at FROM sync_runs WHERE connection_id = ? AND seq = 1`), "c1").Scan(&status, &finished))
		assert.Equal(t, model.RunPartial, status)
		assert.True(t, finished.Equal(t0.Add(time.Minute)), "finished_at %v", finished)
	})
}

// ---- helpers' own sanity ----

func TestMkRecordIsValidJSON(t *testing.T) {
	r := mkRecord(3, 1)
	assert.True(t, json.Valid(r.Raw), "%s", r.Raw)
	assert.True(t, json.Valid(r.OCSF), "%s", r.OCSF)
}

// heldLockQuery counts the migration advisory locks held in the current database (pg_locks spans the cluster).
const heldLockQuery = `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 7413001 AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`

// The migration lock must be released even when the pool holds several idle connections
// (a session lock taken on one pooled connection and "released" on another stays held).
func TestMigrateReleasesLockWithBusyPool(t *testing.T) {
	t.Parallel()
	url := testenv.PostgresURL(t)
	s := openAt(t, url)
	for range 3 {
		// Fill the pool with idle connections, in varying order.
		conns := make([]*sql.Conn, 5)
		for i := range conns {
			c, err := s.DB().Conn(t.Context())
			require.NoError(t, err)
			conns[i] = c
		}
		for _, c := range conns {
			require.NoError(t, c.Close())
		}
		require.NoError(t, s.migrate(t.Context()))
		var held int
		require.NoError(t, s.DB().GetContext(t.Context(), &held,
			heldLockQuery))
		require.Zero(t, held, "the migration advisory lock is still held after migrate")
	}
}

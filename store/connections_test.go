package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
)

func TestConnectionsCRUD(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()

		settings := model.ConnectionSettings{Streams: []string{"agents"}, AccountIDs: []string{"1000"}, SiteIDs: []string{"11", "12"},
			Filters: map[string]map[string]string{"agents": {"osTypes": "windows,linux"}}, Lookback: 72 * time.Hour,
			Schedule: "0 */2 * * *", Timezone: "Europe/Paris", StartAt: t0.Add(time.Hour), CAPEM: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
			Overlap: 10 * time.Minute, ReconcileEvery: 12 * time.Hour}
		expires := t0.Add(30 * 24 * time.Hour)
		c := &Connection{ID: "prod", Name: "Production", Description: "EU tenant", ConsoleURL: "https://euce1.sentinelone.net",
			Settings: settings, TokenSealed: "v1:sealed", TokenFingerprint: "fp1", TokenExpiresAt: expires}
		require.NoError(t, s.CreateConnection(ctx, c))
		assert.Equal(t, model.StateRegistered, c.State, "a new connection defaults to Registered")
		assert.True(t, c.CreatedAt.Equal(t0))

		err := s.CreateConnection(ctx, &Connection{ID: "prod", ConsoleURL: "https://x", TokenSealed: "s", TokenFingerprint: "f"})
		require.ErrorIs(t, err, ErrExists)

		got, err := s.GetConnection(ctx, "prod")
		require.NoError(t, err)
		assert.Equal(t, "prod", got.ID)
		assert.Equal(t, "Production", got.Name)
		assert.Equal(t, "EU tenant", got.Description)
		assert.Equal(t, "https://euce1.sentinelone.net", got.ConsoleURL)
		assert.Equal(t, settings, got.Settings)
		assert.Equal(t, "v1:sealed", got.TokenSealed)
		assert.Equal(t, "fp1", got.TokenFingerprint)
		assert.Empty(t, got.PendingSealed)
		assert.Empty(t, got.PendingFingerprint)
		assert.True(t, got.TokenExpiresAt.Equal(expires), "token expiry %v", got.TokenExpiresAt)
		assert.Equal(t, model.StateRegistered, got.State)
		assert.Nil(t, got.LastError)
		assert.True(t, got.CreatedAt.Equal(t0) && got.UpdatedAt.Equal(t0), "created %v updated %v", got.CreatedAt, got.UpdatedAt)
		assert.True(t, got.DeletedAt.IsZero())
		assert.Equal(t, time.UTC, got.CreatedAt.Location())

		_, err = s.GetConnection(ctx, "nope")
		require.ErrorIs(t, err, ErrNotFound)

		mustCreateConn(t, s, "b")
		mustCreateConn(t, s, "a")
		list, err := s.ListConnections(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b", "prod"}, connIDs(list))

		// UpdateSettings.
		t1 := clk.advance(time.Minute)
		newSettings := model.ConnectionSettings{Streams: []string{"agents"}, Schedule: "15m"}
		require.NoError(t, s.UpdateSettings(ctx, "prod", newSettings))
		got, err = s.GetConnection(ctx, "prod")
		require.NoError(t, err)
		assert.Equal(t, newSettings, got.Settings)
		assert.True(t, got.UpdatedAt.Equal(t1))
		assert.True(t, got.CreatedAt.Equal(t0))
		require.ErrorIs(t, s.UpdateSettings(ctx, "nope", newSettings), ErrNotFound)

		// SetState with an error and a new token expiry.
		t2 := clk.advance(time.Minute)
		le := &model.ErrorInfo{At: t2, Stream: "agents", Type: "Auth", Message: "401 Unauthorized", Remediation: "rotate the token"}
		exp2 := t0.Add(60 * 24 * time.Hour)
		require.NoError(t, s.SetState(ctx, "prod", model.StateAuthFailed, le, exp2))
		got, err = s.GetConnection(ctx, "prod")
		require.NoError(t, err)
		assert.Equal(t, model.StateAuthFailed, got.State)
		assert.Equal(t, le, got.LastError)
		assert.True(t, got.TokenExpiresAt.Equal(exp2))
		assert.True(t, got.UpdatedAt.Equal(t2))
		assert.True(t, got.DeletedAt.IsZero())

		// No error clears it; a zero expiry keeps the stored one.
		require.NoError(t, s.SetState(ctx, "prod", model.StateScheduled, nil, time.Time{}))
		got, err = s.GetConnection(ctx, "prod")
		require.NoError(t, err)
		assert.Equal(t, model.StateScheduled, got.State)
		assert.Nil(t, got.LastError)
		assert.True(t, got.TokenExpiresAt.Equal(exp2))
		require.ErrorIs(t, s.SetState(ctx, "nope", model.StateScheduled, nil, time.Time{}), ErrNotFound)

		// Deleted sets deleted_at and hides the connection from List (Get still reads it).
		t3 := clk.advance(time.Minute)
		require.NoError(t, s.SetState(ctx, "b", model.StateDeleted, nil, time.Time{}))
		got, err = s.GetConnection(ctx, "b")
		require.NoError(t, err)
		assert.Equal(t, model.StateDeleted, got.State)
		assert.True(t, got.DeletedAt.Equal(t3), "deleted_at %v", got.DeletedAt)
		list, err = s.ListConnections(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "prod"}, connIDs(list))

		// A deleted connection's ID can be reused.
		c2 := &Connection{ID: "b", Name: "b again", ConsoleURL: "https://y", TokenSealed: "s2", TokenFingerprint: "f2"}
		require.NoError(t, s.CreateConnection(ctx, c2))
		got, err = s.GetConnection(ctx, "b")
		require.NoError(t, err)
		assert.Equal(t, "b again", got.Name)
		assert.Equal(t, model.StateRegistered, got.State)
		assert.True(t, got.DeletedAt.IsZero())
		list, err = s.ListConnections(ctx)
		require.NoError(t, err)
		assert.Equal(t, []string{"a", "b", "prod"}, connIDs(list))
	})
}

func connIDs(cs []*Connection) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func TestPendingToken(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")

		require.ErrorIs(t, s.SetPendingToken(ctx, "nope", "x", "y"), ErrNotFound)
		// Nothing pending: promoting fails.
		require.Error(t, s.PromotePendingToken(ctx, "c", "fp2", time.Time{}))

		require.NoError(t, s.SetPendingToken(ctx, "c", "sealed-2", "fp2"))
		got, err := s.GetConnection(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, "sealed-2", got.PendingSealed)
		assert.Equal(t, "fp2", got.PendingFingerprint)
		assert.Equal(t, "sealed-c", got.TokenSealed, "the active token is untouched until promoted")
		assert.Equal(t, "fp-c", got.TokenFingerprint)

		// A fingerprint that is not the pending one is refused and changes nothing.
		err = s.PromotePendingToken(ctx, "c", "fp-other", t0)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no pending token")
		got, err = s.GetConnection(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, "sealed-2", got.PendingSealed)
		assert.Equal(t, "sealed-c", got.TokenSealed)

		exp := clk.advance(time.Hour).Add(90 * 24 * time.Hour)
		require.NoError(t, s.PromotePendingToken(ctx, "c", "fp2", exp))
		got, err = s.GetConnection(ctx, "c")
		require.NoError(t, err)
		assert.Equal(t, "sealed-2", got.TokenSealed)
		assert.Equal(t, "fp2", got.TokenFingerprint)
		assert.Empty(t, got.PendingSealed)
		assert.Empty(t, got.PendingFingerprint)
		assert.True(t, got.TokenExpiresAt.Equal(exp))

		// A retried promotion is a success; another fingerprint is still refused.
		require.NoError(t, s.PromotePendingToken(ctx, "c", "fp2", exp))
		require.Error(t, s.PromotePendingToken(ctx, "c", "fp3", exp))
		require.ErrorIs(t, s.PromotePendingToken(ctx, "nope", "fp2", exp), ErrNotFound)
	})
}

func TestPurgeConnection(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, _ := openClocked(t, url)
		ctx := t.Context()
		for _, id := range []string{"gone", "kept"} {
			mustCreateConn(t, s, id)
			_, _, err := s.BeginWalk(ctx, id, model.StreamAgents, "w-"+id, model.ModeFull, "")
			require.NoError(t, err)
			_, err = s.CommitPage(ctx, pg(t, id, "w-"+id, true, "", mkRecords(0, 5, 1)...))
			require.NoError(t, err)
			require.NoError(t, s.StartRun(ctx, model.StartRunInput{ConnectionID: id, Seq: 1, WorkflowID: "wf", Mode: model.ModeFull}))
			require.NoError(t, s.FinishRun(ctx, id, model.RunSummary{Seq: 1, Status: model.RunSuccess}))
		}

		require.NoError(t, s.PurgeConnection(ctx, "gone"))
		_, err := s.GetConnection(ctx, "gone")
		require.ErrorIs(t, err, ErrNotFound)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents}, counts(t, s, "gone"))
		sts, err := s.StreamStates(ctx, "gone")
		require.NoError(t, err)
		assert.Empty(t, sts)
		runs, err := s.LastRuns(ctx, "gone", 10)
		require.NoError(t, err)
		assert.Empty(t, runs)
		var n int
		require.NoError(t, s.DB().GetContext(ctx, &n, s.DB().Rebind(`SELECT COUNT(*) FROM sync_runs WHERE connection_id = ?`), "gone"))
		assert.Zero(t, n)

		// The other connection is untouched.
		_, err = s.GetConnection(ctx, "kept")
		require.NoError(t, err)
		assert.Equal(t, StreamCount{Stream: model.StreamAgents, Total: 5, Active: 5}, counts(t, s, "kept"))
		sts, err = s.StreamStates(ctx, "kept")
		require.NoError(t, err)
		assert.Len(t, sts, 1)
		runs, err = s.LastRuns(ctx, "kept", 10)
		require.NoError(t, err)
		assert.Len(t, runs, 1)

		// Purging what does not exist is a no-op.
		require.NoError(t, s.PurgeConnection(ctx, "gone"))
	})
}

// Reusing a deleted connection's ID must not hand the new connection the old one's checkpoint
// (an unfinished walk with the same deterministic walk ID would be resumed, with the old console's
// cursor) nor its run history (same seq numbers).
func TestReusedIDStartsFromScratch(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, url string) {
		s, clk := openClocked(t, url)
		ctx := t.Context()
		mustCreateConn(t, s, "c")
		// Sync 1 finished a walk, sync 2 was deleted mid-walk.
		_, _, err := s.BeginWalk(ctx, "c", model.StreamAgents, "c:1:agents", model.ModeFull, "")
		require.NoError(t, err)
		_, err = s.CommitPage(ctx, pg(t, "c", "c:1:agents", true, "", mkRecords(0, 3, 1)...))
		require.NoError(t, err)
		require.NoError(t, s.StartRun(ctx, model.StartRunInput{ConnectionID: "c", Seq: 1, WorkflowID: "old-1", Mode: model.ModeFull}))
		require.NoError(t, s.FinishRun(ctx, "c", model.RunSummary{Seq: 1, WorkflowID: "old-1", Status: model.RunSuccess}))
		_, _, err = s.BeginWalk(ctx, "c", model.StreamAgents, "c:2:agents", model.ModeDelta, "old=params")
		require.NoError(t, err)
		_, err = s.CommitPage(ctx, pg(t, "c", "c:2:agents", false, "old-cursor", mkRecord(3, 1)))
		require.NoError(t, err)
		require.NoError(t, s.SetState(ctx, "c", model.StateDeleted, nil, time.Time{}))

		clk.advance(time.Hour)
		mustCreateConn(t, s, "c")
		sts, err := s.StreamStates(ctx, "c")
		require.NoError(t, err)
		assert.Empty(t, sts, "the new connection has no checkpoint")
		runs, err := s.LastRuns(ctx, "c", 10)
		require.NoError(t, err)
		assert.Empty(t, runs, "the new connection has no runs")
		st, resumed, err := s.BeginWalk(ctx, "c", model.StreamAgents, "c:2:agents", model.ModeFull, "new=params")
		require.NoError(t, err)
		assert.False(t, resumed, "the old connection's walk must not be resumed")
		assert.Empty(t, st.WalkCursor)
		assert.True(t, st.Watermark.IsZero())
		// Kept records are still there, until the new connection's full walk reconciles them.
		assert.Equal(t, int64(4), counts(t, s, "c").Total)
		pc, err := s.CommitPage(ctx, pg(t, "c", "c:2:agents", true, "", mkRecord(0, 1)))
		require.NoError(t, err)
		assert.Equal(t, int64(3), pc.Removed)
	})
}

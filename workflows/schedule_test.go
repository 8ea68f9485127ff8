package workflows_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/workflows"
)

func paris(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Paris")
	require.NoError(t, err)
	return loc
}

// nextRuns follows NextRun n times from last, as the workflow does (each run's instant becomes last).
func nextRuns(t *testing.T, spec model.ScheduleSpec, last time.Time, n int) []time.Time {
	t.Helper()
	var out []time.Time
	for range n {
		next, err := workflows.NextRun(spec, last, last)
		require.NoError(t, err)
		out = append(out, next.UTC())
		last = next
	}
	return out
}

func utc(s string) time.Time {
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return v.UTC()
}

func TestNextRunCronInTimezone(t *testing.T) {
	spec := model.ScheduleSpec{Schedule: "0 2 * * *", Timezone: "Europe/Paris"}
	// Winter: 02:00 Paris is 01:00 UTC.
	assert.Equal(t, []time.Time{utc("2026-01-11T01:00:00Z"), utc("2026-01-12T01:00:00Z")},
		nextRuns(t, spec, utc("2026-01-10T12:00:00Z"), 2))
	// Summer: 02:00 Paris is 00:00 UTC.
	assert.Equal(t, []time.Time{utc("2026-07-11T00:00:00Z")}, nextRuns(t, spec, utc("2026-07-10T12:00:00Z"), 1))
	// Same schedule in New York (UTC-5 in winter).
	ny := model.ScheduleSpec{Schedule: "0 2 * * *", Timezone: "America/New_York"}
	assert.Equal(t, []time.Time{utc("2026-01-11T07:00:00Z")}, nextRuns(t, ny, utc("2026-01-10T12:00:00Z"), 1))
	// @daily is midnight in the schedule's timezone.
	daily := model.ScheduleSpec{Schedule: "@daily", Timezone: "Asia/Tokyo"}
	assert.Equal(t, []time.Time{utc("2026-01-10T15:00:00Z")}, nextRuns(t, daily, utc("2026-01-10T12:00:00Z"), 1))
}

func TestNextRunCronAcrossDSTSpringForward(t *testing.T) {
	// 2026-03-29 02:00 Paris does not exist (clocks jump 02:00 CET -> 03:00 CEST). The day's run
	// fires at the change (01:00 UTC = 03:00 CEST) rather than being skipped, as cron(8) does.
	spec := model.ScheduleSpec{Schedule: "0 2 * * *", Timezone: "Europe/Paris"}
	got := nextRuns(t, spec, utc("2026-03-27T10:00:00Z"), 4)
	assert.Equal(t, []time.Time{
		utc("2026-03-28T01:00:00Z"), // 02:00 CET
		utc("2026-03-29T01:00:00Z"), // 03:00 CEST, the change
		utc("2026-03-30T00:00:00Z"), // 02:00 CEST
		utc("2026-03-31T00:00:00Z"),
	}, got)
	// A time unaffected by the change just moves by an hour in UTC.
	morning := model.ScheduleSpec{Schedule: "30 9 * * *", Timezone: "Europe/Paris"}
	assert.Equal(t, []time.Time{utc("2026-03-28T08:30:00Z"), utc("2026-03-29T07:30:00Z")},
		nextRuns(t, morning, utc("2026-03-27T10:00:00Z"), 2))
}

func TestNextRunCronAcrossDSTFallBack(t *testing.T) {
	// 2026-10-25 02:00-02:59 Paris happens twice (03:00 CEST -> 02:00 CET): one run, at the first.
	spec := model.ScheduleSpec{Schedule: "30 2 * * *", Timezone: "Europe/Paris"}
	got := nextRuns(t, spec, utc("2026-10-24T10:00:00Z"), 2)
	assert.Equal(t, []time.Time{utc("2026-10-25T00:30:00Z"), utc("2026-10-26T01:30:00Z")}, got)
	for _, r := range got {
		assert.Equal(t, "02:30", r.In(paris(t)).Format("15:04"))
	}
	// Hourly schedules follow the real clock: no hour lost or doubled.
	hourly := model.ScheduleSpec{Schedule: "0 * * * *", Timezone: "Europe/Paris"}
	got = nextRuns(t, hourly, utc("2026-10-24T23:30:00Z"), 3)
	assert.Equal(t, []time.Time{utc("2026-10-25T00:00:00Z"), utc("2026-10-25T01:00:00Z"), utc("2026-10-25T02:00:00Z")}, got)
	got = nextRuns(t, hourly, utc("2026-03-28T23:30:00Z"), 3)
	assert.Equal(t, []time.Time{utc("2026-03-29T00:00:00Z"), utc("2026-03-29T01:00:00Z"), utc("2026-03-29T02:00:00Z")}, got)
}

func TestNextRunIntervalAndWindow(t *testing.T) {
	spec := model.ScheduleSpec{Schedule: "1h"}
	now := utc("2026-01-10T12:00:00Z")
	next, err := workflows.NextRun(spec, time.Time{}, now)
	require.NoError(t, err)
	assert.Equal(t, now, next, "the first run is immediate")
	// Last slot 1h, now 4h30m: the next slot (2h) is already due -- one run, not three.
	next, err = workflows.NextRun(spec, now.Add(time.Hour), now.Add(4*time.Hour+30*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, now.Add(2*time.Hour), next)

	spec.StartAt = now.Add(6 * time.Hour)
	next, err = workflows.NextRun(spec, time.Time{}, now)
	require.NoError(t, err)
	assert.Equal(t, spec.StartAt, next, "StartAt delays the first run")

	spec = model.ScheduleSpec{Schedule: "0 2 * * *", Timezone: "Europe/Paris", StartAt: utc("2026-01-15T12:00:00Z"), EndAt: utc("2026-01-17T12:00:00Z")}
	next, err = workflows.NextRun(spec, time.Time{}, now)
	require.NoError(t, err)
	assert.Equal(t, utc("2026-01-16T01:00:00Z"), next.UTC(), "a cron schedule's first run is its first instant after StartAt")
	next, err = workflows.NextRun(spec, utc("2026-01-17T01:00:00Z"), utc("2026-01-17T01:00:00Z"))
	require.NoError(t, err)
	assert.True(t, next.IsZero(), "nothing after EndAt, got %s", next)

	_, err = workflows.NextRun(model.ScheduleSpec{Schedule: "0 2 * * *", Timezone: "Mars/Olympus"}, time.Time{}, now)
	assert.ErrorContains(t, err, "unknown timezone")
	assert.Error(t, workflows.ValidateSchedule("30s", ""))
	assert.Error(t, workflows.ValidateSchedule("0 2 * *", "UTC"))
	assert.Error(t, workflows.ValidateSchedule("CRON_TZ=UTC 0 2 * * *", ""))
	assert.NoError(t, workflows.ValidateSchedule("0 2 * * *", "Europe/Paris"))
}

// TestCronScheduleThroughWorkflow checks the instants SyncWorkflow children actually start at:
// "0 2 * * *" in Europe/Paris from a Thursday in winter time across the spring-forward Sunday.
func TestCronScheduleThroughWorkflow(t *testing.T) {
	h := newHarness(t, model.ScheduleSpec{Schedule: "0 2 * * *", Timezone: "Europe/Paris", Streams: []string{model.StreamAgents}})
	h.syncLength = func(int) time.Duration { return 20 * time.Minute }
	h.statusAt(2 * time.Hour)
	h.deleteAt(5*24*time.Hour, false) // 2026-03-31 10:00 UTC
	require.NoError(t, h.run(model.ConnectionWorkflowInput{}))

	var got []time.Time
	for _, r := range h.children() {
		got = append(got, r.Start)
	}
	assert.Equal(t, []time.Time{
		t0,                          // first run right after the connection test passes
		utc("2026-03-27T01:00:00Z"), // 02:00 CET
		utc("2026-03-28T01:00:00Z"), // 02:00 CET
		utc("2026-03-29T01:00:00Z"), // 03:00 CEST: 02:00 does not exist that day
		utc("2026-03-30T00:00:00Z"), // 02:00 CEST
		utc("2026-03-31T00:00:00Z"), // 02:00 CEST
	}, got)
	for _, r := range h.children()[1:] {
		want := "02:00"
		if r.Start.Equal(utc("2026-03-29T01:00:00Z")) {
			want = "03:00"
		}
		assert.Equal(t, want, r.Start.In(paris(t)).Format("15:04"), "local start of %s", r.ID)
	}
	assert.Equal(t, utc("2026-03-27T01:00:00Z"), h.status(2*time.Hour).NextRunAt.UTC())
}

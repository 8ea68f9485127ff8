package simulator

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var all = url.Values{"isDecommissioned": {"true,false"}}

func with(base url.Values, kv ...string) url.Values {
	q := url.Values{}
	for k, v := range base {
		q[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return q
}

func TestWalkReturnsEveryAgentOnce(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 7, Agents: 334, Now: clk.Now})
	truth := s.Truth("agents")
	require.Len(t, truth, 334)
	require.Equal(t, 334, s.AgentCount())

	for _, tc := range []struct {
		sortBy, order string
		resend        bool
	}{
		{"", "", true}, {"id", "asc", false}, {"updatedAt", "asc", true}, {"updatedAt", "desc", false},
		{"createdAt", "asc", false}, {"createdAt", "desc", true}, {"id", "desc", true},
	} {
		t.Run(tc.sortBy+"_"+tc.order, func(t *testing.T) {
			q := with(all, "limit", "37")
			if tc.sortBy != "" {
				q = with(q, "sortBy", tc.sortBy, "sortOrder", tc.order)
			}
			items, pages := walk(t, s, "/agents", q, tc.resend)
			require.Equal(t, (334+36)/37, pages)
			require.Len(t, items, len(truth))
			seen := map[string]bool{}
			for i, a := range items {
				require.False(t, seen[a.ID], "duplicate %s", a.ID)
				seen[a.ID] = true
				require.Equal(t, truth[a.ID], a.Hash, "hash of %s", a.ID)
				require.Len(t, a.ID, 19)
				if i > 0 {
					prev := items[i-1]
					field := map[string][2]string{"updatedAt": {prev.UpdatedAt, a.UpdatedAt}, "createdAt": {prev.CreatedAt, a.CreatedAt}}
					pair, ok := field[tc.sortBy]
					if !ok {
						pi, _ := strconv.ParseInt(prev.ID, 10, 64)
						ai, _ := strconv.ParseInt(a.ID, 10, 64)
						pair = [2]string{strconv.FormatInt(pi, 10), strconv.FormatInt(ai, 10)}
					}
					if tc.order == "desc" {
						require.GreaterOrEqual(t, pair[0], pair[1])
					} else {
						require.LessOrEqual(t, pair[0], pair[1])
					}
				}
			}
		})
	}
}

func TestDefaultsAndDecommissioned(t *testing.T) {
	require.Equal(t, 2000, New(Options{}).AgentCount(), "default tenant size")
	s := New(Options{Seed: 3, Agents: 400})
	p := decodePage(t, get(t, s, "/agents", nil))
	require.Len(t, p.Data, 10, "default limit is 10")
	require.NotNil(t, p.Pagination.NextCursor)

	// Without isDecommissioned the console hides decommissioned agents.
	items, _ := walk(t, s, "/agents", url.Values{"limit": {"1000"}}, false)
	decom, _ := walk(t, s, "/agents", url.Values{"limit": {"1000"}, "isDecommissioned": {"True"}}, false)
	require.NotEmpty(t, decom)
	require.Equal(t, 400, len(items)+len(decom))
	for _, a := range items {
		require.False(t, a.IsDecommissioned)
	}
	for _, a := range decom {
		require.True(t, a.IsDecommissioned)
	}
	all2 := New(Options{Seed: 3, Agents: 400, ListDecommissioned: true})
	require.Equal(t, 400, decodePage(t, get(t, all2, "/agents", url.Values{"countOnly": {"true"}})).Pagination.TotalItems)
}

func TestFilters(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 11, Agents: 300, Now: clk.Now})
	everything, _ := walk(t, s, "/agents", with(all, "limit", "1000"), false)
	require.Len(t, everything, 300)
	byUpdated := append([]walked(nil), everything...)
	sort.Slice(byUpdated, func(i, j int) bool { return byUpdated[i].UpdatedAt < byUpdated[j].UpdatedAt })

	check := func(t *testing.T, q url.Values, want func(walked) bool) {
		t.Helper()
		var expected []string
		for _, a := range everything {
			if want(a) {
				expected = append(expected, a.ID)
			}
		}
		for i, sortBy := range []string{"id", "updatedAt", "createdAt"} {
			order := []string{"asc", "desc"}[i%2]
			got, _ := walk(t, s, "/agents", with(q, "limit", "33", "sortBy", sortBy, "sortOrder", order), i == 1)
			var ids []string
			for _, a := range got {
				ids = append(ids, a.ID)
			}
			require.ElementsMatch(t, expected, ids, "sortBy=%s", sortBy)
			p := decodePage(t, get(t, s, "/agents", with(q, "countOnly", "true")))
			require.Equal(t, len(expected), p.Pagination.TotalItems)
			require.Empty(t, p.Data)
			require.Nil(t, p.Pagination.NextCursor)
		}
	}

	mid := byUpdated[150].UpdatedAt
	midT, err := time.Parse(time.RFC3339Nano, mid)
	require.NoError(t, err)
	t.Run("updatedAt__gt", func(t *testing.T) {
		check(t, with(all, "updatedAt__gt", mid), func(a walked) bool { return a.UpdatedAt > mid })
	})
	t.Run("updatedAt__gte python form", func(t *testing.T) {
		py := midT.Format("2006-01-02 15:04:05.000000-07:00")
		check(t, with(all, "updatedAt__gte", py), func(a walked) bool { return a.UpdatedAt >= mid })
	})
	t.Run("updatedAt__lt offset form", func(t *testing.T) {
		off := midT.In(time.FixedZone("x", 2*3600)).Format(time.RFC3339Nano)
		check(t, with(all, "updatedAt__lt", off), func(a walked) bool { return a.UpdatedAt < mid })
	})
	t.Run("updatedAt__lte seconds", func(t *testing.T) {
		sec := midT.Truncate(time.Second)
		check(t, with(all, "updatedAt__lte", sec.Format(time.RFC3339)), func(a walked) bool {
			at, _ := time.Parse(time.RFC3339Nano, a.UpdatedAt)
			return !at.After(sec)
		})
	})
	cmid := everything[200].CreatedAt
	t.Run("createdAt window", func(t *testing.T) {
		lo := everything[40].CreatedAt
		check(t, with(all, "createdAt__gte", lo, "createdAt__lt", cmid), func(a walked) bool {
			return a.CreatedAt >= lo && a.CreatedAt < cmid
		})
	})
	site := everything[0].SiteID
	t.Run("siteIds", func(t *testing.T) {
		check(t, with(all, "siteIds", site), func(a walked) bool { return a.SiteID == site })
	})
	t.Run("groupIds+accountIds", func(t *testing.T) {
		g1, g2 := everything[0].GroupID, everything[3].GroupID
		acc := everything[0].AccountID
		check(t, with(all, "groupIds", g1+","+g2, "accountIds", acc), func(a walked) bool {
			return a.GroupID == g1 || a.GroupID == g2
		})
	})
	t.Run("ids", func(t *testing.T) {
		want := map[string]bool{everything[5].ID: true, everything[250].ID: true, everything[42].ID: true}
		check(t, with(all, "ids", everything[250].ID+","+everything[5].ID+","+everything[42].ID+",1999999999999999999"),
			func(a walked) bool { return want[a.ID] })
	})
	t.Run("combined", func(t *testing.T) {
		check(t, with(url.Values{"isDecommissioned": {"false"}}, "siteIds", site, "updatedAt__gte", mid),
			func(a walked) bool { return !a.IsDecommissioned && a.SiteID == site && a.UpdatedAt >= mid })
	})
	t.Run("skipCount", func(t *testing.T) {
		p := decodePage(t, get(t, s, "/agents", with(all, "skipCount", "true")))
		require.Equal(t, 0, p.Pagination.TotalItems)
		require.Len(t, p.Data, 10)
	})
	t.Run("skip", func(t *testing.T) {
		p := decodePage(t, get(t, s, "/agents", with(all, "skip", "5", "limit", "3")))
		require.Len(t, p.Data, 3)
		var a walked
		require.NoError(t, jsonUnmarshal(p.Data[0], &a))
		require.Equal(t, everything[5].ID, a.ID)
	})
}

func TestValidation(t *testing.T) {
	s := New(Options{Seed: 1, Agents: 50})
	for _, tc := range []struct {
		path   string
		q      url.Values
		detail string
	}{
		{"/agents", url.Values{"limit": {"0"}}, "Limit must be greater than or equals to 1 and less than equals to 1000"},
		{"/agents", url.Values{"limit": {"1001"}}, "Limit must be greater than or equals to 1 and less than equals to 1000"},
		{"/agents", url.Values{"limit": {"ten"}}, "limit: Not a valid integer."},
		{"/groups", url.Values{"limit": {"301"}}, "Limit must be greater than or equals to 1 and less than equals to 300"},
		{"/agents", url.Values{"siteIds": {"0"}}, "siteIds: 0: Must be greater than or equal to 100000000000000000."},
		{"/agents", url.Values{"ids": {"99999999999999999"}}, "ids: 99999999999999999: Must be greater than or equal to 100000000000000000."},
		{"/agents", url.Values{"bogus": {"1"}}, "bogus: Unknown field."},
		{"/agents", url.Values{"osTypes": {"windows"}}, "osTypes: not supported by the simulator."},
		{"/agents", url.Values{"updatedAt__gt": {"yesterday"}}, `updatedAt__gt: not a valid datetime: "yesterday"`},
		{"/agents", url.Values{"sortBy": {"nope"}}, ""},
		{"/agents", url.Values{"sortBy": {"computerName"}}, ""},
		{"/agents", url.Values{"sortOrder": {"up"}}, "sortOrder: Must be one of: asc, desc."},
		{"/agents", url.Values{"isDecommissioned": {"maybe"}}, "isDecommissioned: maybe: Not a valid boolean."},
		{"/agents", url.Values{"skip": {"1001"}}, "skip: Must be between 0 and 1000."},
	} {
		rec := get(t, s, tc.path, tc.q)
		require.Equal(t, http.StatusBadRequest, rec.Code, "%s %v", tc.path, tc.q)
		d := errDetail(t, rec)
		if tc.detail != "" {
			require.Equal(t, tc.detail, d)
		}
		require.Contains(t, rec.Body.String(), `"code":4000010`)
	}
	// Empty values are ignored (clients send cursor= on the first page).
	decodePage(t, get(t, s, "/agents", url.Values{"cursor": {""}, "siteIds": {""}}))
}

func TestCursor(t *testing.T) {
	s := New(Options{Seed: 1, Agents: 100})
	q := with(all, "limit", "10", "sortBy", "updatedAt", "siteIds", "")
	p := decodePage(t, get(t, s, "/agents", q))
	cur := *p.Pagination.NextCursor

	bad := func(q url.Values) {
		t.Helper()
		rec := get(t, s, "/agents", q)
		require.Equal(t, http.StatusBadRequest, rec.Code)
		require.Equal(t, BodyInvalidCursor, rec.Body.String())
	}
	tampered := []byte(cur)
	tampered[len(tampered)/2] ^= 1
	bad(url.Values{"cursor": {string(tampered)}})
	bad(url.Values{"cursor": {"test"}})
	bad(url.Values{"cursor": {"YWdlbnRfaWQ6NTgwMjkzODE="}})
	bad(url.Values{"cursor": {cur}, "isDecommissioned": {"false"}}) // different filters
	bad(url.Values{"cursor": {cur}, "sortBy": {"id"}})              // different sort
	bad(url.Values{"cursor": {cur}, "sortBy": {"updatedAt"}, "sortOrder": {"desc"}})
	rec := get(t, s, "/groups", url.Values{"cursor": {cur}}) // another endpoint's cursor
	require.Equal(t, http.StatusBadRequest, rec.Code)

	// Cursor alone and cursor with re-sent filters continue identically.
	a := get(t, s, "/agents", url.Values{"cursor": {cur}, "limit": {"10"}})
	b := get(t, s, "/agents", with(q, "cursor", cur))
	require.Equal(t, a.Body.String(), b.Body.String())
	require.Equal(t, 100, decodePage(t, a).Pagination.TotalItems)
}

func TestMutationsReflectedInWalksAndTruth(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 5, Agents: 200, Now: clk.Now})
	before := s.Truth("agents")
	items, _ := walk(t, s, "/agents", with(all, "limit", "1000", "sortBy", "updatedAt"), true)
	watermark := items[len(items)-1].UpdatedAt

	clk.Advance(time.Minute)
	changed := s.ChangeAgents(20)
	added := s.AddAgents(7)
	clk.Advance(time.Second)
	changedAgain := s.ChangeAgents(5)
	removed := s.RemoveAgents(9)
	require.Len(t, changed, 20)
	require.Len(t, added, 7)
	require.Len(t, removed, 9)
	require.Equal(t, 200+7-9, s.AgentCount())

	after := s.Truth("agents")
	require.Len(t, after, 198)
	for _, id := range removed {
		_, ok := after[id]
		require.False(t, ok, id)
	}
	for _, id := range append(append([]string{}, changed...), changedAgain...) {
		if _, ok := after[id]; ok && before[id] != "" {
			require.NotEqual(t, before[id], after[id], "changed agent %s must change content", id)
		}
	}
	wasRemoved := map[string]bool{}
	for _, id := range removed {
		wasRemoved[id] = true
	}
	for _, id := range added {
		_, inBefore := before[id]
		_, inAfter := after[id]
		require.False(t, inBefore, id)
		require.Equal(t, !wasRemoved[id], inAfter, id)
		require.Len(t, id, 19)
	}

	// Incremental walk from the watermark sees exactly changed+added (minus removed).
	delta, _ := walk(t, s, "/agents", with(all, "limit", "7", "sortBy", "updatedAt", "updatedAt__gt", watermark), true)
	want := map[string]bool{}
	for _, id := range append(append(append([]string{}, changed...), added...), changedAgain...) {
		if _, ok := after[id]; ok {
			want[id] = true
		}
	}
	got := map[string]bool{}
	for _, a := range delta {
		require.False(t, got[a.ID], "duplicate in delta")
		got[a.ID] = true
		require.Equal(t, after[a.ID], a.Hash)
		require.Greater(t, a.UpdatedAt, watermark)
	}
	require.Equal(t, want, got)

	// Full walks in every order agree with Truth.
	for _, sortBy := range []string{"id", "createdAt", "updatedAt"} {
		for _, order := range []string{"asc", "desc"} {
			items, _ := walk(t, s, "/agents", with(all, "limit", "61", "sortBy", sortBy, "sortOrder", order), false)
			m := map[string]string{}
			for _, a := range items {
				m[a.ID] = a.Hash
			}
			require.Equal(t, after, m, "%s %s", sortBy, order)
		}
	}
	// ids lookup of a removed agent finds nothing; of an added one finds it.
	p := decodePage(t, get(t, s, "/agents", with(all, "ids", removed[0]+","+added[0])))
	require.Equal(t, 1-boolInt(wasRemoved[added[0]]), len(p.Data))

	// Removing more than exist removes all.
	s.RemoveAgents(10_000)
	require.Equal(t, 0, s.AgentCount())
	require.Empty(t, decodePage(t, get(t, s, "/agents", all)).Data)
}

func TestWalkStableAcrossConcurrentChanges(t *testing.T) {
	// Agents unchanged during a walk are returned exactly once; agents that
	// change mid-walk move to the end of an updatedAt walk (seen again).
	clk := newClock()
	s := New(Options{Seed: 9, Agents: 300, Now: clk.Now})
	q := with(all, "limit", "50", "sortBy", "updatedAt")
	p := decodePage(t, get(t, s, "/agents", q))
	clk.Advance(time.Second)
	changed := s.ChangeAgents(10)
	seen := map[string]int{}
	for _, raw := range p.Data {
		var a walked
		require.NoError(t, jsonUnmarshal(raw, &a))
		seen[a.ID]++
	}
	rest, _ := walk(t, s, "/agents", with(q, "cursor", *p.Pagination.NextCursor), true)
	for _, a := range rest {
		seen[a.ID]++
	}
	require.Len(t, seen, 300)
	for _, id := range changed {
		require.GreaterOrEqual(t, seen[id], 1)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

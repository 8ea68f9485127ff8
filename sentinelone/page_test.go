package sentinelone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagedServer serves pages keyed by the incoming cursor ("" = first page).
func pagedServer(t *testing.T, pages map[string]string) (*Client, *recorder) {
	t.Helper()
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		body, ok := pages[r.URL.Query().Get("cursor")]
		if !ok {
			writeJSON(w, 400, body400Cursor)
			return
		}
		writeJSON(w, 200, body)
	})
	return newTestClient(t, srv), rec
}

func ids(t *testing.T, pages []*Page) []string {
	t.Helper()
	var out []string
	for _, p := range pages {
		for _, raw := range p.Data {
			var v struct {
				ID string `json:"id"`
			}
			require.NoError(t, json.Unmarshal(raw, &v))
			out = append(out, v.ID)
		}
	}
	return out
}

func TestWalkEndConditions(t *testing.T) {
	first := `{"data":[{"id":"1"},{"id":"2"}],"pagination":{"nextCursor":"c1","totalItems":3}}`
	tests := []struct {
		name      string
		last      string
		wantIDs   []string
		wantPages int
	}{
		{"null", `{"data":[{"id":"3"}],"pagination":{"nextCursor":null,"totalItems":3}}`, []string{"1", "2", "3"}, 2},
		{"string null", `{"data":[{"id":"3"}],"pagination":{"nextCursor":"null","totalItems":3}}`, []string{"1", "2", "3"}, 2},
		{"empty string", `{"data":[{"id":"3"}],"pagination":{"nextCursor":"","totalItems":3}}`, []string{"1", "2", "3"}, 2},
		{"absent nextCursor", `{"data":[{"id":"3"}],"pagination":{"totalItems":3}}`, []string{"1", "2", "3"}, 2},
		{"pagination null", `{"data":[{"id":"3"}],"pagination":null}`, []string{"1", "2", "3"}, 2},
		{"no pagination", `{"data":[{"id":"3"}]}`, []string{"1", "2", "3"}, 2},
		{"empty final page", `{"data":[],"pagination":{"nextCursor":null,"totalItems":2}}`, []string{"1", "2"}, 2},
		{"data null final page", `{"data":null,"pagination":{"nextCursor":null,"totalItems":2}}`, []string{"1", "2"}, 2},
		{"errors [{}] on 200", `{"data":[{"id":"3"}],"errors":[{}],"pagination":{"nextCursor":null,"totalItems":3}}`, []string{"1", "2", "3"}, 2},
		{"errors [] and null", `{"data":[{"id":"3"}],"errors":[],"pagination":{"nextCursor":null}}`, []string{"1", "2", "3"}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, rec := pagedServer(t, map[string]string{"": first, "c1": tc.last})
			var pages []*Page
			var cursors []string
			err := c.Walk(context.Background(), "/agents", nil, "", func(p *Page) error {
				pages = append(pages, p)
				cursors = append(cursors, p.NextCursor)
				return nil
			})
			require.NoError(t, err)
			assert.Equal(t, tc.wantIDs, ids(t, pages))
			assert.Len(t, pages, tc.wantPages)
			assert.Equal(t, []string{"c1", ""}, cursors)
			assert.Equal(t, tc.wantPages, rec.count())
			assert.EqualValues(t, 3, pages[0].TotalItems)
			for _, p := range pages {
				assert.NotNil(t, p.Data)
			}
		})
	}
}

func TestWalkPinsFiltersOnEveryPage(t *testing.T) {
	c, rec := pagedServer(t, map[string]string{
		"":                 `{"data":[{"id":"1"}],"pagination":{"nextCursor":"YWdlbnRfaWQ6MQ==","totalItems":3}}`,
		"YWdlbnRfaWQ6MQ==": `{"data":[{"id":"2"}],"pagination":{"nextCursor":"YWdlbnRfaWQ6Mg==","totalItems":3}}`,
		"YWdlbnRfaWQ6Mg==": `{"data":[{"id":"3"}],"pagination":{"nextCursor":null,"totalItems":3}}`,
	})
	params := url.Values{
		"updatedAt__gte": {"2024-01-01T00:00:00.000000Z"},
		"sortBy":         {"updatedAt"},
		"sortOrder":      {"asc"},
		"siteIds":        {"433241117337583618,475482421366727779"},
	}
	orig := fmt.Sprint(params)
	var got []string
	require.NoError(t, c.Walk(context.Background(), "/agents", params, "", func(p *Page) error {
		got = append(got, ids(t, []*Page{p})...)
		return nil
	}))
	assert.Equal(t, []string{"1", "2", "3"}, got)
	assert.Equal(t, orig, fmt.Sprint(params), "caller params must not be mutated")

	reqs := rec.all()
	require.Len(t, reqs, 3)
	wantCursors := []string{"", "YWdlbnRfaWQ6MQ==", "YWdlbnRfaWQ6Mg=="}
	for i, r := range reqs {
		q := r.Query
		assert.Equal(t, wantCursors[i], q.Get("cursor"), "page %d", i)
		q.Del("cursor")
		assert.Equal(t, url.Values{
			"updatedAt__gte": {"2024-01-01T00:00:00.000000Z"},
			"sortBy":         {"updatedAt"},
			"sortOrder":      {"asc"},
			"siteIds":        {"433241117337583618,475482421366727779"},
			"limit":          {"1000"},
		}, q, "page %d must re-send identical filters", i)
	}
}

func TestWalkResumeFromCursor(t *testing.T) {
	c, rec := pagedServer(t, map[string]string{
		"":   `{"data":[{"id":"1"}],"pagination":{"nextCursor":"c1"}}`,
		"c1": `{"data":[{"id":"2"}],"pagination":{"nextCursor":null}}`,
	})
	var got []string
	require.NoError(t, c.Walk(context.Background(), "/threats", url.Values{"limit": {"50"}}, "c1", func(p *Page) error {
		got = append(got, ids(t, []*Page{p})...)
		return nil
	}))
	assert.Equal(t, []string{"2"}, got)
	reqs := rec.all()
	require.Len(t, reqs, 1)
	assert.Equal(t, "c1", reqs[0].Query.Get("cursor"))
	assert.Equal(t, "50", reqs[0].Query.Get("limit"), "explicit limit is kept")
}

func TestWalkRepeatedCursor(t *testing.T) {
	tests := []struct {
		name      string
		pages     map[string]string
		start     string
		wantCalls int
	}{
		{"same as previous", map[string]string{
			"":   `{"data":[{"id":"1"}],"pagination":{"nextCursor":"c1"}}`,
			"c1": `{"data":[{"id":"2"}],"pagination":{"nextCursor":"c1"}}`,
		}, "", 1},
		{"cycle", map[string]string{
			"":   `{"data":[{"id":"1"}],"pagination":{"nextCursor":"c1"}}`,
			"c1": `{"data":[{"id":"2"}],"pagination":{"nextCursor":"c2"}}`,
			"c2": `{"data":[{"id":"3"}],"pagination":{"nextCursor":"c1"}}`,
		}, "", 2},
		{"echoes start cursor", map[string]string{
			"c9": `{"data":[],"pagination":{"nextCursor":"c9"}}`,
		}, "c9", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := pagedServer(t, tc.pages)
			calls := 0
			err := c.Walk(context.Background(), "/agents", nil, tc.start, func(*Page) error { calls++; return nil })
			require.ErrorIs(t, err, ErrRepeatedCursor)
			assert.Contains(t, err.Error(), "/agents")
			assert.Equal(t, tc.wantCalls, calls, "fn is not called for the looping page")
		})
	}
}

func TestWalkStopsOnCallbackError(t *testing.T) {
	c, rec := pagedServer(t, map[string]string{
		"":   `{"data":[{"id":"1"}],"pagination":{"nextCursor":"c1"}}`,
		"c1": `{"data":[{"id":"2"}],"pagination":{"nextCursor":null}}`,
	})
	stop := errors.New("stop")
	err := c.Walk(context.Background(), "/agents", nil, "", func(*Page) error { return stop })
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, rec.count())

	err = c.Walk(context.Background(), "/agents", url.Values{"cursor": {"x"}}, "", func(*Page) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "startCursor")
}

func TestWalkInvalidCursor(t *testing.T) {
	c, _ := pagedServer(t, map[string]string{"": `{"data":[]}`})
	err := c.Walk(context.Background(), "/threats", nil, "test", func(*Page) error { return nil })
	require.Error(t, err)
	assert.True(t, IsInvalidCursor(err))
	assert.True(t, IsValidation(err))
	assert.False(t, IsRetryable(err))
}

func TestListDefaults(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[],"pagination":{"nextCursor":null,"totalItems":"7"}}`)
	})
	c := newTestClient(t, srv)
	ctx := context.Background()
	p, err := c.List(ctx, "/agents", nil)
	require.NoError(t, err)
	assert.EqualValues(t, 7, p.TotalItems, "numeric string totalItems tolerated")
	_, err = c.List(ctx, "/groups", url.Values{"siteIds": {"475482421366727779"}})
	require.NoError(t, err)
	_, err = c.List(ctx, "/agents", url.Values{"limit": {"10"}})
	require.NoError(t, err)
	reqs := rec.all()
	assert.Equal(t, "1000", reqs[0].Query.Get("limit"))
	assert.Equal(t, "300", reqs[1].Query.Get("limit"), "/groups max is 300")
	assert.Equal(t, "10", reqs[2].Query.Get("limit"))
}

func TestListErrorsOn2xx(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":[{"id":"1"}],"errors":[{},{"code":5000010,"title":"Internal server error","detail":"partial"}]}`)
	})
	c := newTestClient(t, srv)
	_, err := c.List(context.Background(), "/agents", nil)
	var ae *APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 200, ae.Status)
	assert.Equal(t, 5000010, ae.Code)
	assert.Equal(t, "partial", ae.Detail)
}

func TestListBadBodies(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		retryable bool
	}{
		{"truncated JSON", 200, `{"data":[{"id":"1"},{"id":`, true},
		{"empty body", 200, ``, true},
		{"html", 200, `<!DOCTYPE html><html><body>Login</body></html>`, true},
		{"bare array", 200, `[{"id":"1"}]`, true},
		{"data is object", 200, `{"data":{"allSites":{},"sites":[]}}`, false},
		{"nextCursor object", 200, `{"data":[],"pagination":{"nextCursor":{"a":1}}}`, false},
		{"totalItems garbage", 200, `{"data":[],"pagination":{"totalItems":"many"}}`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, tc.status, tc.body) })
			c := newTestClient(t, srv)
			_, err := c.List(context.Background(), "/agents", nil)
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, tc.retryable, IsRetryable(err))
			assert.Equal(t, "/agents", de.Path)
			assert.Equal(t, tc.status, de.Status)
			assert.Contains(t, err.Error(), "GET /agents")
			if tc.body != "" {
				assert.Contains(t, de.Snippet, tc.body[:5])
			}
		})
	}
}

func TestListObjectSites(t *testing.T) {
	srv, rec := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data": {"allSites": {"activeLicenses": 31, "totalLicenses": 0},
          "sites": [{"id": "475482421366727779", "name": "Default site", "healthStatus": true}]},
 "pagination": {"nextCursor": null, "totalItems": 1}}`)
	})
	c := newTestClient(t, srv)
	data, next, total, err := c.ListObject(context.Background(), "/sites", url.Values{"state": {"active"}})
	require.NoError(t, err)
	assert.Equal(t, "", next)
	assert.EqualValues(t, 1, total)
	var sites struct {
		AllSites struct {
			ActiveLicenses FlexInt `json:"activeLicenses"`
		} `json:"allSites"`
		Sites []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"sites"`
	}
	require.NoError(t, json.Unmarshal(data, &sites))
	assert.EqualValues(t, 31, sites.AllSites.ActiveLicenses)
	require.Len(t, sites.Sites, 1)
	assert.Equal(t, "Default site", sites.Sites[0].Name)
	assert.Equal(t, "1000", rec.all()[0].Query.Get("limit"))
	assert.Equal(t, "active", rec.all()[0].Query.Get("state"))
}

func TestGetDecodesData(t *testing.T) {
	srv, _ := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, `{"data":{"total":"12"},"errors":null}`)
	})
	c := newTestClient(t, srv)
	var out struct {
		Total FlexInt `json:"total"`
	}
	require.NoError(t, c.Get(context.Background(), "/agents/count", url.Values{"siteIds": {"1"}}, &out))
	assert.EqualValues(t, 12, out.Total)
}

func TestXDRTotalCount(t *testing.T) {
	p, errs, err := decodePage([]byte(`{"data":[{"id":"a"}],"pagination":{"totalCount":42,"limit":1,"skip":0}}`))
	require.NoError(t, err)
	assert.Empty(t, errs)
	assert.EqualValues(t, 42, p.TotalItems)
	assert.Equal(t, "", p.NextCursor)
}

// Quirky fixtures from the reference doc, used as fuzz seeds.
var pageSeeds = []string{
	`{"data":[{"id":"1"}],"pagination":{"nextCursor":null,"totalItems":1}}`,
	`{"data":[],"pagination":{"nextCursor":"null","totalItems":2651}}`,
	`{"data":[],"pagination":{"nextCursor":"","totalItems":0}}`,
	`{"data":[],"pagination":{"nextCursor":null,"totalItems":2}}`,
	`{"data":[{"alertInfo":{"alertId":"1"}}],"errors":[{}],"pagination":{"nextCursor":"YWdlbnRfaWQ6NTgwMjkzODE=","totalItems":4}}`,
	`{"errors":[{"code":5030010,"detail":"Service is temporarily unavailable.","title":"Service Unavailable"}],"data":null,"pagination":null}`,
	`{"data":{"allSites":{"activeLicenses":31,"totalLicenses":0},"sites":[]},"pagination":{"nextCursor":null,"totalItems":1}}`,
	`{"data":[{"id":"a"}],"pagination":{"totalCount":42,"limit":1,"skip":0}}`,
	`{"data":[{"firewallEnabled":"True","isUpToDate":"True"}],"pagination":{"nextCursor":null,"totalItems":"1"}}`,
	`{"data":[{"id":"1"},{"id":`,
	`<html></html>`,
	``,
	`null`,
	`{"data":null}`,
	`{"pagination":{"nextCursor":12345}}`,
	`{"pagination":{"nextCursor":" null "}}`,
}

func TestDecodePageSeeds(t *testing.T) {
	p, _, err := decodePage([]byte(pageSeeds[1]))
	require.NoError(t, err)
	assert.Equal(t, "", p.NextCursor)
	assert.EqualValues(t, 2651, p.TotalItems)
	p, errs, err := decodePage([]byte(pageSeeds[4]))
	require.NoError(t, err)
	assert.Empty(t, errs, "errors [{}] is ignored")
	assert.Equal(t, "YWdlbnRfaWQ6NTgwMjkzODE=", p.NextCursor)
	_, errs, err = decodePage([]byte(pageSeeds[5]))
	require.NoError(t, err)
	require.Len(t, errs, 1)
	assert.EqualValues(t, 5030010, errs[0].Code)
	_, _, err = decodePage([]byte(pageSeeds[6]))
	require.Error(t, err, "object data must be rejected by decodePage")
	p, _, err = decodePage([]byte(pageSeeds[14]))
	require.NoError(t, err)
	assert.Equal(t, "12345", p.NextCursor)
	p, _, err = decodePage([]byte(pageSeeds[15]))
	require.NoError(t, err)
	assert.Equal(t, "", p.NextCursor)
}

func FuzzDecodePage(f *testing.F) {
	for _, s := range pageSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, _, err := decodePage(body)
		if err != nil {
			if p != nil {
				t.Fatalf("page returned with error")
			}
			return
		}
		if p.Data == nil {
			t.Fatalf("Data must never be nil on success")
		}
		if strings.EqualFold(strings.TrimSpace(p.NextCursor), "null") || p.NextCursor != strings.TrimSpace(p.NextCursor) {
			t.Fatalf("unnormalised cursor %q", p.NextCursor)
		}
		for _, item := range p.Data {
			if !json.Valid(item) {
				t.Fatalf("invalid item %q", item)
			}
		}
		// Decoding must be deterministic.
		p2, _, err2 := decodePage(body)
		if err2 != nil || p2.NextCursor != p.NextCursor || p2.TotalItems != p.TotalItems || len(p2.Data) != len(p.Data) {
			t.Fatalf("non-deterministic decode")
		}
	})
}

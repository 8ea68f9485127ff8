package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sentinelone-connector/s1conn/model"
	"github.com/sentinelone-connector/s1conn/ocsf"
	"github.com/sentinelone-connector/s1conn/sentinelone"
	"github.com/sentinelone-connector/s1conn/store"
)

func init() {
	// Vulnerabilities: risks walked by id with includeRemovals, delta on riskUpdatedDate (rows do
	// not carry it, so the watermark is the walk's start), one account/site ID per request.
	streams[model.StreamVulnerabilities] = streamSpec{
		Path: "/application-management/risks", SortBy: "id", DeltaParam: "riskUpdatedDate__gte", SingleScope: true,
		Defaults:      url.Values{"includeRemovals": {"true"}},
		PageTransform: vulnPage,
	}
	streams[model.StreamXDRAssets] = streamSpec{
		Path: "/xdr/assets", SortBy: "s1UpdatedAt", DeltaParam: "s1UpdatedAt__gt",
		PageTransform: xdrPage,
	}
}

// severityMap is the connection's risk severity mapping (Qualys ETM), or the default.
func severityMap(s model.ConnectionSettings) ocsf.SeverityMap {
	m := ocsf.DefaultSeverityMap()
	if len(s.RiskScores) == 5 {
		copy(m.Scores[:], s.RiskScores)
	}
	if s.DefaultSeverityLevel > 0 {
		m.DefaultLevel = s.DefaultSeverityLevel
	}
	return m
}

// riskKeys are the few fields a page of risks needs before transforming it.
type riskKeys struct {
	ID         ocsf.FlexString `json:"id"`
	CVEID      ocsf.FlexString `json:"cveId"`
	EndpointID ocsf.FlexString `json:"endpointId"`
}

func vulnPage(ctx context.Context, pc *pageCtx, data []json.RawMessage) ([]store.Record, error) {
	keys := make([]riskKeys, len(data))
	var hostIDs, cveIDs, ids []string
	seenCVE := map[string]bool{}
	unreadable := make([]bool, len(data))
	for i, raw := range data {
		// A validated page's records need no check of their own: this per-record json.Valid was
		// 8 % of the worker's CPU in a profile of the 1M-row vulnerabilities sync.
		if err := pc.meta.Decode(raw, &keys[i]); err != nil {
			unreadable[i] = true
			pc.reject(raw, fmt.Errorf("ocsf: vulnerability: %w", err))
			continue
		}
		hostIDs = append(hostIDs, string(keys[i].EndpointID))
		ids = append(ids, string(keys[i].ID))
		if c := string(keys[i].CVEID); c != "" && !seenCVE[c] {
			seenCVE[c] = true
			cveIDs = append(cveIDs, c)
		}
	}
	hosts, err := pc.a.Store.HostAssets(ctx, pc.conn.ID, hostIDs)
	if err != nil {
		return nil, err
	}
	cves, err := pc.cveDetails(ctx, cveIDs)
	if err != nil {
		return nil, err
	}
	table, _ := store.TableFor(model.StreamVulnerabilities)
	prev, err := pc.a.Store.FlatValues(ctx, table, pc.conn.ID, "status", ids)
	if err != nil {
		return nil, err
	}
	sev := severityMap(pc.conn.Settings)
	recs := make([]store.Record, 0, len(data))
	for i, raw := range data {
		if unreadable[i] {
			continue
		}
		r, err := ocsf.Vulnerability(raw, pc.meta, hosts[string(keys[i].EndpointID)], cves[string(keys[i].CVEID)], sev, prev[string(keys[i].ID)])
		if err != nil {
			pc.reject(raw, err)
			continue
		}
		recs = append(recs, store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: pc.walkStart, Raw: raw, OCSF: r.Event,
			Flat: r.Flat.Values(), Status: vulnRouteStatus(r.Flat.Status),
			Attrs: map[string]string{"status": vulnRouteStatus(r.Flat.Status), "severity": strings.ToLower(r.Flat.Severity)}})
	}
	return recs, nil
}

// vulnRouteStatus maps NEW/FIXED to the routing vocabulary (new | resolved).
func vulnRouteStatus(s string) string {
	if strings.EqualFold(s, "FIXED") {
		return "resolved"
	}
	return "new"
}

// walkCVECache bounds the CVE details a walk keeps parsed in memory (a few KB each).
const walkCVECache = 4096

// cveDetails returns the details of a page's CVEs, parsed once per walk: the store's cache and
// the console are asked only for the IDs this walk has not seen yet.
func (pc *pageCtx) cveDetails(ctx context.Context, ids []string) (map[string]*ocsf.CVEDetail, error) {
	out := make(map[string]*ocsf.CVEDetail, len(ids))
	var missing []string
	for _, id := range ids {
		if d, ok := pc.cves[id]; ok {
			out[id] = d
		} else {
			missing = append(missing, id)
		}
	}
	if len(missing) == 0 {
		return out, nil
	}
	got, err := pc.a.cveDetails(ctx, pc.client, missing)
	if err != nil {
		return nil, err
	}
	if pc.cves == nil {
		pc.cves = map[string]*ocsf.CVEDetail{}
	}
	for _, id := range missing {
		d := got[id] // nil: unreadable detail, remembered too
		out[id] = d
		if len(pc.cves) < walkCVECache {
			pc.cves[id] = d
		}
	}
	return out, nil
}

// cveBatch is how many CVE IDs one /risks/cves request asks for.
const cveBatch = 100

// cveDetails returns CVE details from the store's cache, fetching the missing ones in batches
// (once per distinct CVE, never once per finding) and caching them — misses included.
func (a *Activities) cveDetails(ctx context.Context, client *sentinelone.Client, ids []string) (map[string]*ocsf.CVEDetail, error) {
	out := map[string]*ocsf.CVEDetail{}
	if len(ids) == 0 {
		return out, nil
	}
	cached, err := a.Store.CVEDetails(ctx, ids)
	if err != nil {
		return nil, err
	}
	var missing []string
	for _, id := range ids {
		if _, ok := cached[id]; !ok {
			missing = append(missing, id)
		}
	}
	for start := 0; start < len(missing); start += cveBatch {
		batch := missing[start:min(start+cveBatch, len(missing))]
		want := map[string]bool{}
		for _, id := range batch {
			want[id] = true
		}
		fetched := map[string][]byte{}
		// cveId__contains matches substrings: keep exact IDs only.
		err := client.Walk(ctx, "/application-management/risks/cves", url.Values{"cveId__contains": {strings.Join(batch, ",")}, "limit": {"1000"}}, "",
			func(p *sentinelone.Page) error {
				for _, raw := range p.Data {
					var k struct {
						CVEID string `json:"cveId"`
					}
					if json.Unmarshal(raw, &k) == nil && want[k.CVEID] {
						fetched[k.CVEID] = raw
					}
				}
				return nil
			})
		if err != nil {
			return nil, err
		}
		for _, id := range batch {
			if _, ok := fetched[id]; !ok {
				fetched[id] = []byte(`{"cveId":"` + id + `","notFound":true}`) // cache the miss too
			}
		}
		if err := a.Store.PutCVEDetails(ctx, fetched); err != nil {
			return nil, err
		}
		for id, raw := range fetched {
			cached[id] = raw
		}
	}
	for id, raw := range cached {
		d, err := ocsf.ParseCVEDetail(raw)
		if err != nil {
			continue // an unreadable detail only leaves the finding without description/score
		}
		out[id] = d
	}
	return out, nil
}

// resolveVanished rewrites the findings a full reconcile no longer saw into their final state:
// FIXED / Resolved, kept (and exported) rather than dropped.
func (a *Activities) resolveVanished(ctx context.Context, conn *store.Connection, client *sentinelone.Client, meta ocsf.Meta, since time.Time) (int64, error) {
	removed, err := a.Store.RemovedSince(ctx, conn.ID, model.StreamVulnerabilities, since)
	if err != nil || len(removed) == 0 {
		return 0, err
	}
	table, _ := store.TableFor(model.StreamVulnerabilities)
	sev := severityMap(conn.Settings)
	var recs []store.Record
	for _, r := range removed {
		heartbeat(ctx, nil)
		var k riskKeys
		_ = json.Unmarshal(r.Raw, &k)
		hosts, err := a.Store.HostAssets(ctx, conn.ID, []string{string(k.EndpointID)})
		if err != nil {
			return 0, err
		}
		cves, err := a.cveDetails(ctx, client, nonEmpty(string(k.CVEID)))
		if err != nil {
			return 0, err
		}
		v, err := ocsf.ResolveVulnerability(r.Raw, meta, hosts[string(k.EndpointID)], cves[string(k.CVEID)], sev)
		if err != nil {
			return 0, err
		}
		recs = append(recs, store.Record{Key: r.Key, Hash: v.Hash, SourceUpdatedAt: meta.Now, Raw: r.Raw, OCSF: v.Event, Flat: v.Flat.Values()})
	}
	return int64(len(recs)), a.Store.RewriteRemoved(ctx, table, conn.ID, recs)
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

func xdrPage(ctx context.Context, pc *pageCtx, data []json.RawMessage) ([]store.Record, error) {
	agentIDs := make([]string, len(data))
	for i, raw := range data {
		var k struct {
			Agent struct {
				ID string `json:"id"`
			} `json:"agent"`
		}
		_ = json.Unmarshal(raw, &k)
		agentIDs[i] = k.Agent.ID
	}
	hosts, err := pc.a.Store.HostAssets(ctx, pc.conn.ID, agentIDs)
	if err != nil {
		return nil, err
	}
	recs := make([]store.Record, 0, len(data))
	for i, raw := range data {
		r, err := ocsf.XDRAsset(raw, pc.meta, hosts[agentIDs[i]])
		if err != nil {
			pc.reject(raw, err)
			continue
		}
		recs = append(recs, store.Record{Key: r.Key, Hash: r.Hash, SourceUpdatedAt: r.UpdatedAt, Raw: raw, OCSF: r.Event, Flat: r.Flat.Values()})
	}
	return recs, nil
}

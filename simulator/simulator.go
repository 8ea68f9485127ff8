// Package simulator is an in-process fake SentinelOne management console
// (API v2.1) for tests and demos.
//
// It serves /web/api/v2.1 with the console's envelopes, exact error bodies,
// keyset cursors, RBAC permissions, per-token rate limits and injectable
// faults. The agents stream is derived deterministically from a seed and
// an index, so a million-agent tenant costs only a sparse overlay of
// changes. Tests mutate the tenant (ChangeAgents, AddAgents, RemoveAgents)
// and compare what a client stored against Truth.
//
// Streams follow one pattern: a listSpec (parameters, sort fields, limit)
// plus a lister (count and keyset page), served by serveList; see
// agents_list.go and scope.go. New streams go in their own file and are
// registered in routes().
package simulator

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

// APIPrefix is the route prefix of every endpoint.
const APIPrefix = "/web/api/v2.1"

// DefaultToken is the token a simulator accepts when Options.Tokens is empty.
const DefaultToken = "sim-token-0123456789abcdef"

// Token is an API token known to the simulator.
type Token struct {
	Value string
	// Permissions such as "Endpoints.view", "Accounts.view", "Sites.view",
	// "Threats.view", "Custom Alerts.view", "Applications Page.view",
	// "Applications Page.viewRisks", "XDR Inventory.view".
	// Nil or empty grants every permission.
	Permissions []string
	// CreatedAt defaults to Now(); a zero ExpiresAt never expires.
	CreatedAt, ExpiresAt time.Time
}

// Options configures a Simulator. The zero value is usable.
type Options struct {
	Seed            int64
	Accounts        int // default 1
	SitesPerAccount int // default 2
	GroupsPerSite   int // default 2
	// Agents is the number of base agents: 0 means 2000, negative means none.
	Agents int
	// Tokens default to DefaultToken with all permissions, expiring in 180 days.
	Tokens []Token
	// EnforceRateLimits applies per (token, path prefix) token buckets at
	// the published limits (reference §4.2) and answers 429 when exceeded.
	EnforceRateLimits bool
	// RetryAfter sends "Retry-After: 1" on every 429.
	RetryAfter bool
	// Now is the clock (timestamps, token expiry, rate-limit refill).
	Now func() time.Time
	// ListDecommissioned makes GET /agents include decommissioned agents
	// when isDecommissioned is not given. By default they are omitted, as
	// the console does [INFERRED]; send isDecommissioned=true,false for all.
	ListDecommissioned bool
	// MaxRequestLog bounds the request log (oldest dropped); default 100000.
	MaxRequestLog int
	// Threats and Alerts are the numbers of base threats (GET /threats) and
	// STAR alerts (GET /cloud-detection/alerts); default 0. Each is tied to
	// a base agent. Their createdAt is spread uniformly over
	// [Now-ThreatSpan, Now) at construction, increasing with the ID.
	Threats, Alerts int
	// ThreatSpan defaults to 30 days.
	ThreatSpan time.Duration
	// Apps is the number of distinct applications in the catalogue
	// (default 0 = none, at most 65536). Each is installed on a
	// deterministic subset of the base agents (GET /application-management/inventory[/endpoints]).
	Apps int
	// CVEs is the CVE catalogue size (default 0). Each installed application
	// version maps to 0..3 CVEs; every (CVE, endpoint, application) is one
	// risk row (GET /application-management/risks, /risks/cves).
	CVEs int
	// XDRAssets serves GET /xdr/assets (one asset per live agent); when
	// false the route answers 404.
	XDRAssets bool
}

// Simulator is a fake console. All methods are safe for concurrent use.
type Simulator struct {
	opts      Options
	now       func() time.Time
	seed      uint64
	cursorKey []byte
	scope     *scopeModel
	agents    *agentStore
	threats   *threatStore
	alerts    *alertStore
	vuln      *vulnModel
	risks     *riskStore
	routes    map[string]*route

	tokMu  sync.RWMutex
	tokens map[string]Token

	faultMu sync.Mutex
	faults  Faults
	rng     *rand.Rand

	limits *rateLimiter
	log    *requestLog

	srvMu sync.Mutex
	caPEM []byte
}

// New builds a simulator. Construction is O(accounts·sites·groups); agents
// are never materialized.
func New(opts Options) *Simulator {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	opts.Accounts = defaultInt(opts.Accounts, 1)
	opts.SitesPerAccount = defaultInt(opts.SitesPerAccount, 2)
	opts.GroupsPerSite = defaultInt(opts.GroupsPerSite, 2)
	switch {
	case opts.Agents == 0:
		opts.Agents = 2000
	case opts.Agents < 0:
		opts.Agents = 0
	}
	opts.Threats, opts.Alerts = max(opts.Threats, 0), max(opts.Alerts, 0)
	if opts.ThreatSpan <= 0 {
		opts.ThreatSpan = 30 * 24 * time.Hour
	}
	if opts.MaxRequestLog <= 0 {
		opts.MaxRequestLog = 100_000
	}
	now := opts.Now().UTC()
	if len(opts.Tokens) == 0 {
		opts.Tokens = []Token{{Value: DefaultToken, CreatedAt: now, ExpiresAt: now.Add(180 * 24 * time.Hour)}}
	}
	seed := uint64(opts.Seed)
	sum := sha256.Sum256(binary.LittleEndian.AppendUint64([]byte("s1sim-cursor"), seed))
	// Anchor base data to the day so restarts with the same seed agree.
	t0 := now.Truncate(24 * time.Hour).Add(-400 * 24 * time.Hour).UnixMicro()
	scope := newScopeModel(seed, opts.Accounts, opts.SitesPerAccount, opts.GroupsPerSite, t0+30*microsPerDay)
	s := &Simulator{
		opts: opts, now: opts.Now, seed: seed, cursorKey: sum[:],
		scope:  scope,
		agents: newAgentStore(seed, scope, opts.Agents, t0, !opts.ListDecommissioned),
		tokens: map[string]Token{},
		rng:    rand.New(rand.NewPCG(seed, 0x5eed)),
		limits: newRateLimiter(opts.EnforceRateLimits, opts.RetryAfter),
		log:    &requestLog{max: opts.MaxRequestLog},
	}
	// Threats and alerts reference base agents; with none, a hidden
	// 100-agent population supplies their endpoint identities.
	idents := s.agents
	if idents.base == 0 {
		idents = newAgentStore(seed, scope, 100, t0, false)
	}
	nowUS, span := now.UnixMicro(), opts.ThreatSpan.Microseconds()
	s.threats = &threatStore{evStore: newEvStore(seed, "threat", opts.Threats, nowUS, span, 1_300_000_000_000_000_000), agents: idents, scope: scope}
	s.alerts = &alertStore{evStore: newEvStore(seed, "alert", opts.Alerts, nowUS, span, 1_500_000_000_000_000_000), agents: idents, scope: scope}
	s.vuln = newVulnModel(seed, s.agents, opts.Apps, opts.CVEs, nowUS)
	s.risks = newRiskStore(seed, s.vuln, nowUS)
	for _, t := range opts.Tokens {
		s.AddToken(t)
	}
	s.routes = s.buildRoutes()
	return s
}

func defaultInt(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// nowMicros is the clock truncated to microseconds.
func (s *Simulator) nowMicros() int64 { return s.now().UnixMicro() }

// ChangeAgents changes n random live agents: updatedAt becomes Now() and
// the content changes (agentVersion, lastActiveDate, networkStatus). It
// returns the affected IDs.
func (s *Simulator) ChangeAgents(n int) []string { return s.agents.change(n, s.nowMicros()) }

// AddAgents registers n new agents created (and updated) at Now().
func (s *Simulator) AddAgents(n int) []string { return s.agents.add(n, s.nowMicros()) }

// RemoveAgents deletes n random live agents.
func (s *Simulator) RemoveAgents(n int) []string { return s.agents.remove(n) }

// AgentCount returns the number of live agents (decommissioned included).
func (s *Simulator) AgentCount() int { return s.agents.liveCount() }

// Truth returns the current records of a stream: ID → hex sha256 of the
// exact JSON bytes the API returns for it now. Streams: "agents" (all live
// agents, decommissioned included), "threats" (keyed by id), "alerts"
// (keyed by alertInfo.alertId), "vulnerabilities" (risk rows keyed by id,
// Removed rows included, i.e. what includeRemovals=true returns),
// "vulnerabilities_detected" (the same without Removed rows, i.e. the
// default listing), "applications" (/inventory/endpoints rows keyed by
// endpointId + "|" + applicationName + "|" + version) and "xdr_assets"
// (keyed by asset id; nil unless Options.XDRAssets). Unknown streams
// return nil. It renders every record, so use it on test-sized tenants.
func (s *Simulator) Truth(stream string) map[string]string {
	switch stream {
	case "vulnerabilities":
		return s.risks.truthRows(false)
	case "vulnerabilities_detected":
		return s.risks.truthRows(true)
	case "applications":
		return s.vuln.applicationsTruth()
	case "xdr_assets":
		if !s.opts.XDRAssets {
			return nil
		}
		return s.agents.xdrTruth()
	case "agents":
		return s.agents.truth()
	case "threats":
		return s.threats.truth(s.threats.render)
	case "alerts":
		return s.alerts.truth(s.alerts.render)
	}
	return nil
}

// AddThreats adds n unresolved threats created (and updated) at Now().
func (s *Simulator) AddThreats(n int) []string { return s.threats.add(n, s.nowMicros()) }

// ResolveThreats resolves n threats (unresolved ones first): incidentStatus
// resolved, mitigationStatus mitigated, analystVerdict true_positive, and
// threatInfo.updatedAt becomes Now(). It returns the affected IDs.
func (s *Simulator) ResolveThreats(n int) []string {
	return s.threats.mutate(n, s.nowMicros(), func(a threatAttrs) bool { return a.incident != 2 },
		func(st *evState, _ threatAttrs) { st.incident, st.mitigation, st.verdict = 2, 1, 1 })
}

// ChangeThreats changes n threats: analystVerdict moves to the next value,
// confidenceLevel flips between malicious and suspicious, and
// threatInfo.updatedAt becomes Now(). It returns the affected IDs.
func (s *Simulator) ChangeThreats(n int) []string {
	return s.threats.mutate(n, s.nowMicros(), func(threatAttrs) bool { return true },
		func(st *evState, a threatAttrs) {
			st.verdict = int8((a.verdict + 1) % len(threatVerdict))
			st.confidence = int8(1 - min(a.confidence, 1)) // malicious ↔ suspicious (n/a → malicious)
		})
}

// ThreatCount returns the number of threats.
func (s *Simulator) ThreatCount() int { return s.threats.liveCount() }

// ThreatJSON returns the exact JSON the API would return for a threat ID now.
func (s *Simulator) ThreatJSON(id string) ([]byte, bool) {
	return s.threats.jsonOf(id, s.threats.render)
}

// AddAlerts adds n unresolved alerts created (and updated) at Now().
func (s *Simulator) AddAlerts(n int) []string { return s.alerts.add(n, s.nowMicros()) }

// ChangeAlertStatus sets alertInfo.incidentStatus of n alerts (preferring
// ones with another status) and bumps alertInfo.updatedAt to Now(). status
// is UNRESOLVED, IN_PROGRESS or RESOLVED in any case ("In progress" too);
// anything else panics. It returns the affected alert IDs.
func (s *Simulator) ChangeAlertStatus(n int, status string) []string {
	return s.alerts.setStatus(n, nil, status, s.nowMicros())
}

// ChangeAlertIDs is ChangeAlertStatus for the given alert IDs (unknown IDs are ignored).
func (s *Simulator) ChangeAlertIDs(ids []string, status string) {
	s.alerts.setStatus(0, append([]string{}, ids...), status, s.nowMicros())
}

// AlertCount returns the number of alerts.
func (s *Simulator) AlertCount() int { return s.alerts.liveCount() }

// AlertJSON returns the exact JSON the API would return for an alert ID now.
func (s *Simulator) AlertJSON(id string) ([]byte, bool) { return s.alerts.jsonOf(id, s.alerts.render) }

// AgentJSON returns the exact JSON the API would return for an agent ID now.
func (s *Simulator) AgentJSON(id string) ([]byte, bool) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, false
	}
	st := s.agents
	st.mu.RLock()
	defer st.mu.RUnlock()
	v, ok := st.indexOf(n)
	if !ok || !st.live(v) {
		return nil, false
	}
	return st.render(v, st.dirty[v]), true
}

// AddToken adds (or replaces) a token.
func (s *Simulator) AddToken(t Token) {
	if t.CreatedAt.IsZero() {
		t.CreatedAt = s.now()
	}
	s.tokMu.Lock()
	s.tokens[t.Value] = t
	s.tokMu.Unlock()
}

// RevokeToken makes subsequent requests with the token fail with 401.
func (s *Simulator) RevokeToken(value string) {
	s.tokMu.Lock()
	delete(s.tokens, value)
	s.tokMu.Unlock()
}

// lookupToken returns a valid (known, unexpired) token.
func (s *Simulator) lookupToken(value string) (Token, bool) {
	s.tokMu.RLock()
	t, ok := s.tokens[value]
	s.tokMu.RUnlock()
	if !ok || value == "" || (!t.ExpiresAt.IsZero() && !s.now().Before(t.ExpiresAt)) {
		return Token{}, false
	}
	return t, true
}

// ChangeRiskSeverity changes the severity of n risk rows (Detected ones
// first): one step up (CRITICAL steps down to HIGH), with baseScore /
// nvdBaseScore moved into the new band; lastScanDate and the hidden
// riskUpdatedDate become Now(). It returns the affected row IDs.
func (s *Simulator) ChangeRiskSeverity(n int) []string {
	return s.risks.changeSeverity(n, s.nowMicros())
}

// RemoveRisks sets status "Removed" on n Detected risk rows (lastScanDate
// and riskUpdatedDate become Now()). Removed rows are listed only with
// includeRemovals=true. It returns the affected row IDs.
func (s *Simulator) RemoveRisks(n int) []string { return s.risks.remove(n, s.nowMicros()) }

// AddRisks adds n risk rows detected at Now(): a catalogue CVE newly found
// on an existing installation. It returns their IDs (fewer when the tenant
// has no installations or CVEs).
func (s *Simulator) AddRisks(n int) []string { return s.risks.add(n, s.nowMicros()) }

// RiskCount returns the number of risk rows, Removed ones included.
func (s *Simulator) RiskCount() int { return s.risks.liveCount() }

// DistinctCVEs returns the CVE IDs of every risk row (Removed included),
// sorted by (year, number): exactly what /application-management/risks/cves lists.
func (s *Simulator) DistinctCVEs() []string { return s.risks.distinctCVEs() }

// DistinctApps returns the number of applications installed on at least
// one endpoint: exactly what /application-management/inventory lists.
func (s *Simulator) DistinctApps() int { return s.vuln.distinctApps() }

// RiskJSON returns the exact JSON the API would return for a risk row ID now.
func (s *Simulator) RiskJSON(id string) ([]byte, bool) {
	return s.risks.jsonOf(id, s.risks.decoder().render)
}

package simulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MatchThreats returns the IDs GET /threats would return for q across all
// pages, in the query's order. It is a test oracle computed independently
// of the HTTP path: every threat is rendered and q's filters are evaluated
// against the JSON fields (threatInfo.*, agentRealtimeInfo.*). Paging
// parameters other than sortBy/sortOrder are ignored. Renders the whole
// stream, so use it on test-sized tenants.
func (s *Simulator) MatchThreats(q url.Values) ([]string, error) {
	return matchJSON(q, threatsEndpoint.spec, threatMatchRules, s.threats.evStore, s.threats.render,
		func(sortBy string) string {
			return map[string]string{"createdAt": "threatInfo.createdAt", "updatedAt": "threatInfo.updatedAt"}[sortBy]
		}, "id")
}

// MatchAlerts is MatchThreats for GET /cloud-detection/alerts (fields
// alertInfo.*, ruleInfo.*, agentDetectionInfo.*; IDs are alertInfo.alertId).
func (s *Simulator) MatchAlerts(q url.Values) ([]string, error) {
	return matchJSON(q, alertsEndpoint.spec, alertMatchRules, s.alerts.evStore, s.alerts.render,
		func(sortBy string) string {
			switch alertSortField(sortBy) {
			case "createdAt":
				return "alertInfo.createdAt"
			case "reportedAt":
				return "alertInfo.reportedAt"
			}
			return ""
		}, "alertInfo.alertId")
}

type matchMode int

const (
	mID       matchMode = iota // JSON string ID in the ID list
	mTime                      // JSON timestamp within the range
	mIn                        // value equals one of the list (case-insensitive, "In progress" ≡ IN_PROGRESS)
	mNin                       // value equals none of the list
	mContains                  // value contains any of the list (case-insensitive)
	mResolved                  // incidentStatus == resolved ⇔ the boolean
)

type matchRule struct {
	path string
	mode matchMode
}

var threatMatchRules = map[string]matchRule{
	"ids": {"id", mID}, "accountIds": {"agentRealtimeInfo.accountId", mID}, "siteIds": {"agentRealtimeInfo.siteId", mID},
	"groupIds": {"agentRealtimeInfo.groupId", mID}, "agentIds": {"agentRealtimeInfo.agentId", mID},
	"createdAt": {"threatInfo.createdAt", mTime}, "updatedAt": {"threatInfo.updatedAt", mTime},
	"confidenceLevels": {"threatInfo.confidenceLevel", mIn}, "confidenceLevelsNin": {"threatInfo.confidenceLevel", mNin},
	"incidentStatuses": {"threatInfo.incidentStatus", mIn}, "incidentStatusesNin": {"threatInfo.incidentStatus", mNin},
	"analystVerdicts": {"threatInfo.analystVerdict", mIn}, "analystVerdictsNin": {"threatInfo.analystVerdict", mNin},
	"mitigationStatuses": {"threatInfo.mitigationStatus", mIn}, "mitigationStatusesNin": {"threatInfo.mitigationStatus", mNin},
	"classifications": {"threatInfo.classification", mIn}, "classificationsNin": {"threatInfo.classification", mNin},
	"osTypes": {"agentRealtimeInfo.agentOsType", mIn}, "osTypesNin": {"agentRealtimeInfo.agentOsType", mNin},
	"computerName__contains": {"agentRealtimeInfo.agentComputerName", mContains},
	"displayName":            {"threatInfo.threatName", mContains},
	"resolved":               {"threatInfo.incidentStatus", mResolved},
}

var alertMatchRules = map[string]matchRule{
	"ids": {"alertInfo.alertId", mID}, "accountIds": {"agentDetectionInfo.accountId", mID},
	"siteIds": {"agentDetectionInfo.siteId", mID}, "createdAt": {"alertInfo.createdAt", mTime},
	"reportedAt": {"alertInfo.reportedAt", mTime}, "incidentStatus": {"alertInfo.incidentStatus", mIn},
	"analystVerdict": {"alertInfo.analystVerdict", mIn}, "severity": {"ruleInfo.severity", mIn},
	"ruleName__contains": {"ruleInfo.name", mContains}, "osType": {"agentDetectionInfo.osFamily", mIn},
}

// jsonPath returns the string at a dotted path of a decoded JSON object.
func jsonPath(m map[string]any, path string) string {
	var cur any = m
	for p := range strings.SplitSeq(path, ".") {
		obj, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = obj[p]
	}
	s, _ := cur.(string)
	return s
}

func jsonMicros(s string) (int64, bool) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, false
	}
	return t.UnixMicro(), true
}

func matchJSON(values url.Values, spec *listSpec, rules map[string]matchRule, st *evStore, render func(int) []byte,
	sortPath func(string) string, idPath string) ([]string, error) {
	filters := url.Values{}
	sortBy, desc := spec.defaultSort, false
	for k, v := range values {
		joined := strings.Join(v, ",")
		switch {
		case joined == "":
		case k == "sortBy":
			if !slices.Contains(spec.sortable, joined) {
				return nil, fmt.Errorf("sortBy %q not supported", joined)
			}
			sortBy = joined
		case k == "sortOrder":
			desc = joined == "desc"
		case pagingParams[k]:
		default:
			filters.Set(k, joined)
		}
	}
	q := &listQuery{}
	if resp := q.parseFilters(filters, spec); resp != nil {
		return nil, errors.New(strings.TrimSpace(string(resp.body)))
	}
	type cond struct {
		rule matchRule
		name string
	}
	var conds []cond
	for name := range q.ids {
		conds = append(conds, cond{rules[name], name})
	}
	for name := range q.times {
		conds = append(conds, cond{rules[name], name})
	}
	for name := range q.strs {
		conds = append(conds, cond{rules[name], name})
	}
	for name := range q.bools {
		conds = append(conds, cond{rules[name], name})
	}
	for _, c := range conds {
		if c.rule.path == "" {
			return nil, fmt.Errorf("match: no rule for filter %s", c.name)
		}
	}
	ok := func(m map[string]any) bool {
		for _, c := range conds {
			val := jsonPath(m, c.rule.path)
			switch c.rule.mode {
			case mID:
				id, err := strconv.ParseInt(val, 10, 64)
				if err != nil || !slices.Contains(q.ids[c.name], id) {
					return false
				}
			case mTime:
				us, good := jsonMicros(val)
				if !good || !q.times[c.name].contains(us) {
					return false
				}
			case mIn, mNin:
				hit := slices.ContainsFunc(q.strs[c.name], func(x string) bool { return normEnum(x) == normEnum(val) })
				if hit != (c.rule.mode == mIn) {
					return false
				}
			case mContains:
				if !containsAny(val, q.strs[c.name]) {
					return false
				}
			case mResolved:
				if !slices.Contains(q.bools[c.name], val == "resolved") {
					return false
				}
			}
		}
		return true
	}
	type hit struct {
		id  string
		key key
	}
	var hits []hit
	st.mu.RLock()
	n := st.next
	st.mu.RUnlock()
	for v := range n {
		st.mu.RLock()
		b := render(v)
		st.mu.RUnlock()
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, err
		}
		if !ok(m) {
			continue
		}
		id := jsonPath(m, idPath)
		n, _ := strconv.ParseInt(id, 10, 64)
		k := key{n, n}
		if p := sortPath(sortBy); p != "" {
			us, _ := jsonMicros(jsonPath(m, p))
			k = key{us, n}
		}
		hits = append(hits, hit{id, k})
	}
	slices.SortFunc(hits, func(a, b hit) int {
		if desc {
			return b.key.cmp(a.key)
		}
		return a.key.cmp(b.key)
	})
	out := make([]string, len(hits))
	for i, h := range hits {
		out[i] = h.id
	}
	return out, nil
}

package simulator

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// paramKind says how a filter parameter is validated and parsed.
type paramKind int

const (
	// kindIDs is a comma-joined list of 18–19 digit IDs (≥ 1e17).
	kindIDs paramKind = iota
	// kindTime is a timestamp field accepting __gt, __gte, __lt, __lte and __between.
	kindTime
	// kindBools is a comma-joined list of booleans (true/false, any case).
	kindBools
	// kindStrings is a comma-joined list of free strings.
	kindStrings
	// kindString is one free string, not split on commas (application
	// names and vendors such as "Zoom Video Communications, Inc.").
	kindString
)

// minID is the smallest valid console ID.
const minID = 100_000_000_000_000_000

// listSpec describes one paged list endpoint.
type listSpec struct {
	path        string               // route path relative to the API prefix; binds cursors
	maxLimit    int                  // 1000, or 300 for /groups
	sortable    []string             // sortBy values the simulator implements
	defaultSort string               // effective sortBy when none is given
	filters     map[string]paramKind // supported filter parameters
	// unsupported are real console parameters the simulator does not
	// implement; they get a distinct 400 so tests notice.
	unsupported []string
	// knownSorts are real sortBy values the simulator does not implement.
	knownSorts []string
	// enums restricts kindStrings filters to known values (matched
	// case-insensitively); a value outside the set answers 400.
	enums map[string][]string
	// single lists kindIDs filters documented as taking one ID
	// (/application-management/*: "Single Account/Site/Group ID").
	single []string
	// required lists filters that must be present (after cursor restore).
	required []string
}

// listQuery is a validated list request.
type listQuery struct {
	limit     int
	skip      int
	sortBy    string
	desc      bool
	countOnly bool
	skipCount bool
	after     *key // keyset position from the cursor, nil on the first page

	canonical string // canonical filter string (bound into cursors)
	ids       map[string][]int64
	times     map[string]timeRange
	bools     map[string][]bool
	strs      map[string][]string
}

// timeRange returns the range for a timestamp field (full if unset).
func (q *listQuery) timeRange(field string) timeRange {
	if r, ok := q.times[field]; ok {
		return r
	}
	return fullRange
}

// boolSet returns which of false/true are accepted for a boolean filter;
// ok is false when the filter is absent.
func (q *listQuery) boolSet(name string) (allowFalse, allowTrue, ok bool) {
	vs, ok := q.bools[name]
	if !ok {
		return true, true, false
	}
	return slices.Contains(vs, false), slices.Contains(vs, true), true
}

var pagingParams = map[string]bool{
	"limit": true, "cursor": true, "skip": true, "countOnly": true,
	"skipCount": true, "sortBy": true, "sortOrder": true,
}

var timeOps = map[string]bool{"gt": true, "gte": true, "lt": true, "lte": true, "between": true}

// parseBool accepts true/false in any case (Python clients send True/False).
func parseBool(s string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, fmt.Errorf("not a valid boolean")
}

// parseList validates a list request against spec. Empty parameter values
// are ignored (clients often send "cursor=" on the first page).
func (s *Simulator) parseList(values url.Values, spec *listSpec) (*listQuery, *response) {
	q := &listQuery{limit: 10, sortBy: spec.defaultSort}
	filters := url.Values{}
	var cursor, sortBy, sortOrder string
	for name, vs := range values {
		v := strings.Join(vs, ",")
		if v == "" {
			continue
		}
		if !pagingParams[name] {
			filters.Set(name, v)
			continue
		}
		switch name {
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, ptr(validationErr("limit: Not a valid integer."))
			}
			if n < 1 || n > spec.maxLimit {
				return nil, ptr(validationErr(fmt.Sprintf(
					"Limit must be greater than or equals to 1 and less than equals to %d", spec.maxLimit)))
			}
			q.limit = n
		case "skip":
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1000 {
				return nil, ptr(validationErr("skip: Must be between 0 and 1000."))
			}
			q.skip = n
		case "countOnly", "skipCount":
			b, err := parseBool(v)
			if err != nil {
				return nil, ptr(validationErr(name + ": Not a valid boolean."))
			}
			if name == "countOnly" {
				q.countOnly = b
			} else {
				q.skipCount = b
			}
		case "cursor":
			cursor = v
		case "sortBy":
			if !slices.Contains(spec.sortable, v) {
				if slices.Contains(spec.knownSorts, v) {
					return nil, ptr(validationErr("sortBy: " + v + " is not supported by the simulator (supported: " + strings.Join(spec.sortable, ", ") + ")."))
				}
				return nil, ptr(validationErr("sortBy: Must be one of: " + strings.Join(append(slices.Clone(spec.sortable), spec.knownSorts...), ", ") + "."))
			}
			sortBy = v
		case "sortOrder":
			if v != "asc" && v != "desc" {
				return nil, ptr(validationErr("sortOrder: Must be one of: asc, desc."))
			}
			sortOrder = v
		}
	}
	if sortBy != "" {
		q.sortBy = sortBy
	}
	q.desc = sortOrder == "desc"
	canonical := filters.Encode()

	if cursor != "" {
		c, ok := s.decodeCursor(cursor, spec.path)
		if !ok || (canonical != "" && canonical != c.Filters) ||
			(sortBy != "" && sortBy != c.Sort) || (sortOrder != "" && (sortOrder == "desc") != c.Desc) {
			return nil, ptr(respInvalidCursor)
		}
		if canonical == "" && c.Filters != "" {
			var err error
			if filters, err = url.ParseQuery(c.Filters); err != nil {
				return nil, ptr(respInvalidCursor)
			}
		}
		q.sortBy, q.desc, q.after = c.Sort, c.Desc, &key{v: c.V, id: c.ID}
		q.skip = 0
	}
	if err := q.parseFilters(filters, spec); err != nil {
		return nil, err
	}
	return q, nil
}

// parseFilters validates and parses filter parameters into q.
func (q *listQuery) parseFilters(filters url.Values, spec *listSpec) *response {
	q.canonical = filters.Encode()
	q.ids = map[string][]int64{}
	q.times = map[string]timeRange{}
	q.bools = map[string][]bool{}
	q.strs = map[string][]string{}
	names := make([]string, 0, len(filters))
	for n := range filters {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		v := filters.Get(name)
		if field, op, ok := strings.Cut(name, "__"); ok && timeOps[op] {
			if kind, declared := spec.filters[field]; declared && kind == kindTime {
				r := q.timeRange(field)
				if err := r.narrow(op, v); err != nil {
					return ptr(validationErr(fmt.Sprintf("%s: %v", name, err)))
				}
				q.times[field] = r
				continue
			}
		}
		kind, ok := spec.filters[name]
		if !ok || kind == kindTime {
			if slices.Contains(spec.unsupported, name) {
				return ptr(validationErr(name + ": not supported by the simulator."))
			}
			return ptr(validationErr(name + ": Unknown field."))
		}
		parts := strings.Split(v, ",")
		switch kind {
		case kindString:
			q.strs[name] = []string{strings.TrimSpace(v)}
		case kindIDs:
			if len(parts) > 1 && slices.Contains(spec.single, name) {
				return ptr(validationErr(fmt.Sprintf("%s: Only a single ID is supported.", name)))
			}
			for _, p := range parts {
				id, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
				if err != nil {
					return ptr(validationErr(fmt.Sprintf("%s: %s: Not a valid integer.", name, p)))
				}
				if id < minID {
					return ptr(validationErr(fmt.Sprintf("%s: %s: Must be greater than or equal to %d.", name, p, minID)))
				}
				q.ids[name] = append(q.ids[name], id)
			}
		case kindBools:
			for _, p := range parts {
				b, err := parseBool(p)
				if err != nil {
					return ptr(validationErr(fmt.Sprintf("%s: %s: Not a valid boolean.", name, p)))
				}
				q.bools[name] = append(q.bools[name], b)
			}
		case kindStrings:
			for i, p := range parts {
				parts[i] = strings.TrimSpace(p)
				if allowed := spec.enums[name]; allowed != nil && !slices.ContainsFunc(allowed, func(a string) bool {
					return strings.EqualFold(a, parts[i])
				}) {
					return ptr(validationErr(fmt.Sprintf("%s: %s: Must be one of: %s.", name, p, strings.Join(allowed, ", "))))
				}
			}
			q.strs[name] = parts
		}
	}
	for _, name := range spec.required {
		if _, ok := q.strs[name]; !ok {
			return ptr(validationErr(name + ": Missing data for required field."))
		}
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

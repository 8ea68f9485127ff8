package sentinelone

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/sentinelone-connector/s1conn/internal/fastjson"
)

// Page is one page of a list endpoint.
type Page struct {
	Data       []json.RawMessage // never nil after a successful List; empty when data was null/[]
	NextCursor string            // cursor for the next page; "" on the last page
	TotalItems int64             // pagination.totalItems (or totalCount); 0 when absent/null
	// Valid says every item of Data is valid JSON and valid UTF-8: the whole body passed both
	// checks (decoders may then skip checking each item again, see ocsf.Meta.ValidJSON).
	Valid bool
}

// envelope is the tolerant wire shape of every response.
type envelope struct {
	Data       json.RawMessage `json:"data"`
	Pagination json.RawMessage `json:"pagination"`
	Errors     json.RawMessage `json:"errors"`
}

type pagination struct {
	NextCursor json.RawMessage `json:"nextCursor"`
	TotalItems *FlexInt        `json:"totalItems"`
	TotalCount *FlexInt        `json:"totalCount"` // /xdr/assets per purple-mcp [INFERRED]
}

var errNotJSONObject = errors.New("response is not a JSON object")

// decodeEnvelope parses a 2xx body. err is a syntax/shape problem; apiErr is a
// real error entry carried by a 2xx response. Without err, body is valid JSON and env's
// members are slices of it.
func decodeEnvelope(body []byte) (env envelope, next string, total int64, apiErrs []errorEntry, err error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return env, "", 0, nil, errors.New("empty response body")
	}
	if trimmed[0] != '{' {
		return env, "", 0, nil, errNotJSONObject
	}
	var ok bool
	if env, ok = splitEnvelope(trimmed); !ok {
		// Not valid JSON: encoding/json says what is wrong (split.go).
		if err := fastjson.Unmarshal(trimmed, &env); err != nil {
			return env, "", 0, nil, err
		}
	}
	apiErrs = decodeErrors(env.Errors)
	pg := bytes.TrimSpace(env.Pagination)
	if len(pg) > 0 && !bytes.Equal(pg, jsonNull) {
		var p pagination
		if err := json.Unmarshal(pg, &p); err != nil {
			return env, "", 0, apiErrs, fmt.Errorf("pagination: %w", err)
		}
		next, err = decodeCursor(p.NextCursor)
		if err != nil {
			return env, "", 0, apiErrs, err
		}
		if p.TotalItems != nil {
			total = int64(*p.TotalItems)
		} else if p.TotalCount != nil {
			total = int64(*p.TotalCount)
		}
	}
	return env, next, total, apiErrs, nil
}

// decodeCursor maps null, "null", "None" and "" (any surrounding whitespace) to "".
func decodeCursor(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, jsonNull) {
		return "", nil
	}
	var s string
	if raw[0] == '"' {
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("pagination.nextCursor: %w", err)
		}
	} else if raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9') {
		s = string(raw) // tolerate a numeric cursor
	} else {
		return "", fmt.Errorf("pagination.nextCursor has unexpected JSON type: %s", truncateForError(raw))
	}
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "null") || s == "None" {
		return "", nil
	}
	return s, nil
}

// decodePage parses a list response body into a Page.
func decodePage(body []byte) (*Page, []errorEntry, error) {
	env, next, total, apiErrs, err := decodeEnvelope(body)
	if err != nil {
		return nil, apiErrs, err
	}
	p := &Page{Data: []json.RawMessage{}, NextCursor: next, TotalItems: total}
	d := bytes.TrimSpace(env.Data)
	if len(d) == 0 || bytes.Equal(d, jsonNull) {
		return p, apiErrs, nil
	}
	if d[0] != '[' {
		return nil, apiErrs, errors.New(`"data" is not an array (this endpoint returns an object: use ListObject)`)
	}
	p.Data = splitArray(d) // valid JSON (decodeEnvelope accepted body); the items share body (split.go)
	p.Valid = utf8.Valid(d)
	return p, apiErrs, nil
}

// shapeErr classifies a decode failure: syntax errors and truncation are
// retryable (proxy/connection trouble); a valid JSON of the wrong shape is not.
func (c *Client) shapeErr(method, path string, status int, body []byte, err error) error {
	retryable := !json.Valid(bytes.TrimSpace(body)) || errors.Is(err, errNotJSONObject)
	return c.decodeErr(method, path, status, body, err, retryable)
}

func errFrom2xx(method, path string, status int, errs []errorEntry, token string) error {
	e := errs[0]
	return &APIError{Status: status, Code: int(e.Code), Method: method, Path: path,
		Title: sanitize(string(e.Title), token, snippetLen), Detail: sanitize(string(e.Detail), token, snippetLen)}
}

func withDefaultLimit(path string, params url.Values) url.Values {
	q := url.Values{}
	for k, v := range params {
		q[k] = append([]string(nil), v...)
	}
	if q.Get("limit") == "" {
		limit := 1000
		if hasPathPrefix(relPath(path), "/groups") {
			limit = 300 // /groups accepts 1-300 (§3.1)
		}
		q.Set("limit", strconv.Itoa(limit))
	}
	return q
}

// List GETs one page of path (e.g. "/agents") with params; it sets limit=1000
// (300 for /groups) if absent. params is not modified. The envelope is decoded
// tolerantly: data null → empty, errors [] or [{}] on 2xx ignored, nextCursor
// null/"null"/"" → "".
func (c *Client) List(ctx context.Context, path string, params url.Values) (*Page, error) {
	q := withDefaultLimit(path, params)
	body, status, err := c.do(ctx, request{method: http.MethodGet, path: path, params: q})
	if err != nil {
		return nil, err
	}
	rp := relPath(path)
	p, apiErrs, err := decodePage(body)
	if err != nil {
		return nil, c.shapeErr(http.MethodGet, rp, status, body, err)
	}
	if len(apiErrs) > 0 {
		return nil, errFrom2xx(http.MethodGet, rp, status, apiErrs, c.token)
	}
	return p, nil
}

// ListObject is for list endpoints whose data is an object (e.g. /sites →
// {"allSites":{..},"sites":[..]}); it returns the raw data (nil when null) and
// the pagination. limit defaults as in List.
func (c *Client) ListObject(ctx context.Context, path string, params url.Values) (data json.RawMessage, nextCursor string, totalItems int64, err error) {
	q := withDefaultLimit(path, params)
	body, status, err := c.do(ctx, request{method: http.MethodGet, path: path, params: q})
	if err != nil {
		return nil, "", 0, err
	}
	rp := relPath(path)
	env, next, total, apiErrs, err := decodeEnvelope(body)
	if err != nil {
		return nil, "", 0, c.shapeErr(http.MethodGet, rp, status, body, err)
	}
	if len(apiErrs) > 0 {
		return nil, "", 0, errFrom2xx(http.MethodGet, rp, status, apiErrs, c.token)
	}
	d := bytes.TrimSpace(env.Data)
	if len(d) == 0 || bytes.Equal(d, jsonNull) {
		d = nil
	}
	return json.RawMessage(d), next, total, nil
}

// Walk iterates pages of path starting at startCursor ("" = first page). params
// are pinned: the same filters are sent on every page and only "cursor" changes
// (params must not contain "cursor"). After each page fn is called with the page;
// p.NextCursor is the cursor that fetches the NEXT page ("" = this was the last),
// so callers can checkpoint it. Walk stops when NextCursor is "", when fn
// returns an error (returned as is), on a request error, or with
// ErrRepeatedCursor (wrapped) if the console returns a cursor already seen in
// this walk; in that case fn is not called for the offending page.
func (c *Client) Walk(ctx context.Context, path string, params url.Values, startCursor string, fn func(p *Page) error) error {
	if _, ok := params["cursor"]; ok {
		return errors.New("sentinelone: Walk: params must not contain \"cursor\": pass it as startCursor")
	}
	base := withDefaultLimit(path, params)
	seen := map[string]struct{}{}
	cursor := startCursor
	if cursor != "" {
		seen[cursor] = struct{}{}
	}
	for {
		q := base
		if cursor != "" {
			q = withDefaultLimit(path, base)
			q.Set("cursor", cursor)
		}
		p, err := c.List(ctx, path, q)
		if err != nil {
			return err
		}
		if p.NextCursor != "" {
			if _, dup := seen[p.NextCursor]; dup {
				return fmt.Errorf("sentinelone: GET %s: %w", relPath(path), ErrRepeatedCursor)
			}
			seen[p.NextCursor] = struct{}{}
		}
		if err := fn(p); err != nil {
			return err
		}
		if p.NextCursor == "" {
			return nil
		}
		cursor = p.NextCursor
	}
}

// Get GETs a single-object endpoint and decodes "data" into out.
func (c *Client) Get(ctx context.Context, path string, params url.Values, out any) error {
	return c.getData(ctx, request{method: http.MethodGet, path: path, params: params}, out)
}

func (c *Client) getData(ctx context.Context, r request, out any) error {
	body, status, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	rp := relPath(r.path)
	env, _, _, apiErrs, err := decodeEnvelope(body)
	if err != nil {
		return c.shapeErr(r.method, rp, status, body, err)
	}
	if len(apiErrs) > 0 {
		return errFrom2xx(r.method, rp, status, apiErrs, c.token)
	}
	d := bytes.TrimSpace(env.Data)
	if len(d) == 0 || bytes.Equal(d, jsonNull) {
		return c.decodeErr(r.method, rp, status, body, errors.New(`response has no "data"`), false)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(d, out); err != nil {
		return c.decodeErr(r.method, rp, status, body, fmt.Errorf("data: %w", err), false)
	}
	return nil
}

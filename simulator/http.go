package simulator

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// route is one endpoint.
type route struct {
	method string
	// auth requires a valid token; perms lists permissions of which the
	// token needs any one (empty: any valid token).
	auth  bool
	perms []string
	// bearer also accepts "Authorization: Bearer <token>" (XDR, GraphQL).
	bearer  bool
	handler func(s *Simulator, r *http.Request) response
}

// buildRoutes registers every endpoint, keyed by path relative to APIPrefix.
func (s *Simulator) buildRoutes() map[string]*route {
	list := func(ep *listEndpoint) func(*Simulator, *http.Request) response {
		return func(s *Simulator, r *http.Request) response { return s.serveList(r, ep) }
	}
	routes := map[string]*route{
		"/system/status": {method: http.MethodGet, handler: func(*Simulator, *http.Request) response {
			return jsonOK(map[string]string{"health": "ok"})
		}},
		"/system/info": {method: http.MethodGet, auth: true, handler: func(*Simulator, *http.Request) response {
			return jsonOK(map[string]string{"build": "30", "version": "Z SP4", "release": "Z", "patch": "4", "latestAgentVersion": "24.2.3.471"})
		}},
		"/users/api-token-details": {method: http.MethodPost, auth: true, handler: (*Simulator).tokenDetails},
		"/accounts":                {method: http.MethodGet, auth: true, perms: []string{"Accounts.view"}, handler: list(accountsEndpoint)},
		"/sites":                   {method: http.MethodGet, auth: true, perms: []string{"Sites.view"}, handler: list(sitesEndpoint)},
		"/groups":                  {method: http.MethodGet, auth: true, perms: []string{"Groups.view", "Endpoints.view"}, handler: list(groupsEndpoint)},
		"/agents":                  {method: http.MethodGet, auth: true, perms: []string{"Endpoints.view"}, handler: list(agentsEndpoint)},
		"/threats":                 {method: http.MethodGet, auth: true, perms: []string{"Threats.view"}, handler: list(threatsEndpoint)},
		"/cloud-detection/alerts":  {method: http.MethodGet, auth: true, perms: []string{"Custom Alerts.view"}, handler: list(alertsEndpoint)},
		"/application-management/risks": {method: http.MethodGet, auth: true, perms: []string{"Applications Page.viewRisks"},
			handler: list(risksEndpoint)},
		"/application-management/risks/cves": {method: http.MethodGet, auth: true, perms: []string{"Applications Page.viewRisks"},
			handler: list(riskCVEsEndpoint)},
		"/application-management/inventory": {method: http.MethodGet, auth: true, perms: []string{"Applications Page.view"},
			handler: list(inventoryEndpoint)},
		"/application-management/inventory/endpoints": {method: http.MethodGet, auth: true, perms: []string{"Applications Page.view"},
			handler: list(inventoryEndpointsEndpoint)},
	}
	if s.opts.XDRAssets {
		routes["/xdr/assets"] = &route{method: http.MethodGet, auth: true, bearer: true, perms: []string{"XDR Inventory.view"},
			handler: list(xdrAssetsEndpoint)}
	}
	return routes
}

// parseAuth extracts the token from "ApiToken <t>" (scheme matched
// case-insensitively, so APIToken works) or, if allowed, "Bearer <t>".
func parseAuth(h string, bearer bool) string {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return ""
	}
	if strings.EqualFold(scheme, "ApiToken") || (bearer && strings.EqualFold(scheme, "Bearer")) {
		return strings.TrimSpace(tok)
	}
	return ""
}

// ServeHTTP answers console API requests under APIPrefix. Order of checks:
// route (404/405), injected faults (latency, 5xx, 429), auth (401), rate
// limit (429), permission (403), validation (400), result.
func (s *Simulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rawTok := parseAuth(r.Header.Get("Authorization"), true)
	entry := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Token: fingerprint(rawTok), At: s.now()}
	fd := s.drawFaults()
	resp := s.handle(r, rawTok, fd)
	entry.Status = resp.status
	s.log.add(entry)
	s.write(w, resp, fd)
}

func (s *Simulator) handle(r *http.Request, rawTok string, fd faultDraw) response {
	rel, ok := strings.CutPrefix(r.URL.Path, APIPrefix)
	if !ok {
		return resp404
	}
	rt := s.routes[strings.TrimSuffix(rel, "/")]
	if rt == nil {
		return resp404
	}
	if r.Method != rt.method {
		resp := resp405
		resp.header = http.Header{"Allow": {rt.method}}
		return resp
	}
	if fd.latency > 0 {
		t := time.NewTimer(fd.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if fd.err {
		if fd.status503 {
			return resp503
		}
		return resp500
	}
	if fd.rateLimit {
		return s.tooMany()
	}
	who := "ip:" + remoteIP(r)
	var tok Token
	if rt.auth {
		tok, ok = s.lookupToken(parseAuth(r.Header.Get("Authorization"), rt.bearer))
		if !ok {
			return resp401
		}
		who = fingerprint(tok.Value)
	}
	if !s.limits.allow(who, rel, s.now()) {
		return s.tooMany()
	}
	if len(rt.perms) > 0 && len(tok.Permissions) > 0 && !slices.ContainsFunc(rt.perms, func(p string) bool {
		return slices.Contains(tok.Permissions, p)
	}) {
		return resp403
	}
	return rt.handler(s, r)
}

func (s *Simulator) tooMany() response {
	resp := rawResponse(http.StatusTooManyRequests, Body429)
	if s.limits.sendRetryAfter() {
		resp.header = http.Header{"Retry-After": {"1"}}
	}
	return resp
}

func remoteIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		host = host[:i]
	}
	return host
}

// tokenDetails serves POST /users/api-token-details.
func (s *Simulator) tokenDetails(r *http.Request) response {
	var body struct {
		Data struct {
			APIToken string `json:"apiToken"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body); err != nil || body.Data.APIToken == "" {
		return validationErr("data.apiToken: Missing data for required field.")
	}
	t, ok := s.lookupToken(body.Data.APIToken)
	if !ok {
		return validationErr("data.apiToken: Invalid API token.")
	}
	var expires *string
	if !t.ExpiresAt.IsZero() {
		expires = strp(fmtMicros(t.ExpiresAt.UnixMicro()))
	}
	return jsonOK(map[string]any{"createdAt": fmtMicros(t.CreatedAt.UnixMicro()), "expiresAt": expires})
}

// write sends resp, applying drop/truncate faults.
func (s *Simulator) write(w http.ResponseWriter, resp response, fd faultDraw) {
	h := w.Header()
	for k, v := range resp.header {
		h[k] = v
	}
	h.Set("Content-Type", "application/json")
	body := resp.body
	if fd.drop && len(body) > 1 {
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if hj, ok := w.(http.Hijacker); ok {
			if conn, buf, err := hj.Hijack(); err == nil {
				writeRawHead(buf.Writer, resp.status, h)
				buf.Write(body[:len(body)/2])
				buf.Flush()
				conn.Close()
				return
			}
		}
		// HTTP/2 or a recorder: send half, then abort the stream.
		w.WriteHeader(resp.status)
		w.Write(body[:len(body)/2])
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		if _, recorder := w.(interface{ Result() *http.Response }); recorder {
			return
		}
		panic(http.ErrAbortHandler)
	}
	if fd.trunc && resp.status == http.StatusOK && len(body) > 1 {
		body = body[:len(body)/2]
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.status)
	w.Write(body)
}

// writeRawHead writes an HTTP/1.1 status line and headers.
func writeRawHead(w *bufio.Writer, status int, h http.Header) {
	fmt.Fprintf(w, "HTTP/1.1 %d %s\r\n", status, http.StatusText(status))
	h.Set("Connection", "close")
	h.Write(w)
	w.WriteString("\r\n")
}

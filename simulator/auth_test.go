package simulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 1, Agents: 10, Now: clk.Now})
	s.AddToken(Token{Value: "short-lived", ExpiresAt: clk.Now().Add(time.Hour)})
	s.AddToken(Token{Value: "threats-only", Permissions: []string{"Threats.view"}})
	s.AddToken(Token{Value: "endpoints", Permissions: []string{"Endpoints.view"}})

	status := func(method, path, header string) (int, string) {
		req := httptest.NewRequest(method, APIPrefix+path, nil)
		if header != "" {
			req.Header.Set("Authorization", header)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	expect := func(wantCode int, wantBody, method, path, header string) {
		t.Helper()
		code, body := status(method, path, header)
		require.Equal(t, wantCode, code, body)
		if wantBody != "" {
			require.Equal(t, wantBody, body)
		}
	}

	expect(200, "{\"data\":{\"health\":\"ok\"}}\n", "GET", "/system/status", "")
	expect(401, Body401, "GET", "/system/info", "")
	expect(200, "", "GET", "/system/info", "ApiToken "+DefaultToken)
	expect(200, "", "GET", "/agents", "APIToken "+DefaultToken)
	expect(200, "", "GET", "/agents", "apitoken "+DefaultToken)
	expect(401, Body401, "GET", "/agents", "Token "+DefaultToken)
	expect(401, Body401, "GET", "/agents", "ApiToken nope")
	expect(401, Body401, "GET", "/agents", "")
	require.Len(t, Body401, 76)

	expect(200, "", "GET", "/agents", "ApiToken short-lived")
	clk.Advance(time.Hour)
	expect(401, Body401, "GET", "/agents", "ApiToken short-lived")

	expect(403, Body403, "GET", "/agents", "ApiToken threats-only")
	expect(403, Body403, "GET", "/accounts", "ApiToken endpoints")
	expect(403, Body403, "GET", "/sites", "ApiToken endpoints")
	expect(200, "", "GET", "/groups", "ApiToken endpoints")
	expect(200, "", "GET", "/system/info", "ApiToken threats-only")

	s.RevokeToken("endpoints")
	expect(401, Body401, "GET", "/agents", "ApiToken endpoints")

	code, body := status("POST", "/agents", "ApiToken "+DefaultToken)
	require.Equal(t, http.StatusMethodNotAllowed, code, body)
	code, _ = status("DELETE", "/agents", "ApiToken "+DefaultToken)
	require.Equal(t, http.StatusMethodNotAllowed, code)
	code, _ = status("GET", "/nope", "ApiToken "+DefaultToken)
	require.Equal(t, http.StatusNotFound, code)
}

func TestAPITokenDetails(t *testing.T) {
	clk := newClock()
	s := New(Options{Seed: 1, Agents: 1, Now: clk.Now})
	post := func(body string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", APIPrefix+"/users/api-token-details", strings.NewReader(body))
		req.Header.Set("Authorization", "ApiToken "+DefaultToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec
	}
	rec := post(`{"data":{"apiToken":"` + DefaultToken + `"}}`)
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var out struct {
		Data struct{ CreatedAt, ExpiresAt string } `json:"data"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	exp, err := time.Parse(time.RFC3339Nano, out.Data.ExpiresAt)
	require.NoError(t, err)
	require.WithinDuration(t, clk.Now().Add(180*24*time.Hour), exp, time.Microsecond)
	require.Len(t, out.Data.CreatedAt, len("2025-06-01T12:00:00.123456Z"))

	require.Equal(t, 400, post(`{"data":{"apiToken":"other"}}`).Code)
	require.Equal(t, 400, post(`not json`).Code)
}

func TestParseAuth(t *testing.T) {
	require.Equal(t, "abc", parseAuth("ApiToken abc", false))
	require.Equal(t, "abc", parseAuth("APITOKEN   abc ", false))
	require.Equal(t, "", parseAuth("Bearer abc", false))
	require.Equal(t, "abc", parseAuth("Bearer abc", true))
	require.Equal(t, "", parseAuth("ApiToken", false))
}

package simulator

import (
	"encoding/json"
	"net/http"
)

// Exact error bodies captured from live consoles (reference §2.2). Each ends
// with a newline like the console's Flask jsonify output (the 401 body is 75
// bytes + "\n" = the observed Content-Length of 76).
const (
	Body401 = `{"errors":[{"code":4010010,"detail":null,"title":"Authentication Failed"}]}` + "\n"
	Body403 = `{"errors":[{"code":4030010,"detail":"User does not have required permissions","title":"Insufficient permissions"}]}` + "\n"
	Body500 = `{"errors":[{"code":5000010,"detail":"Server could not process the request.","title":"Internal server error"}]}` + "\n"
	// Body503 is the Elastic mock's body (never observed live).
	Body503 = `{"errors":[{"code":5030010,"detail":"Service is temporarily unavailable.","title":"Service Unavailable"}]}` + "\n"
	// Body429 follows the <status>0010 code pattern; no live capture exists (reference §4.3).
	Body429 = `{"errors":[{"code":4290010,"detail":"Too many requests","title":"Too Many Requests"}]}` + "\n"
	// BodyInvalidCursor is the live body for a bad cursor.
	BodyInvalidCursor = `{"errors":[{"code":4000010,"detail":"Invalid cursor value received","title":"Validation JSONError"}]}` + "\n"
)

// response is what a route handler produces; ServeHTTP writes it (and may
// corrupt it when faults are configured).
type response struct {
	status int
	body   []byte
	header http.Header
}

func rawResponse(status int, body string) response {
	return response{status: status, body: []byte(body)}
}

// apiErr builds a 4xx/5xx response with the console's error envelope and
// the <status>0010 code pattern.
func apiErr(status int, title, detail string) response {
	type e struct {
		Code   int    `json:"code"`
		Detail string `json:"detail"`
		Title  string `json:"title"`
	}
	b, _ := json.Marshal(struct {
		Errors []e `json:"errors"`
	}{[]e{{Code: status*10000 + 10, Detail: detail, Title: title}}})
	return response{status: status, body: append(b, '\n')}
}

// validationErr is a 400 "Validation Error" with the given detail.
func validationErr(detail string) response {
	return apiErr(http.StatusBadRequest, "Validation Error", detail)
}

var (
	resp401           = rawResponse(http.StatusUnauthorized, Body401)
	resp403           = rawResponse(http.StatusForbidden, Body403)
	resp500           = rawResponse(http.StatusInternalServerError, Body500)
	resp503           = rawResponse(http.StatusServiceUnavailable, Body503)
	respInvalidCursor = rawResponse(http.StatusBadRequest, BodyInvalidCursor)
	resp404           = apiErr(http.StatusNotFound, "Not Found", "The requested URL was not found on the server.")
	resp405           = apiErr(http.StatusMethodNotAllowed, "Method Not Allowed", "The method is not allowed for the requested URL.")
)

// jsonOK marshals v into a 200 {"data": v} response.
func jsonOK(v any) response {
	b, err := json.Marshal(struct {
		Data any `json:"data"`
	}{v})
	if err != nil {
		return resp500
	}
	return response{status: http.StatusOK, body: append(b, '\n')}
}

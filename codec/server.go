package codec

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"go.temporal.io/sdk/converter"
)

// maxRequestBytes bounds codec-server request bodies. Temporal's default
// blob size limit is 2 MiB per payload; the UI may send several at once.
const maxRequestBytes = 32 << 20

// ServerOptions configures NewHTTPHandler.
type ServerOptions struct {
	// AllowedOrigins lists the browser origins (e.g. "http://localhost:8233")
	// allowed to call the codec server. "*" allows any origin. Requests with
	// an Origin header not in the list are rejected with 403; requests
	// without an Origin header (CLI, SDK) are not subject to CORS.
	AllowedOrigins []string
	// BearerToken, if non-empty, is required as "Authorization: Bearer <token>"
	// on /encode and /decode. CORS preflight (OPTIONS) is never authenticated,
	// because browsers do not send credentials on preflight.
	BearerToken string
}

const (
	corsAllowMethods = "POST, OPTIONS"
	corsAllowHeaders = "Content-Type, X-Namespace, Authorization"
	corsMaxAge       = "600"
)

// NewHTTPHandler returns a codec server handler for the Temporal Web UI and
// CLI (`temporal --codec-endpoint`). It serves POST <any prefix>/encode and
// <any prefix>/decode using converter.NewPayloadCodecHTTPHandler with the
// key ring's PayloadCodec, wrapped with CORS and optional bearer auth.
func NewHTTPHandler(k *KeyRing, opts ServerOptions) http.Handler {
	inner := converter.NewPayloadCodecHTTPHandler(NewPayloadCodec(k))
	h := &httpHandler{
		inner:   inner,
		origins: slices.Clone(opts.AllowedOrigins),
		anyOrig: slices.Contains(opts.AllowedOrigins, "*"),
	}
	if opts.BearerToken != "" {
		sum := sha256.Sum256([]byte(opts.BearerToken))
		h.tokenHash = sum[:]
	}
	return h
}

type httpHandler struct {
	inner     http.Handler
	origins   []string
	anyOrig   bool
	tokenHash []byte // sha256 of the bearer token; nil = no auth
}

func (h *httpHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	origin := r.Header.Get("Origin")
	if origin != "" {
		w.Header().Add("Vary", "Origin")
		if !h.originAllowed(origin) {
			http.Error(w, "origin not allowed; add it to the codec server's allowed CORS origins", http.StatusForbidden)
			return
		}
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}

	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", corsAllowMethods)
		w.Header().Set("Access-Control-Allow-Headers", corsAllowHeaders)
		w.Header().Set("Access-Control-Max-Age", corsMaxAge)
		w.WriteHeader(http.StatusNoContent)
		return
	}

	if h.tokenHash != nil && !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="codec-server"`)
		http.Error(w, http.StatusText(http.StatusUnauthorized), http.StatusUnauthorized)
		return
	}

	if r.Body != nil {
		r.Body = http.MaxBytesReader(w, r.Body, maxRequestBytes)
	}
	h.inner.ServeHTTP(w, r)
}

func (h *httpHandler) originAllowed(origin string) bool {
	return h.anyOrig || slices.Contains(h.origins, origin)
}

func (h *httpHandler) authorized(r *http.Request) bool {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	// Compare fixed-length digests so neither content nor length leaks via timing.
	sum := sha256.Sum256([]byte(strings.TrimSpace(token)))
	return subtle.ConstantTimeCompare(sum[:], h.tokenHash) == 1
}

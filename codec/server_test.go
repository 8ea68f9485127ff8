package codec_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/sentinelone-connector/s1conn/codec"
)

const uiOrigin = "http://localhost:8233"

func newCodecServer(t *testing.T, kr *codec.KeyRing, token string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(codec.NewHTTPHandler(kr, codec.ServerOptions{
		AllowedOrigins: []string{uiOrigin},
		BearerToken:    token,
	}))
	t.Cleanup(srv.Close)
	return srv
}

func plainPayloads(t *testing.T, values ...any) []*commonpb.Payload {
	t.Helper()
	ps, err := converter.GetDefaultDataConverter().ToPayloads(values...)
	require.NoError(t, err)
	return ps.GetPayloads()
}

func TestHTTPHandlerRoundTripViaRemoteCodec(t *testing.T) {
	kr := ring(t, "k1:"+newKey(t))
	srv := newCodecServer(t, kr, "")

	for _, prefix := range []string{"", "/default", "/api/v1/namespaces/sentinel"} {
		t.Run("prefix="+prefix, func(t *testing.T) {
			remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: srv.URL + prefix})
			in := plainPayloads(t, "SECRET-threat", map[string]int{"n": 1})

			enc, err := remote.Encode(in)
			require.NoError(t, err)
			require.Len(t, enc, 2)
			for _, p := range enc {
				assert.Equal(t, "binary/encrypted", string(p.GetMetadata()["encoding"]))
				assert.Equal(t, "k1", string(p.GetMetadata()["encryption-key-id"]))
				wire, _ := proto.Marshal(p)
				assert.NotContains(t, string(wire), "SECRET")
			}

			// The server's output must be decodable locally (same format as workers)...
			local, err := codec.NewPayloadCodec(kr).Decode(enc)
			require.NoError(t, err)
			// ...and vice versa.
			dec, err := remote.Decode(enc)
			require.NoError(t, err)
			for i := range in {
				assert.True(t, proto.Equal(in[i], local[i]))
				assert.True(t, proto.Equal(in[i], dec[i]))
			}
		})
	}
}

func TestHTTPHandlerDecodeWorkerPayload(t *testing.T) {
	// What the Web UI does: POST {prefix}/decode with protojson Payloads
	// produced by a worker's DataConverter.
	kr := ring(t, "k1:"+newKey(t))
	srv := newCodecServer(t, kr, "")
	p, err := codec.NewDataConverter(kr).ToPayload("decoded for the UI")
	require.NoError(t, err)
	plain := plainPayloads(t, "not encrypted")[0]
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{p, plain}})
	require.NoError(t, err)

	req, err := http.NewRequest(http.MethodPost, srv.URL+"/default/decode", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	req.Header.Set("Origin", uiOrigin)
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))

	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var out commonpb.Payloads
	require.NoError(t, protojson.Unmarshal(raw, &out))
	require.Len(t, out.GetPayloads(), 2)
	var s string
	require.NoError(t, converter.GetDefaultDataConverter().FromPayload(out.GetPayloads()[0], &s))
	assert.Equal(t, "decoded for the UI", s)
	assert.True(t, proto.Equal(plain, out.GetPayloads()[1]), "unencrypted payload passes through")
}

func TestHTTPHandlerDecodeErrors(t *testing.T) {
	kr := ring(t, "k1:"+newKey(t))
	srv := newCodecServer(t, kr, "")
	other, err := codec.NewDataConverter(ring(t, "k0:"+newKey(t))).ToPayload("x")
	require.NoError(t, err)
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: []*commonpb.Payload{other}})
	require.NoError(t, err)

	resp := post(t, srv, "/decode", body, nil)
	assert.Equal(t, http.StatusBadRequest, resp.code)
	assert.Contains(t, resp.body, "not in the key ring")

	resp = post(t, srv, "/decode", []byte("{not json"), nil)
	assert.Equal(t, http.StatusBadRequest, resp.code)

	resp = post(t, srv, "/other", body, nil)
	assert.Equal(t, http.StatusNotFound, resp.code)

	r, err := srv.Client().Get(srv.URL + "/decode")
	require.NoError(t, err)
	r.Body.Close()
	assert.Equal(t, http.StatusNotFound, r.StatusCode, "only POST is served")
}

func TestHTTPHandlerCORS(t *testing.T) {
	kr := ring(t, newKey(t))
	srv := newCodecServer(t, kr, "tok")

	t.Run("preflight from allowed origin (no auth needed)", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/default/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", uiOrigin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type,x-namespace,authorization")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		assert.Equal(t, uiOrigin, resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "true", resp.Header.Get("Access-Control-Allow-Credentials"))
		assert.Contains(t, resp.Header.Get("Access-Control-Allow-Methods"), "POST")
		allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		for _, h := range []string{"content-type", "x-namespace", "authorization"} {
			assert.Contains(t, allowed, h)
		}
		assert.Contains(t, resp.Header.Values("Vary"), "Origin")
	})

	t.Run("preflight from other origin", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodOptions, srv.URL+"/decode", nil)
		require.NoError(t, err)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	})

	t.Run("POST from other origin is rejected even with token", func(t *testing.T) {
		resp := post(t, srv, "/decode", emptyPayloads(t), map[string]string{
			"Origin": "https://evil.example", "Authorization": "Bearer tok",
		})
		assert.Equal(t, http.StatusForbidden, resp.code)
	})

	t.Run("wildcard origin", func(t *testing.T) {
		wild := httptest.NewServer(codec.NewHTTPHandler(kr, codec.ServerOptions{AllowedOrigins: []string{"*"}}))
		defer wild.Close()
		resp := post(t, wild, "/decode", emptyPayloads(t), map[string]string{"Origin": "https://any.example"})
		assert.Equal(t, http.StatusOK, resp.code)
		assert.Equal(t, "https://any.example", resp.header.Get("Access-Control-Allow-Origin"))
	})

	t.Run("no origin header (CLI) gets no CORS headers", func(t *testing.T) {
		resp := post(t, srv, "/decode", emptyPayloads(t), map[string]string{"Authorization": "Bearer tok"})
		assert.Equal(t, http.StatusOK, resp.code)
		assert.Empty(t, resp.header.Get("Access-Control-Allow-Origin"))
	})
}

func TestHTTPHandlerBearerAuth(t *testing.T) {
	kr := ring(t, newKey(t))
	srv := newCodecServer(t, kr, "s3cr3t-token")
	body := emptyPayloads(t)

	rejected := map[string]map[string]string{
		"no header":        nil,
		"wrong token":      {"Authorization": "Bearer nope"},
		"prefix of token":  {"Authorization": "Bearer s3cr3t"},
		"token + suffix":   {"Authorization": "Bearer s3cr3t-token-x"},
		"wrong scheme":     {"Authorization": "Basic s3cr3t-token"},
		"no scheme":        {"Authorization": "s3cr3t-token"},
		"empty bearer":     {"Authorization": "Bearer "},
		"allowed origin":   {"Origin": uiOrigin},
		"origin bad token": {"Origin": uiOrigin, "Authorization": "Bearer x"},
	}
	for name, hdr := range rejected {
		t.Run("rejected/"+name, func(t *testing.T) {
			for _, path := range []string{"/decode", "/ns/encode"} {
				resp := post(t, srv, path, body, hdr)
				assert.Equal(t, http.StatusUnauthorized, resp.code, path)
				assert.Contains(t, resp.header.Get("WWW-Authenticate"), "Bearer")
				assert.NotContains(t, resp.body, "s3cr3t")
			}
		})
	}

	accepted := map[string]map[string]string{
		"bearer":           {"Authorization": "Bearer s3cr3t-token"},
		"lowercase scheme": {"Authorization": "bearer s3cr3t-token"},
		"with origin":      {"Authorization": "Bearer s3cr3t-token", "Origin": uiOrigin},
	}
	for name, hdr := range accepted {
		t.Run("accepted/"+name, func(t *testing.T) {
			for _, path := range []string{"/decode", "/ns/encode"} {
				resp := post(t, srv, path, body, hdr)
				assert.Equal(t, http.StatusOK, resp.code, path)
			}
		})
	}

	t.Run("remote codec with token round-trips", func(t *testing.T) {
		remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{
			Endpoint: srv.URL + "/default",
			ModifyRequest: func(r *http.Request) error {
				r.Header.Set("Authorization", "Bearer s3cr3t-token")
				return nil
			},
		})
		in := plainPayloads(t, "hi")
		enc, err := remote.Encode(in)
		require.NoError(t, err)
		dec, err := remote.Decode(enc)
		require.NoError(t, err)
		assert.True(t, proto.Equal(in[0], dec[0]))
	})
}

type httpResult struct {
	code   int
	body   string
	header http.Header
}

func post(t *testing.T, srv *httptest.Server, path string, body []byte, hdr map[string]string) httpResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return httpResult{code: resp.StatusCode, body: string(b), header: resp.Header}
}

func emptyPayloads(t *testing.T) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{"payloads": []any{}})
	require.NoError(t, err)
	return b
}

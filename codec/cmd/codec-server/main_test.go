package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/sentinelone-connector/s1conn/codec"
)

func TestLoadConfigDefaults(t *testing.T) {
	cfg, err := loadConfig(map[string]string{"CONNECTOR_ENCRYPTION_KEY": "x"})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:8081", cfg.Addr)
	assert.Equal(t, []string{"http://localhost:8233"}, cfg.CORSOrigins)
	assert.Empty(t, cfg.AuthToken)
}

func TestLoadConfigOverrides(t *testing.T) {
	cfg, err := loadConfig(map[string]string{
		"CONNECTOR_ENCRYPTION_KEY": "x",
		"CODEC_ADDR":               ":9999",
		"CODEC_CORS_ORIGINS":       "https://a.example,,https://b.example",
		"CODEC_AUTH_TOKEN":         "tok",
	})
	require.NoError(t, err)
	assert.Equal(t, ":9999", cfg.Addr)
	assert.Equal(t, []string{"https://a.example", "https://b.example"}, cfg.CORSOrigins)
	assert.Equal(t, "tok", cfg.AuthToken)
}

func TestLoadConfigRequiresKey(t *testing.T) {
	_, err := loadConfig(map[string]string{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CONNECTOR_ENCRYPTION_KEY")
}

func TestRunRejectsBadKeyWithoutEchoingIt(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	err = run(context.Background(), config{EncryptionKey: "c2hvcnQta2V5LW1hdGVyaWFs"}, ln, zerolog.Nop())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "CONNECTOR_ENCRYPTION_KEY")
	assert.NotContains(t, err.Error(), "c2hvcnQta2V5LW1hdGVyaWFs")
}

func TestRunServesAndShutsDown(t *testing.T) {
	key, err := codec.GenerateKey()
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	done := make(chan error, 1)
	go func() {
		done <- run(ctx, config{EncryptionKey: key, CORSOrigins: []string{"http://localhost:8233"}, AuthToken: "t"}, ln, zerolog.Nop())
	}()

	// The listener is already bound, so requests queue until Serve accepts.
	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/healthz")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "ok\n", string(body))

	resp, err = http.Post(base+"/default/decode", "application/json", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	cancel()
	require.NoError(t, <-done)
}

func TestIsLoopback(t *testing.T) {
	assert.True(t, isLoopback("127.0.0.1:8081"))
	assert.True(t, isLoopback("[::1]:8081"))
	assert.True(t, isLoopback("localhost:8081"))
	assert.False(t, isLoopback("0.0.0.0:8081"))
	assert.False(t, isLoopback(":8081"))
}

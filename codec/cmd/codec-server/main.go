// Command codec-server is a standalone Temporal codec server for the
// connector's encrypted payloads, for use by the Temporal Web UI
// ("Codec Server endpoint" setting / --ui-codec-endpoint) and the CLI
// (`temporal ... --codec-endpoint http://127.0.0.1:8081`).
//
// Environment:
//
//	CONNECTOR_ENCRYPTION_KEY  required; same value as the workers (one base64 key or id1:key1,id2:key2)
//	CODEC_ADDR                listen address (default 127.0.0.1:8081)
//	CODEC_CORS_ORIGINS        comma-separated allowed browser origins (default http://localhost:8233)
//	CODEC_AUTH_TOKEN          optional bearer token required on /encode and /decode
//
// GET /healthz returns 200 without authentication. The server shuts down
// gracefully on SIGINT/SIGTERM.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/rs/zerolog"

	"github.com/sentinelone-connector/s1conn/codec"
)

const shutdownTimeout = 10 * time.Second

type config struct {
	// unset: removed from the process environment once read.
	EncryptionKey string   `env:"CONNECTOR_ENCRYPTION_KEY,required,notEmpty,unset"`
	Addr          string   `env:"CODEC_ADDR" envDefault:"127.0.0.1:8081"`
	CORSOrigins   []string `env:"CODEC_CORS_ORIGINS" envDefault:"http://localhost:8233" envSeparator:","`
	AuthToken     string   `env:"CODEC_AUTH_TOKEN,unset"`
}

func main() {
	log := zerolog.New(os.Stderr).With().Timestamp().Str("component", "codec-server").Logger()

	cfg, err := loadConfig(nil)
	if err != nil {
		log.Fatal().Err(err).Msg("invalid configuration")
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Fatal().Err(err).Str("addr", cfg.Addr).Msg("listen")
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, ln, log); err != nil {
		log.Error().Err(err).Msg("codec server failed")
		stop()
		os.Exit(1)
	}
}

// loadConfig reads the configuration from environ, or from the process
// environment when environ is nil.
func loadConfig(environ map[string]string) (config, error) {
	opts := env.Options{}
	if environ != nil {
		opts.Environment = environ
	}
	cfg, err := env.ParseAsWithOptions[config](opts)
	if err != nil {
		return config{}, err
	}
	cleaned := cfg.CORSOrigins[:0]
	for _, o := range cfg.CORSOrigins {
		if o != "" {
			cleaned = append(cleaned, o)
		}
	}
	cfg.CORSOrigins = cleaned
	return cfg, nil
}

// run serves the codec API on ln until ctx is cancelled, then shuts down
// gracefully. It returns nil after a clean shutdown.
func run(ctx context.Context, cfg config, ln net.Listener, log zerolog.Logger) error {
	keys, err := codec.ParseKeyRing(cfg.EncryptionKey)
	if err != nil {
		_ = ln.Close()
		return fmt.Errorf("CONNECTOR_ENCRYPTION_KEY: %w", err)
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.Handle("/", codec.NewHTTPHandler(keys, codec.ServerOptions{
		AllowedOrigins: cfg.CORSOrigins,
		BearerToken:    cfg.AuthToken,
	}))

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}

	addr := ln.Addr().String()
	ev := log.Info().Str("addr", addr).Str("active_key_id", keys.ActiveID()).
		Strs("key_ids", keys.IDs()).Strs("cors_origins", cfg.CORSOrigins).Bool("auth", cfg.AuthToken != "")
	ev.Msg("codec server listening")
	if cfg.AuthToken == "" && !isLoopback(addr) {
		log.Warn().Str("addr", addr).Msg("listening on a non-loopback address without CODEC_AUTH_TOKEN: anyone who can reach it can decrypt payloads")
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	log.Info().Msg("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info().Msg("stopped")
	return nil
}

func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"go.temporal.io/sdk/client"

	"github.com/sentinelone-connector/s1conn/codec"
	"github.com/sentinelone-connector/s1conn/config"
	"github.com/sentinelone-connector/s1conn/logging"
	"github.com/sentinelone-connector/s1conn/store"
	"github.com/sentinelone-connector/s1conn/tclient"
)

// env holds what commands share, opened lazily.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	jsonOut        bool

	cfg   *config.Config
	keys  *codec.KeyRing
	store *store.Store
	tc    client.Client
}

func (e *env) close() {
	if e.tc != nil {
		e.tc.Close()
	}
	if e.store != nil {
		_ = e.store.Close()
	}
}

func (e *env) config() (*config.Config, error) {
	if e.cfg != nil {
		return e.cfg, nil
	}
	cfg, err := config.Load()
	if err != nil {
		return nil, usageErr("configuration: %v", err)
	}
	e.cfg = cfg
	return cfg, nil
}

func (e *env) keyRing() (*codec.KeyRing, error) {
	if e.keys != nil {
		return e.keys, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	spec, err := cfg.EncryptionKeySpec()
	if err != nil {
		return nil, usageErr("%v", err)
	}
	k, err := codec.ParseKeyRing(spec)
	if err != nil {
		return nil, usageErr("CONNECTOR_ENCRYPTION_KEY: %v", err)
	}
	e.keys = k
	return k, nil
}

func (e *env) db() (*store.Store, error) {
	if e.store != nil {
		return e.store, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	s, err := store.Open(e.ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	e.store = s
	return s, nil
}

func (e *env) temporal() (client.Client, error) {
	if e.tc != nil {
		return e.tc, nil
	}
	cfg, err := e.config()
	if err != nil {
		return nil, err
	}
	keys, err := e.keyRing()
	if err != nil {
		return nil, err
	}
	log := logging.New(e.stderr, "warn", cfg.LogFormat)
	c, err := tclient.Dial(e.ctx, cfg, log, keys)
	if err != nil {
		return nil, err
	}
	e.tc = c
	return c, nil
}

// parseArgs parses flags anywhere among the positional arguments.
func (e *env) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	fs.BoolVar(&e.jsonOut, "json", false, "machine-readable output")
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usageErr("%v (see `starter --help`)", err)
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func (e *env) printJSON(v any) error {
	enc := json.NewEncoder(e.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

var idRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

func validateID(id string) error {
	if id == "" {
		return usageErr("missing connection ID")
	}
	if !idRe.MatchString(id) {
		return usageErr("invalid connection ID %q: use 1-63 lower-case letters, digits, '-' or '_', starting with a letter or digit", id)
	}
	return nil
}

func oneID(pos []string, cmd string) (string, error) {
	if len(pos) != 1 {
		return "", usageErr("%s takes exactly one connection ID (got %d arguments)", cmd, len(pos))
	}
	return pos[0], validateID(pos[0])
}

const maxTokenFile = 64 << 10

// readToken reads an API token from a file, "-" (stdin) or an environment variable.
func (e *env) readToken(path, envName string) (string, error) {
	var raw []byte
	switch {
	case path != "" && envName != "":
		return "", usageErr("give the token with either --token-file or --token-env, not both")
	case path == "-":
		b, err := io.ReadAll(io.LimitReader(e.stdin, maxTokenFile+1))
		if err != nil {
			return "", usageErr("reading the token from stdin: %v", err)
		}
		raw = b
	case path != "":
		f, err := os.Open(path)
		if err != nil {
			return "", usageErr("cannot read --token-file: %v", err)
		}
		defer f.Close()
		st, err := f.Stat()
		if err == nil && st.IsDir() {
			return "", usageErr("--token-file %s is a directory", path)
		}
		b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
		if err != nil {
			return "", usageErr("reading --token-file: %v", err)
		}
		raw = b
	case envName != "":
		v, ok := os.LookupEnv(envName)
		if !ok {
			return "", usageErr("--token-env %s: that environment variable is not set", envName)
		}
		raw = []byte(v)
	default:
		return "", usageErr("no API token: pass --token-file PATH (or - for stdin) or --token-env VAR; tokens are never accepted as arguments")
	}
	if len(raw) > maxTokenFile {
		return "", usageErr("the token input is larger than 64 KiB: that is not a SentinelOne API token")
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", usageErr("the token input is empty: paste the API token generated in the console (Settings > Users > Service Users)")
	}
	for _, r := range tok {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return "", usageErr("the token input holds whitespace, binary or non-ASCII characters: it must contain only the API token")
		}
	}
	if len(tok) < 20 {
		return "", usageErr("the token is only %d characters: SentinelOne API tokens are much longer; check you copied all of it", len(tok))
	}
	logging.RegisterSecret(tok)
	return tok, nil
}

// parseDuration accepts Go durations plus days ("14d") and weeks ("2w").
func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errors.New("empty duration")
	}
	for _, unit := range []struct {
		suffix string
		d      time.Duration
	}{{"d", 24 * time.Hour}, {"w", 7 * 24 * time.Hour}} {
		if strings.HasSuffix(s, unit.suffix) {
			n, err := strconv.ParseFloat(strings.TrimSuffix(s, unit.suffix), 64)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("%q is not a duration like 30d, 2w, 12h or 90m", s)
			}
			return time.Duration(n * float64(unit.d)), nil
		}
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not a duration like 30d, 2w, 12h or 90m", s)
	}
	return d, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

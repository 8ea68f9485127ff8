// Command starter is the operator CLI: it creates, tests, syncs, pauses, resumes,
// deletes and inspects connections, rotates their tokens and exports their data.
//
// Exit codes: 0 success; 1 operation failed (Temporal, database, sync failed);
// 2 bad input (flags, files, URLs) — nothing was created or changed; 3 the connection
// test failed; 4 the connection needs a new token (AuthFailed).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata"
)

// Exit codes.
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitTestFail = 3
	exitAuthFail = 4
)

// cliError carries an exit code with a one-line message.
type cliError struct {
	code int
	msg  string
}

func (e *cliError) Error() string { return e.msg }

func usageErr(format string, a ...any) error {
	return &cliError{code: exitUsage, msg: fmt.Sprintf(format, a...)}
}

const usage = `starter — operate SentinelOne connections

Usage:
  starter connection create --id ID --console-url URL --token-file PATH|- [options]
  starter connection test   --console-url URL --token-file PATH|- [options]
  starter connection list
  starter connection delete ID [--purge]
  starter connection pause ID | resume ID
  starter connection update ID [--schedule S] [--timezone TZ] [--streams ..] [--start-at T] [--end-at T]
                              [--routes-file F] [--backfill-windows N]
  starter sync ID [--streams a,b] [--full] [--backfill 30d] [--wait]
  starter rotate-token ID --token-file PATH|-
  starter status ID
  starter export ID --stream NAME [--format ocsf|raw|flat]
  starter routes replay ID --since 24h [--stream S] [--route ID]

Every command takes --json for machine-readable output. Configuration comes from the
environment (DATABASE_URL, TEMPORAL_ADDRESS, CONNECTOR_ENCRYPTION_KEY, …; see README).
Exit codes: 0 ok, 1 failed, 2 bad input (nothing changed), 3 connection test failed, 4 token rejected (AuthFailed).
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes one command; it is main without os.Exit, for tests.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	err := dispatch(ctx, args, stdin, stdout, stderr)
	if err == nil {
		return exitOK
	}
	var ce *cliError
	if errors.As(err, &ce) {
		if ce.msg != "" {
			fmt.Fprintln(stderr, "starter: "+oneLine(ce.msg))
		}
		return ce.code
	}
	fmt.Fprintln(stderr, "starter: "+oneLine(err.Error()))
	return exitFailed
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func dispatch(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return &cliError{code: exitUsage}
		}
		return nil
	}
	e := &env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	defer e.close()
	switch args[0] {
	case "connection", "connections", "conn":
		if len(args) < 2 {
			return usageErr("connection needs a subcommand: create, test, list, delete, pause, resume, update")
		}
		switch args[1] {
		case "create":
			return e.create(args[2:])
		case "test":
			return e.test(args[2:])
		case "list", "ls":
			return e.list(args[2:])
		case "delete", "rm":
			return e.delete(args[2:])
		case "pause":
			return e.signal(args[2:], "pause")
		case "resume":
			return e.signal(args[2:], "resume")
		case "update":
			return e.update(args[2:])
		}
		return usageErr("unknown connection subcommand %q: use create, test, list, delete, pause, resume or update", args[1])
	case "sync":
		return e.sync(args[1:])
	case "rotate-token":
		return e.rotate(args[1:])
	case "status":
		return e.status(args[1:])
	case "export":
		return e.export(args[1:])
	case "routes":
		return e.routes(args[1:])
	}
	return usageErr("unknown command %q: run `starter --help`", args[0])
}

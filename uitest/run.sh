#!/usr/bin/env bash
# make test-ui: a real-browser check of the Temporal Web UI.
#
# Starts the stack the way scripts/demo.sh does (Temporal dev server with its Web UI pointed at the
# codec server, the console simulator over HTTPS, the codec server allowing the UI's origin, a
# worker on SQLite), creates and syncs connection `ui-demo`, then runs uitest/ui.test.mjs in headless
# Chromium (playwright-core): the connection is listed under ConnectorState="Processed" and its
# workflow input is readable in plain text, which only happens when the UI decoded the AES-GCM
# payload through the codec server. Screenshots: docs/webui-list.png, docs/webui-connection.png.
#
# Everything started here is stopped on exit. Ports are free ones picked at start; set
# UITEST_KEEP=1 to keep the stack running after the test until Ctrl-C, UITEST_DIR to choose the
# work directory (default: a fresh temp dir, removed on success).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
UI_DIR=$ROOT/uitest
TEMPORAL=${TEMPORAL_CLI:-$ROOT/.tools/bin/temporal}
CHROMIUM=${CHROMIUM_PATH:-/usr/bin/chromium}
AGENTS=${UITEST_AGENTS:-500}

fail() { echo "test-ui: FAIL: $*" >&2; exit 1; }
step() { echo "▶ $*"; }

WORK=${UITEST_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/s1conn-uitest.XXXXXX")}
mkdir -p "$WORK"
chmod 700 "$WORK"

pids=()
cleanup() {
  local code=$?
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $code -ne 0 ]; then
    echo "test-ui: failed (exit $code); logs are in $WORK/*.log" >&2
    for f in worker codec temporal; do
      [ -s "$WORK/$f.log" ] && { echo "--- last lines of $WORK/$f.log" >&2; tail -n 15 "$WORK/$f.log" | sed 's/\x1b\[[0-9;]*m//g' >&2; }
    done
  elif [ -z "${UITEST_DIR:-}" ]; then
    rm -rf "$WORK"
  fi
  exit $code
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- prerequisites (idempotent) -------------------------------------------------------------
command -v node >/dev/null 2>&1 || fail "node is not installed (Node.js 20 or newer is needed: apt-get install -y nodejs npm)"
command -v npm >/dev/null 2>&1 || fail "npm is not installed (apt-get install -y npm)"
node_major=$(node -p 'process.versions.node.split(".")[0]')
[ "$node_major" -ge 20 ] || fail "Node.js $(node --version) is too old: playwright-core and node --test need Node.js 20 or newer"

if [ ! -x "$CHROMIUM" ]; then
  step "installing Chromium from Debian (headless browser for the UI test)"
  if [ "$(id -u)" -eq 0 ]; then
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } > "$WORK/apt.log" 2>&1 ||
      fail "apt-get install chromium failed (see $WORK/apt.log)"
  elif command -v sudo >/dev/null 2>&1; then
    { sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } > "$WORK/apt.log" 2>&1 ||
      fail "sudo apt-get install chromium failed (see $WORK/apt.log)"
  else
    fail "$CHROMIUM is missing: install Debian's chromium package as root, or set CHROMIUM_PATH"
  fi
  [ -x "$CHROMIUM" ] || fail "$CHROMIUM is still missing after installing chromium; set CHROMIUM_PATH"
fi

want=$(node -p 'require("./uitest/package.json").dependencies["playwright-core"]')
have=$(node -p 'try { require("./uitest/node_modules/playwright-core/package.json").version } catch { "" }')
if [ "$want" != "$have" ]; then
  step "installing playwright-core $want into uitest/node_modules (npm ci)"
  (cd "$UI_DIR" && npm ci --no-audit --no-fund --loglevel=error) > "$WORK/npm.log" 2>&1 ||
    fail "npm ci in uitest/ failed (see $WORK/npm.log)"
fi

if [ ! -x "$TEMPORAL" ] && [ -z "${TEMPORAL_CLI:-}" ] && command -v temporal >/dev/null 2>&1; then
  TEMPORAL=$(command -v temporal)
fi
[ -x "$TEMPORAL" ] || fail "the Temporal CLI is missing at $TEMPORAL: run 'make tools' (or set TEMPORAL_CLI)"

step "building the binaries (make build)"
make --no-print-directory build > "$WORK/build.log" 2>&1 || { cat "$WORK/build.log" >&2; fail "make build failed"; }

# ---- free ports -----------------------------------------------------------------------------
# Ask the kernel for five distinct free ports (the dev server's HTTP API and metrics ports are
# picked by the server itself).
read -r TPORT UIPORT SIMPORT CODECPORT METRICSPORT < <(node -e '
  const net = require("net");
  (async () => {
    const servers = [], ports = [];
    for (let i = 0; i < 5; i++) {
      const s = net.createServer();
      await new Promise((ok, ko) => { s.once("error", ko); s.listen(0, "127.0.0.1", ok); });
      servers.push(s); ports.push(s.address().port);
    }
    for (const s of servers) s.close();
    console.log(ports.join(" "));
  })().catch((e) => { console.error(e); process.exit(1); });
') || fail "could not find free TCP ports"
[ -n "${METRICSPORT:-}" ] || fail "could not find free TCP ports"

wait_port() { # host port name pid
  for _ in $(seq 1 240); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    kill -0 "$4" 2>/dev/null || fail "$3 exited during start-up (see $WORK/*.log)"
    sleep 0.5
  done
  fail "$3 did not start on $1:$2 within 120s (see $WORK/*.log)"
}
wait_http() { # url name pid
  for _ in $(seq 1 240); do
    if node -e 'fetch(process.argv[1]).then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$1" 2>/dev/null; then return 0; fi
    kill -0 "$3" 2>/dev/null || fail "$2 exited during start-up (see $WORK/*.log)"
    sleep 0.5
  done
  fail "$2 did not answer $1 within 120s (see $WORK/*.log)"
}

# ---- the stack (as scripts/demo.sh) ---------------------------------------------------------
head -c 32 /dev/urandom | base64 > "$WORK/encryption.key"
chmod 600 "$WORK/encryption.key"
export CONNECTOR_ENCRYPTION_KEY_FILE=$WORK/encryption.key
unset CONNECTOR_ENCRYPTION_KEY
export DATABASE_URL=sqlite://$WORK/connector.db
export TEMPORAL_ADDRESS=127.0.0.1:$TPORT
export TEMPORAL_NAMESPACE=default
export LOG_FORMAT=console
UI_ORIGIN=http://127.0.0.1:$UIPORT
CODEC_URL=http://127.0.0.1:$CODECPORT

step "starting the Temporal dev server (gRPC :$TPORT, Web UI :$UIPORT, codec endpoint $CODEC_URL)"
"$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TPORT" --ui-port "$UIPORT" \
  --db-filename "$WORK/temporal.db" --log-level error \
  --ui-codec-endpoint "$CODEC_URL" \
  --search-attribute ConnectorState=Keyword --search-attribute ConnectionID=Keyword \
  --search-attribute LastSyncStatus=Keyword --search-attribute TokenExpiresAt=Datetime \
  > "$WORK/temporal.log" 2>&1 &
tpid=$!
pids+=($tpid)

step "starting the SentinelOne console simulator (HTTPS :$SIMPORT, $AGENTS agents)"
bin/s1sim -addr "127.0.0.1:$SIMPORT" -tls -ca-out "$WORK/console-ca.pem" -agents "$AGENTS" \
  -token-file "$WORK/api-token" > "$WORK/simulator.log" 2>&1 &
spid=$!
pids+=($spid)

step "starting the codec server ($CODEC_URL, CORS origins $UI_ORIGIN and http://localhost:$UIPORT)"
CODEC_ADDR=127.0.0.1:$CODECPORT CODEC_CORS_ORIGINS=$UI_ORIGIN,http://localhost:$UIPORT \
  CONNECTOR_ENCRYPTION_KEY=$(cat "$WORK/encryption.key") bin/codec-server > "$WORK/codec.log" 2>&1 &
cpid=$!
pids+=($cpid)

wait_port 127.0.0.1 "$TPORT" "the Temporal dev server" "$tpid"
wait_http "$UI_ORIGIN/" "the Temporal Web UI" "$tpid"
wait_http "$CODEC_URL/healthz" "the codec server" "$cpid"
wait_port 127.0.0.1 "$SIMPORT" "the simulator" "$spid"
for _ in $(seq 1 60); do [ -s "$WORK/api-token" ] && [ -s "$WORK/console-ca.pem" ] && break; sleep 0.5; done
[ -s "$WORK/api-token" ] || fail "the simulator did not write its API token"

step "starting the worker (SQLite store $WORK/connector.db)"
METRICS_ADDR=127.0.0.1:$METRICSPORT bin/worker > "$WORK/worker.log" 2>&1 &
wpid=$!
pids+=($wpid)
wait_port 127.0.0.1 "$METRICSPORT" "the worker" "$wpid"

step "creating connection 'ui-demo' (runs the five connection checks first)"
bin/starter connection create --id ui-demo --name "UI test console" \
  --console-url "https://127.0.0.1:$SIMPORT" --token-file "$WORK/api-token" --ca-file "$WORK/console-ca.pem" \
  --schedule 1h || fail "bin/starter connection create ui-demo failed"

step "syncing 'ui-demo' (bin/starter sync ui-demo --wait)"
bin/starter sync ui-demo --wait || fail "bin/starter sync ui-demo --wait failed"

# ---- the browser test -----------------------------------------------------------------------
mkdir -p "$ROOT/docs"
step "checking the Web UI in headless Chromium (node --test uitest/ui.test.mjs)"
UI_URL=$UI_ORIGIN CODEC_URL=$CODEC_URL CHROMIUM_PATH=$CHROMIUM UI_PROFILE_DIR=$WORK/chromium-profile \
  UI_SCREENSHOT_DIR=$ROOT/docs UI_CONNECTION_ID=ui-demo \
  node --test --test-reporter=spec "$UI_DIR/ui.test.mjs" || fail "the Web UI check failed (see the test output above)"

echo "test-ui: OK — connection:ui-demo is listed under ConnectorState=\"Processed\" and its payloads are decoded by the codec server"
echo "screenshots: docs/webui-list.png, docs/webui-connection.png"
if [ "${UITEST_KEEP:-}" = 1 ]; then
  echo "Keeping the stack running (Web UI $UI_ORIGIN, codec $CODEC_URL, work dir $WORK); press Ctrl-C to stop."
  trap 'exit 0' INT TERM
  wait
fi

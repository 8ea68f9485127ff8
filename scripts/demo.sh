#!/usr/bin/env bash
# make demo: run the whole product on this machine with nothing but Go.
# Temporal dev server + SentinelOne console simulator (HTTPS) + codec server + worker on
# the embedded SQLite store; creates a connection, syncs every stream with live progress,
# prints a summary, then stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=${DEMO_DIR:-$ROOT/.demo}
AGENTS=${DEMO_AGENTS:-2500}
TPORT=${DEMO_TEMPORAL_PORT:-7233}
UIPORT=${DEMO_UI_PORT:-8233}
SIMPORT=${DEMO_SIM_PORT:-8443}
CODECPORT=${DEMO_CODEC_PORT:-8081}
METRICSPORT=${DEMO_METRICS_PORT:-9464}
TEMPORAL=${TEMPORAL_CLI:-$ROOT/.tools/bin/temporal}

rm -rf "$DEMO"
mkdir -p "$DEMO"
chmod 700 "$DEMO"
pids=()
cleanup() {
  local code=$?
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $code -ne 0 ]; then
    echo "demo failed (exit $code); logs are in $DEMO/*.log" >&2
    tail -n 20 "$DEMO"/worker.log >&2 || true
  fi
  exit $code
}
trap cleanup EXIT INT TERM

wait_port() { # host port name
  for _ in $(seq 1 120); do
    if (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; then return 0; fi
    sleep 0.5
  done
  echo "$3 did not start on $1:$2 (see $DEMO/*.log)" >&2
  return 1
}
for p in $TPORT $UIPORT $SIMPORT $CODECPORT $METRICSPORT; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
    echo "port $p is already in use: stop what uses it or set DEMO_*_PORT (see scripts/demo.sh)" >&2; exit 1
  fi
done

head -c 32 /dev/urandom | base64 > "$DEMO/encryption.key"
chmod 600 "$DEMO/encryption.key"
export CONNECTOR_ENCRYPTION_KEY_FILE=$DEMO/encryption.key
export DATABASE_URL=sqlite://$DEMO/connector.db
export TEMPORAL_ADDRESS=127.0.0.1:$TPORT
export LOG_FORMAT=${LOG_FORMAT:-console}

echo "▶ starting the Temporal dev server (gRPC :$TPORT, Web UI :$UIPORT, codec :$CODECPORT)"
"$TEMPORAL" server start-dev --ip 127.0.0.1 --port "$TPORT" --ui-port "$UIPORT" \
  --db-filename "$DEMO/temporal.db" --log-level error \
  --ui-codec-endpoint "http://127.0.0.1:$CODECPORT" \
  --search-attribute ConnectorState=Keyword --search-attribute ConnectionID=Keyword \
  --search-attribute LastSyncStatus=Keyword --search-attribute TokenExpiresAt=Datetime \
  > "$DEMO/temporal.log" 2>&1 &
pids+=($!)

echo "▶ starting the SentinelOne console simulator (HTTPS :$SIMPORT, $AGENTS agents)"
bin/s1sim -addr "127.0.0.1:$SIMPORT" -tls -ca-out "$DEMO/console-ca.pem" -agents "$AGENTS" \
  -threats "${DEMO_THREATS:-3000}" -alerts "${DEMO_ALERTS:-1500}" -apps "${DEMO_APPS:-40}" -cves "${DEMO_CVES:-400}" -xdr \
  -token-file "$DEMO/api-token" > "$DEMO/simulator.log" 2>&1 &
pids+=($!)

echo "▶ starting the codec server (decrypts payloads for the Web UI)"
CODEC_ADDR=127.0.0.1:$CODECPORT CODEC_CORS_ORIGINS=http://127.0.0.1:$UIPORT,http://localhost:$UIPORT \
  CONNECTOR_ENCRYPTION_KEY=$(cat "$DEMO/encryption.key") bin/codec-server > "$DEMO/codec.log" 2>&1 &
pids+=($!)

wait_port 127.0.0.1 "$TPORT" "Temporal"
wait_port 127.0.0.1 "$SIMPORT" "the simulator"
for _ in $(seq 1 60); do [ -s "$DEMO/api-token" ] && [ -s "$DEMO/console-ca.pem" ] && break; sleep 0.5; done

echo "▶ starting the worker (SQLite store $DEMO/connector.db, metrics :$METRICSPORT)"
METRICS_ADDR=127.0.0.1:$METRICSPORT bin/worker > "$DEMO/worker.log" 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$METRICSPORT" "the worker"

echo "▶ creating connection 'demo' (runs the five connection checks first)"
bin/starter connection create --id demo --name "Demo console" \
  --console-url "https://127.0.0.1:$SIMPORT" --token-file "$DEMO/api-token" --ca-file "$DEMO/console-ca.pem" \
  --schedule 1h

echo "▶ syncing every stream (live progress)"
bin/starter sync demo --wait

echo
echo "▶ status"
bin/starter status demo
echo
echo "▶ exported as OCSF NDJSON (bin/starter export demo --stream NAME --format ocsf|raw|flat):"
summary=""
for s in agents xdr_assets applications vulnerabilities threats alerts; do
  n=$(bin/starter export demo --stream "$s" --format ocsf | wc -l)
  printf '   %-16s %8d\n' "$s" "$n"
  summary="$summary $s=$n"
done
echo
echo "Summary:$summary — mirrored from a simulated $AGENTS-agent console into $DEMO/connector.db."
echo "While it runs, the Web UI is http://127.0.0.1:$UIPORT (filter: ConnectorState=\"Processed\"),"
echo "with payloads decoded by the codec server at http://127.0.0.1:$CODECPORT."
echo "Run DEMO_KEEP=1 make demo to keep everything running until Ctrl-C."
if [ "${DEMO_KEEP:-}" = 1 ]; then
  echo "Keeping the demo running; press Ctrl-C to stop."
  wait
fi
echo "▶ stopping"

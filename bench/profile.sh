#!/usr/bin/env bash
# One fan-out scenario against Realtime on the memory engine, optionally under perf: the command behind the
# "Second round" figures of docs/benchmarks.md. Same settings and pinning as bench/run.sh (server on core 0,
# generator on core 1); builds nothing, so run `bench/run.sh --quick` (or dotnet build -c Release) first.
#
#   bench/profile.sh 1000            # channels of 1,000, quick steps
#   bench/profile.sh 100 --perf      # and a 15 s CPU profile of the server's core (core 0: the server, PostgreSQL
#                                    # with --postgres, and the kernel's work there), 22 s in, after the warm-up.
#                                    # (`perf record -p <pid>` on this kernel woke millions of times, took 2 cores and
#                                    # kept ~100 samples; the whole core records cleanly.)
#   bench/profile.sh 1 --rates 10000,20000,40000   # fixed delivery rates, 5 s each, instead of the capacity
#                                    # search: compares two builds by server CPU per million deliveries
#   bench/profile.sh idle            # 10,000 idle sockets instead: memory per connection
#   bench/profile.sh 1 --kestrel --rates 60000   # the same against the bare Kestrel broadcaster
#   bench/profile.sh 1 --postgres --rates 1000,2000   # Realtime on the postgres engine, with a private PostgreSQL
#                                    # (initdb under artifacts/profile/pg, on core 0 with the server; its CPU counts;
#                                    # PG_OPTIONS="-c log_min_duration_statement=50" adds server settings)
# Server settings pass through the environment, e.g. Realtime__DirectUpgrade=false bench/profile.sh idle.
#
# Output: the generator's step table; with --perf, artifacts/profile/perf.data, read with
#   perf report -i artifacts/profile/perf.data --no-children --sort symbol -g none
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FANOUT=${1:?usage: bench/profile.sh CHANNEL_SIZE|idle [--perf] [--rates R1,R2,...]}
shift
PERF=0; RATES=(); KESTREL=0; POSTGRES=0; EXTRA_ARGS=()
while [[ $# -gt 0 ]]; do
  case $1 in
    --perf) PERF=1 ;;
    --rates) RATES=(--rates "$2"); shift ;;
    --kestrel) KESTREL=1 ;;
    --postgres) POSTGRES=1 ;;
    --no-warm-up) EXTRA_ARGS+=(--no-warm-up) ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
SCENARIO=(--fanout "$FANOUT"); [[ $FANOUT == idle ]] && SCENARIO=(--idle 10000)
OUT=$ROOT/artifacts/profile; mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
exec 9>/tmp/realtime-heavy.lock; flock 9

# PerfMapEnabled names JIT-compiled frames for perf; W^X off lets perf read them.
PERF_ENV=(DOTNET_PerfMapEnabled=$PERF DOTNET_EnableWriteXorExecute=$((1 - PERF)))
if [[ $KESTREL -eq 1 ]]; then
  taskset -c 0 env "${PERF_ENV[@]}" ASPNETCORE_URLS=http://127.0.0.1:5301 \
    dotnet "$ROOT/bench/peers/KestrelBroadcast/bin/Release/net10.0/KestrelBroadcast.dll" >"$OUT/server.log" 2>&1 &
  SYSTEM=(--system kestrel --label "Bare Kestrel broadcaster" --protocol simple); READY=/metrics
else
  ENGINE=(Realtime__Engine=memory); EXTRA=()
  if [[ $POSTGRES -eq 1 ]]; then
    PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
    [[ -n $PG_BIN ]] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
    as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
    PG=$OUT/pg; rm -rf "$PG"; mkdir -p "$PG"; [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$PG"
    as_postgres "$PG_BIN/initdb" -D "$PG/db" -U postgres --auth=trust -E UTF8 >"$PG/initdb.log" 2>&1
    taskset -c 0 runuser -u postgres -- "$PG_BIN/pg_ctl" -D "$PG/db" -l "$PG/log" -w -t 60 \
      -o "-p 5391 -k $PG -c listen_addresses=127.0.0.1 -c max_connections=200 ${PG_OPTIONS:-}" start >/dev/null
    as_postgres "$PG_BIN/psql" -h 127.0.0.1 -p 5391 -U postgres -qc "create database profile" >/dev/null
    ENGINE=(Realtime__Engine=postgres "Realtime__Postgres__ConnectionString=Host=127.0.0.1;Port=5391;Username=postgres;Database=profile")
    EXTRA=(--pid-tree "$(head -1 "$PG/db/postmaster.pid")")
  fi
  (cd "$ROOT/src/Api/bin/Release/net10.0" && exec taskset -c 0 env "${PERF_ENV[@]}" \
    ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS=http://127.0.0.1:5301 Realtime__NodeId=profile "${ENGINE[@]}" \
    Realtime__Auth__JwtSecret="$SECRET" Realtime__Limits__CommandsPerSecond=1000000 Realtime__Limits__CommandBurst=1000000 \
    Realtime__Namespaces__bench__Presence=false Realtime__Namespaces__bench__JoinLeave=false \
    Logging__LogLevel__Default=Warning dotnet Realtime.Api.dll) >"$OUT/server.log" 2>&1 &
  SYSTEM=(--system realtime-memory --label "Realtime (memory)" --protocol realtime); READY=/health/ready
fi
pid=$!
stop_postgres() { [[ -d ${PG:-}/db ]] && as_postgres "$PG_BIN/pg_ctl" -D "$PG/db" -m fast -w stop >/dev/null 2>&1 || true; }
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; stop_postgres' EXIT
for _ in $(seq 1 150); do curl -fsS -m 1 -o /dev/null http://127.0.0.1:5301$READY 2>/dev/null && break; sleep 0.2; done
if [[ $PERF -eq 1 ]]; then
  (sleep "${PERF_AT:-22}"; perf record -F 499 -g -C 0 -o "$OUT/perf.data" -- sleep "${PERF_FOR:-15}" >"$OUT/perf.log" 2>&1) &
  recorder=$!
fi
DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 taskset -c 1 dotnet "$ROOT/bench/LoadGen/bin/Release/net10.0/LoadGen.dll" run \
  "${SYSTEM[@]}" --url ws://127.0.0.1:5301 --server-pid "$pid" \
  --heap-url http://127.0.0.1:5301/metrics --jwt-secret "$SECRET" --quick "${SCENARIO[@]}" "${RATES[@]}" ${EXTRA[@]+"${EXTRA[@]}"} ${EXTRA_ARGS[@]+"${EXTRA_ARGS[@]}"} --out "$OUT/result.json"
[[ $PERF -eq 1 ]] && wait "$recorder"
exit 0

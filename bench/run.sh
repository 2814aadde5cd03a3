#!/usr/bin/env bash
# Benchmarks Realtime side by side with the peers users would pick instead, in one run, and writes the
# results into docs/benchmarks.md (between its results markers).
#
#   bench/run.sh            full run: 10k and 50k idle sockets, 5 s steps, 10 s latency runs (~30 min)
#   bench/run.sh --quick    under 10 minutes: 10k idle sockets only, 1.25 s steps, 1.5 s latency runs
#
# Options:
#   --only a,b       run only these systems: realtime-memory, realtime-postgres, kestrel, signalr, node-ws, realtime-2nodes,
#                    realtime-cluster, signalr-2nodes, realtime-formats
#   --clean          rebuild everything from scratch (dotnet build --no-incremental, npm ci)
#   --no-build       use what was built last time
#   --out FILE       write the report here instead of docs/benchmarks.md
#
# Systems: Realtime on the memory engine; Realtime on the postgres engine (a private PostgreSQL started here);
# bench/peers/KestrelBroadcast, bench/peers/SignalRGroups and bench/peers/node-ws; and two Realtime nodes on
# one PostgreSQL; a Realtime cluster of two silos (src/Silo) and two front ends (src/Api as Orleans clients) on one
# PostgreSQL, and SignalR on two nodes with its Redis backplane (a private redis-server started here); and Realtime with
# compression on: idle sockets that agreed to permessage-deflate, and bench/FormatProbe's
# bytes and CPU per delivery for JSON, MessagePack and each with deflate (channels of 100). Each server runs on core 0 (taskset -c 0; PostgreSQL too, it is part of the server side)
# and the generator (bench/LoadGen) on core 1. The whole run holds /tmp/realtime-heavy.lock, so it never
# overlaps another heavy run (test suites, soak runs) that takes the same lock. Ports 5301-5322 and 5391-5392.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [[ -z ${REALTIME_BENCH_LOCKED:-} ]]; then
  export REALTIME_BENCH_LOCKED=1 REALTIME_BENCH_COMMAND="bench/run.sh${*:+ $*}"
  echo "bench: waiting for /tmp/realtime-heavy.lock"
  exec flock /tmp/realtime-heavy.lock "$0" "$@"
fi

QUICK=0 BUILD=1 CLEAN=() ONLY="" OUT=$ROOT/docs/benchmarks.md
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) QUICK=1; shift ;;
    --clean) CLEAN=(--no-incremental); shift ;;
    --no-build) BUILD=0; shift ;;
    --only) ONLY=${2:?--only needs a list}; shift 2 ;;
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

say() { echo "bench: $*"; }
die() { echo "bench: $*" >&2; exit 1; }
wanted() { [[ -z $ONLY || ,$ONLY, == *,$1,* ]]; }
[[ $(nproc) -ge 2 ]] || die "needs two cores (server on core 0, generator on core 1)"

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
RESULTS=$ROOT/artifacts/bench/$STAMP
mkdir -p "$RESULTS"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SECRET=$(head -c 32 /dev/urandom | base64 | tr -d '/+=' | head -c 40)
PG_PORT=5391
PIDS=()
NOTES=()

# Sockets: each idle socket costs a descriptor on both sides. Raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
FD_LIMIT=$(ulimit -n)
IDLE=10000
if [[ $QUICK -eq 0 ]]; then
  if (( FD_LIMIT >= 52000 )); then
    IDLE=10000,50000
  else
    NOTES+=("50,000 idle sockets were not run: the open-file limit here is $FD_LIMIT (hard limit; raising it needs CAP_SYS_RESOURCE), below the 50,000 descriptors the server alone would need")
  fi
else
  NOTES+=("quick run: 10,000 idle sockets only (the full run adds 50,000 where the open-file limit allows), 1.25 s rate steps, 1.5 s latency runs")
fi

cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -d $RESULTS/pg/db ]]; then as_postgres "$(pg_bin)/pg_ctl" -D "$RESULTS/pg/db" -m fast -w stop >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
as_postgres() { if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_http() { # url: until it answers, at most 60 s
  local i
  for i in $(seq 1 300); do curl -fsS -m 1 -o /dev/null "$1" 2>/dev/null && return 0; sleep 0.2; done
  die "no answer from $1 (see $RESULTS/*.log)"
}

stop() { # pid: SIGTERM, then SIGKILL after 15 s
  local pid=$1 i
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 75); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

loadgen() { # runs the generator on core 1
  DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 taskset -c 1 dotnet "$ROOT/bench/LoadGen/bin/Release/net10.0/LoadGen.dll" "$@"
}

QUICK_ARG=(); [[ $QUICK -eq 1 ]] && QUICK_ARG=(--quick)

# ---- build -------------------------------------------------------------------------------------------
if [[ $BUILD -eq 1 ]]; then
  say "building in Release"
  for project in src/Api/Realtime.Api.csproj src/Silo/Realtime.Silo.csproj bench/LoadGen/LoadGen.csproj bench/FormatProbe/FormatProbe.csproj \
                 bench/peers/KestrelBroadcast/KestrelBroadcast.csproj bench/peers/SignalRGroups/SignalRGroups.csproj; do
    dotnet build "$ROOT/$project" -c Release "${CLEAN[@]}" -nologo -v quiet -clp:NoSummary >"$RESULTS/build.log" 2>&1 \
      || { cat "$RESULTS/build.log"; die "build of $project failed"; }
  done
  (cd "$ROOT/bench/peers/node-ws" && npm ci --no-audit --no-fund --silent) || die "npm ci in bench/peers/node-ws failed"
fi
for port in 5301 5302 5303 5304 5305 5306 5311 5312 5321 5322 5392 $PG_PORT; do port_busy "$port" && die "port $port is in use"; done

# ---- Realtime ----------------------------------------------------------------------------------------
API_DIR=$ROOT/src/Api/bin/Release/net10.0
realtime_env() { # node id, port, engine, connection string: the settings of a benchmark node, as NAME=value words
  echo ASPNETCORE_ENVIRONMENT=Production ASPNETCORE_URLS="http://127.0.0.1:$2" \
    Realtime__NodeId="$1" Realtime__Engine="$3" Realtime__Postgres__ConnectionString="${4:-}" Realtime__Orleans__AdvertisedIPAddress=127.0.0.1 \
    Realtime__Auth__JwtSecret="$SECRET" \
    Realtime__Limits__CommandsPerSecond=1000000 Realtime__Limits__CommandBurst=1000000 \
    Realtime__Namespaces__bench__Presence=false Realtime__Namespaces__bench__JoinLeave=false \
    Logging__LogLevel__Default=Warning Logging__LogLevel__Microsoft.AspNetCore=Warning
}

start_postgres() {
  local bin; bin=$(pg_bin); [[ -n $bin ]] || die "PostgreSQL server binaries not found (apt-get install postgresql)"
  mkdir -p "$RESULTS/pg"; [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$RESULTS/pg"
  as_postgres "$bin/initdb" -D "$RESULTS/pg/db" -U postgres --auth=trust -E UTF8 >"$RESULTS/pg-initdb.log" 2>&1
  taskset -c 0 runuser -u postgres -- "$bin/pg_ctl" -D "$RESULTS/pg/db" -l "$RESULTS/pg/log" -w -t 60 \
    -o "-p $PG_PORT -k $RESULTS/pg -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  PG_PID=$(head -1 "$RESULTS/pg/db/postmaster.pid")
}
create_db() { as_postgres "$(pg_bin)/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "create database $1" >/dev/null; }

SYSTEMS=()
run_system() { # system id, label, protocol, url, server pid, heap url, extra loadgen args…
  local id=$1 label=$2 protocol=$3 url=$4 pid=$5 heap=$6; shift 6
  say "$label"
  SYSTEMS+=("$id")
  loadgen run --system "$id" --label "$label" --protocol "$protocol" --url "$url" --server-pid "$pid" \
    ${heap:+--heap-url "$heap"} --jwt-secret "$SECRET" "${QUICK_ARG[@]}" --out "$RESULTS/$id.json" "$@" \
    2>&1 | tee "$RESULTS/$id.loadgen.log"
}
SCENARIOS=(--idle "$IDLE" --churn --fanout 1,100,1000)

if wanted realtime-memory; then
  (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env bench-memory 5301 memory) dotnet Realtime.Api.dll) >"$RESULTS/realtime-memory.log" 2>&1 &
  pid=$!; PIDS+=("$pid"); wait_http http://127.0.0.1:5301/health/ready
  run_system realtime-memory "Realtime (memory)" realtime ws://127.0.0.1:5301 "$pid" http://127.0.0.1:5301/metrics "${SCENARIOS[@]}"
  stop "$pid"
fi

if wanted realtime-postgres || wanted realtime-2nodes || wanted realtime-cluster; then
  start_postgres
  NOTES+=("PostgreSQL $(as_postgres "$(pg_bin)/postgres" --version | awk '{print $3}') runs on core 0 with the server, with default durability (fsync and synchronous_commit on); its CPU counts as the server's")
fi

if wanted realtime-postgres; then
  create_db bench_single
  (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env bench-pg 5301 postgres "Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=bench_single") \
    dotnet Realtime.Api.dll) >"$RESULTS/realtime-postgres.log" 2>&1 &
  pid=$!; PIDS+=("$pid"); wait_http http://127.0.0.1:5301/health/ready
  run_system realtime-postgres "Realtime (postgres)" realtime ws://127.0.0.1:5301 "$pid" http://127.0.0.1:5301/metrics \
    --pid-tree "$PG_PID" "${SCENARIOS[@]}"
  stop "$pid"
fi

if wanted kestrel; then
  ASPNETCORE_URLS=http://127.0.0.1:5302 taskset -c 0 dotnet "$ROOT/bench/peers/KestrelBroadcast/bin/Release/net10.0/KestrelBroadcast.dll" \
    >"$RESULTS/kestrel.log" 2>&1 &
  pid=$!; PIDS+=("$pid"); wait_http http://127.0.0.1:5302/metrics
  run_system kestrel "Bare Kestrel broadcaster" simple ws://127.0.0.1:5302 "$pid" http://127.0.0.1:5302/metrics "${SCENARIOS[@]}"
  stop "$pid"
fi

if wanted signalr; then
  ASPNETCORE_URLS=http://127.0.0.1:5304 taskset -c 0 dotnet "$ROOT/bench/peers/SignalRGroups/bin/Release/net10.0/SignalRGroups.dll" \
    >"$RESULTS/signalr.log" 2>&1 &
  pid=$!; PIDS+=("$pid"); wait_http http://127.0.0.1:5304/metrics
  run_system signalr "ASP.NET Core SignalR (groups)" signalr ws://127.0.0.1:5304 "$pid" http://127.0.0.1:5304/metrics "${SCENARIOS[@]}"
  stop "$pid"
fi

if wanted node-ws; then
  PORT=5303 taskset -c 0 node "$ROOT/bench/peers/node-ws/server.js" >"$RESULTS/node-ws.log" 2>&1 &
  pid=$!; PIDS+=("$pid"); wait_http http://127.0.0.1:5303/metrics
  run_system node-ws "Node.js ws $(node -p 'require(process.argv[1]).version' "$ROOT/bench/peers/node-ws/node_modules/ws/package.json")" \
    simple ws://127.0.0.1:5303 "$pid" http://127.0.0.1:5303/metrics "${SCENARIOS[@]}"
  stop "$pid"
fi

if wanted realtime-2nodes; then
  create_db bench_two
  conn="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=bench_two"
  (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env bench-a 5311 postgres "$conn") dotnet Realtime.Api.dll) >"$RESULTS/realtime-2nodes-a.log" 2>&1 &
  pid_a=$!; PIDS+=("$pid_a"); wait_http http://127.0.0.1:5311/health/ready
  (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env bench-b 5312 postgres "$conn") dotnet Realtime.Api.dll) >"$RESULTS/realtime-2nodes-b.log" 2>&1 &
  pid_b=$!; PIDS+=("$pid_b"); wait_http http://127.0.0.1:5312/health/ready
  run_system realtime-2nodes "Realtime (2 nodes, postgres)" realtime ws://127.0.0.1:5311,ws://127.0.0.1:5312 "$pid_a" "" \
    --extra-pid "$pid_b" --pid-tree "$PG_PID" --fanout 100
  stop "$pid_a"; stop "$pid_b"
fi

if wanted realtime-cluster; then
  # Silos hold the grains, front ends the sockets: every message goes from a silo to both front ends over Orleans.
  create_db bench_cluster
  conn="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=bench_cluster"
  SILO_DIR=$ROOT/src/Silo/bin/Release/net10.0
  cluster_pids=()
  for silo in 1 2; do
    (cd "$SILO_DIR" && exec taskset -c 0 env $(realtime_env "bench-silo$silo" "532$silo" postgres "$conn") dotnet Realtime.Silo.dll) \
      >"$RESULTS/realtime-cluster-silo$silo.log" 2>&1 &
    cluster_pids+=($!); PIDS+=($!); wait_http "http://127.0.0.1:532$silo/health/ready"
  done
  for front in 1 2; do
    (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env "bench-front$front" "531$front" postgres "$conn") Realtime__Orleans__Role=client \
      dotnet Realtime.Api.dll) >"$RESULTS/realtime-cluster-front$front.log" 2>&1 &
    cluster_pids+=($!); PIDS+=($!); wait_http "http://127.0.0.1:531$front/health/ready"
  done
  run_system realtime-cluster "Realtime (2 silos + 2 front ends, postgres)" realtime ws://127.0.0.1:5311,ws://127.0.0.1:5312 "${cluster_pids[2]}" "" \
    --extra-pid "${cluster_pids[3]}" --extra-pid "${cluster_pids[0]}" --extra-pid "${cluster_pids[1]}" --pid-tree "$PG_PID" --fanout 100
  for pid in "${cluster_pids[@]}"; do stop "$pid"; done
fi

if wanted signalr-2nodes; then
  if ! command -v redis-server >/dev/null; then
    say "installing redis-server (Debian package)"
    sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
    $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null || die "could not install redis-server"
  fi
  taskset -c 0 redis-server --port 5392 --bind 127.0.0.1 --save "" --appendonly no >"$RESULTS/redis.log" 2>&1 &
  redis_pid=$!; PIDS+=("$redis_pid")
  for i in $(seq 1 50); do port_busy 5392 && break; sleep 0.1; done
  NOTES+=("SignalR (2 nodes): $(redis-server --version | awk '{print $3}' | tr -d 'v=') Redis on core 0 with the nodes; its CPU counts as the server's")
  for node in 5 6; do
    ASPNETCORE_URLS="http://127.0.0.1:530$node" SIGNALR_REDIS=127.0.0.1:5392 taskset -c 0 \
      dotnet "$ROOT/bench/peers/SignalRGroups/bin/Release/net10.0/SignalRGroups.dll" >"$RESULTS/signalr-2nodes-$node.log" 2>&1 &
    PIDS+=($!); eval "signalr_$node=\$!"; wait_http "http://127.0.0.1:530$node/metrics"
  done
  run_system signalr-2nodes "ASP.NET Core SignalR (2 nodes, Redis backplane)" signalr ws://127.0.0.1:5305,ws://127.0.0.1:5306 "$signalr_5" "" \
    --extra-pid "$signalr_6" --extra-pid "$redis_pid" --fanout 100
  stop "$signalr_5"; stop "$signalr_6"; stop "$redis_pid"
fi

if wanted realtime-formats; then
  # Compression on: the same idle sockets, each having agreed to permessage-deflate; then the formats side by side.
  (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env bench-formats 5301 memory) Realtime__Compression__Enabled=true dotnet Realtime.Api.dll) \
    >"$RESULTS/realtime-formats.log" 2>&1 &
  pid=$!; PIDS+=("$pid"); wait_http http://127.0.0.1:5301/health/ready
  run_system realtime-deflate "Realtime (memory, compression on)" realtime-deflate ws://127.0.0.1:5301 "$pid" http://127.0.0.1:5301/metrics --idle "$IDLE"
  say "formats and compression"
  # A second node keeps its compression context between messages: the setting the defaults turn down, measured beside them.
  (cd "$API_DIR" && exec taskset -c 0 env $(realtime_env bench-takeover 5302 memory) Realtime__Compression__Enabled=true \
    Realtime__Compression__ServerContextTakeover=true Realtime__Orleans__SiloPort=11112 Realtime__Orleans__GatewayPort=30001 dotnet Realtime.Api.dll) \
    >"$RESULTS/realtime-takeover.log" 2>&1 &
  pid_t=$!; PIDS+=("$pid_t"); wait_http http://127.0.0.1:5302/health/ready
  messages=4000; [[ $QUICK -eq 1 ]] && messages=1500
  taskset -c 1 dotnet "$ROOT/bench/FormatProbe/bin/Release/net10.0/FormatProbe.dll" --url ws://127.0.0.1:5301 --server-pid "$pid" \
    --takeover-url ws://127.0.0.1:5302 --takeover-pid "$pid_t" \
    --jwt-secret "$SECRET" --subscribers 100 --messages "$messages" --rate 200 --out "$RESULTS/formats.md" 2>&1 | tee "$RESULTS/formats.log"
  stop "$pid"; stop "$pid_t"
fi

# ---- report ------------------------------------------------------------------------------------------
json_list() { local first=1 item; printf '['; for item in "$@"; do ((first)) || printf ','; first=0; printf '"%s"' "${item//\"/\\\"}"; done; printf ']'; }
MACHINE=(
  "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
  "$(awk '/MemTotal/ {printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo)"
  "Linux $(uname -r)"
  ".NET $(dotnet --list-runtimes | awk '/Microsoft.AspNetCore.App/ {v=$2} END {print v}') (workstation GC, as src/Api builds it)"
  "Node.js $(node --version)"
  "open-file limit $FD_LIMIT"
)
COMMIT="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet 2>/dev/null || echo ' + uncommitted changes')"
cat >"$RESULTS/run.json" <<EOF
{"command":"${REALTIME_BENCH_COMMAND:-bench/run.sh}","started":"$STARTED","finished":"$(date -u +%Y-%m-%dT%H:%M:%SZ)","quick":$([[ $QUICK -eq 1 ]] && echo true || echo false),
 "commit":"$COMMIT","machine":$(json_list "${MACHINE[@]}"),"systems":$(json_list "${SYSTEMS[@]}"),"notes":$(json_list "${NOTES[@]}")}
EOF
loadgen report --results "$RESULTS" --out "$OUT"
say "results in $RESULTS; report in $OUT"

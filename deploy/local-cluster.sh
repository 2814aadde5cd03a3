#!/usr/bin/env bash
# A Realtime cluster on this machine: a private PostgreSQL, two Orleans silos (src/Silo) that hold the
# grains, two front ends (src/Api as Orleans clients) that hold the sockets, and nginx round-robin in
# front of the front ends (no stickiness). Nothing runs as a system service; everything lives in the
# state folder (default deploy/.local).
#
#   deploy/local-cluster.sh [start] [options]   build, start, wait until ready, print the URLs
#   deploy/local-cluster.sh status              what runs, and whether each node is ready (exit 1: nothing runs)
#   deploy/local-cluster.sh stop                stop everything (nodes first send 4010 to their sockets)
#   deploy/local-cluster.sh clean               stop, then delete the state folder (database included)
#
# Options (environment variable in brackets):
#   --port N            nginx port, default 8080                       [REALTIME_PORT]
#   --node-ports A,B,S,T  HTTP ports of node-a, node-b, silo-a and silo-b, default 5101,5102,5103,5104
#   --pg-port N         PostgreSQL port, default 55432                 [REALTIME_PG_PORT]
#   --jwt-secret S      HS256 secret, >= 32 characters                 [REALTIME_JWT_SECRET]
#   --api-key K         X-Api-Key for /api                             [REALTIME_API_KEY]
#   --state-dir DIR     build output, data, logs and PIDs              [REALTIME_STATE_DIR]
#   --no-build          start what was built last time
#   --no-dev-tokens     do not serve POST /dev/token
# Without --jwt-secret / --api-key, random ones are generated once and kept in the state folder, so a
# restart keeps tokens valid. Other settings pass through the environment, e.g.
#   Realtime__Limits__CommandsPerSecond=100000 deploy/local-cluster.sh
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${REALTIME_STATE_DIR:-$ROOT/deploy/.local}
PORT=${REALTIME_PORT:-8080}
PG_PORT=${REALTIME_PG_PORT:-55432}
NODE_PORTS=5101,5102,5103,5104
JWT_SECRET=${REALTIME_JWT_SECRET:-}
API_KEY=${REALTIME_API_KEY:-}
BUILD=1
DEV_TOKENS=true
NGINX=/usr/sbin/nginx
NODES=(silo-a silo-b node-a node-b)

die() { echo "local-cluster: $*" >&2; exit 1; }
say() { echo "local-cluster: $*"; }

command=start
if [[ $# -gt 0 && $1 != -* ]]; then command=$1; shift; fi
while [[ $# -gt 0 ]]; do
  case $1 in
    --port) PORT=${2:?--port needs a value}; shift 2 ;;
    --node-ports) NODE_PORTS=${2:?--node-ports needs a value}; shift 2 ;;
    --pg-port) PG_PORT=${2:?--pg-port needs a value}; shift 2 ;;
    --jwt-secret) JWT_SECRET=${2:?--jwt-secret needs a value}; shift 2 ;;
    --api-key) API_KEY=${2:?--api-key needs a value}; shift 2 ;;
    --state-dir) STATE=${2:?--state-dir needs a value}; shift 2 ;;
    --no-build) BUILD=0; shift ;;
    --no-dev-tokens) DEV_TOKENS=false; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
mkdir -p "$STATE"
STATE=$(cd "$STATE" && pwd)
RUN=$STATE/run LOGS=$STATE/logs APP=$STATE/app PGDATA=$STATE/pg/db
IFS=, read -r PORT_A PORT_B PORT_SILO_A PORT_SILO_B <<<"$NODE_PORTS"
declare -A NODE_PORT=([node-a]=$PORT_A [node-b]=$PORT_B [silo-a]=$PORT_SILO_A [silo-b]=$PORT_SILO_B)
declare -A NODE_DLL=([node-a]=Realtime.Api.dll [node-b]=Realtime.Api.dll [silo-a]=Realtime.Silo.dll [silo-b]=Realtime.Silo.dll)
# Front ends join the silos as Orleans clients; silos choose free Orleans ports and publish them in PostgreSQL.
declare -A NODE_ROLE=([node-a]=client [node-b]=client [silo-a]=silo [silo-b]=silo)

is_root() { [[ $(id -u) -eq 0 ]]; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
# PostgreSQL refuses to run as root: as root, its tools run as the postgres account.
as_postgres() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
ready() { curl -fsS -m 2 -o /dev/null "http://127.0.0.1:$1/health/ready" 2>/dev/null; }

# The PID in $RUN/<name>.pid, if that process still runs and is ours (its command line names $2).
live_pid() {
  local file=$RUN/$1.pid pid
  [[ -f $file ]] || return 1
  pid=$(<"$file")
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && ps -o args= -p "$pid" | grep -qF -- "$2" && echo "$pid"
}

pg_running() { [[ -d $PGDATA ]] && as_postgres "$(pg_bin)/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

stop_pid() { # name, pid[, signal]: the signal (again), then SIGKILL after 30 s
  local name=$1 pid=$2
  kill "-${3:-TERM}" "$pid" 2>/dev/null || true
  # A zombie has exited: where PID 1 does not reap orphans (some CI containers) kill -0 still finds it.
  for _ in $(seq 300); do
    if ! kill -0 "$pid" 2>/dev/null || [[ "$(ps -o stat= -p "$pid" 2>/dev/null)" == Z* ]]; then say "stopped $name ($pid)"; return 0; fi
    sleep 0.1
  done
  say "$name ($pid) did not stop in 30 s: killing it"
  kill -KILL "$pid" 2>/dev/null || true
}

stop_all() {
  local pid
  # The nodes first, together: each tells its sockets to reconnect (4010), and that goodbye still
  # travels through nginx. Then nginx, gracefully (SIGQUIT lets open connections finish). PostgreSQL
  # last, so the nodes can leave it cleanly.
  local -A stopping=()
  for node in "${NODES[@]}"; do
    if pid=$(live_pid "$node" "${NODE_DLL[$node]}"); then kill -TERM "$pid" 2>/dev/null || true; stopping[$node]=$pid; fi
  done
  for node in "${!stopping[@]}"; do stop_pid "$node" "${stopping[$node]}"; done
  if pid=$(live_pid nginx "$STATE/nginx"); then stop_pid nginx "$pid" QUIT; fi
  if pg_running; then
    as_postgres "$(pg_bin)/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && say "stopped postgres"
  fi
  rm -f "$RUN"/*.pid
}

status() { # exit code 0 when anything runs
  local pid any=1
  for name in nginx "${NODES[@]}"; do
    local match=${NODE_DLL[$name]:-$STATE/nginx} port=${NODE_PORT[$name]:-$PORT}
    if pid=$(live_pid "$name" "$match"); then
      any=0
      if ready "$port"; then echo "$name  pid $pid  http://127.0.0.1:$port  ready"; else echo "$name  pid $pid  http://127.0.0.1:$port  NOT ready"; fi
    else
      echo "$name  stopped"
    fi
  done
  if pg_running; then any=0; echo "postgres  pid $(head -1 "$PGDATA/postmaster.pid")  127.0.0.1:$(sed -n 4p "$PGDATA/postmaster.pid")  running"; else echo "postgres  stopped"; fi
  return $any
}

check_tools() {
  local missing=()
  [[ -n $(pg_bin) && -x $(pg_bin)/initdb ]] || missing+=(postgresql)
  [[ -x $NGINX ]] || missing+=(nginx)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    die "missing Debian packages: ${missing[*]}. Install them with: sudo apt-get install -y ${missing[*]}"
  fi
  command -v dotnet >/dev/null || die "the .NET 10 SDK is required (dotnet not on PATH)"
}

secret_file() { # name, value given or '': the value, generated once and kept in the state folder
  local file=$STATE/$1 value=$2
  if [[ -z $value ]]; then
    [[ -s $file ]] || head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file"
    value=$(<"$file")
  else
    printf '%s' "$value" >"$file"
  fi
  chmod 600 "$file"
  printf '%s' "$value"
}

build() {
  say "building (dotnet publish -c Release) into $APP; log: $LOGS/build.log"
  # A private artifacts folder: this build never touches the bin/obj folders of a developer's build.
  for project in src/Silo/Realtime.Silo.csproj src/Api/Realtime.Api.csproj; do
    if ! dotnet publish "$ROOT/$project" -c Release -o "$APP" --artifacts-path "$STATE/artifacts" -nologo >>"$LOGS/build.log" 2>&1; then
      tail -30 "$LOGS/build.log" >&2
      die "build of $project failed (full log: $LOGS/build.log)"
    fi
  done
}

start_postgres() {
  local bin; bin=$(pg_bin)
  mkdir -p "$STATE/pg"
  if is_root; then
    chown postgres:postgres "$STATE/pg"
    runuser -u postgres -- test -w "$STATE/pg" \
      || die "the postgres account cannot write to $STATE/pg (is a parent folder private?): use --state-dir under /tmp"
  fi
  if [[ ! -f $PGDATA/PG_VERSION ]]; then
    say "initdb $PGDATA"
    as_postgres "$bin/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 >"$LOGS/initdb.log" 2>&1 \
      || { cat "$LOGS/initdb.log" >&2; die "initdb failed"; }
  fi
  touch "$LOGS/postgres.log"
  is_root && chown postgres:postgres "$LOGS/postgres.log"
  # Loopback TCP only (trust auth), no Unix socket: nothing outside this machine can connect.
  as_postgres "$bin/pg_ctl" -D "$PGDATA" -l "$LOGS/postgres.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c max_connections=200" start >/dev/null \
    || { tail -20 "$LOGS/postgres.log" >&2; die "PostgreSQL did not start (log: $LOGS/postgres.log)"; }
  head -1 "$PGDATA/postmaster.pid" >"$RUN/postgres.pid"
  if ! as_postgres "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "select 1 from pg_database where datname = 'realtime'" | grep -q 1; then
    as_postgres "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres realtime
  fi
  say "postgres ready on 127.0.0.1:$PG_PORT"
}

start_node() { # name
  local name=$1 port=${NODE_PORT[$1]}
  # The working folder is the content root: appsettings.json and wwwroot come from it. Orleans is told to
  # advertise loopback, so the whole cluster stays on this machine's 127.0.0.1.
  (
    cd "$APP"
    ASPNETCORE_ENVIRONMENT=Production \
    Realtime__NodeId=$name-$RUN_ID \
    Realtime__Engine=postgres \
    Realtime__Orleans__Role=${NODE_ROLE[$name]} \
    Realtime__Orleans__AdvertisedIPAddress=127.0.0.1 \
    Realtime__Postgres__ConnectionString="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=realtime;Maximum Pool Size=30" \
    Realtime__Auth__JwtSecret=$JWT_SECRET \
    Realtime__Auth__DevTokens=$DEV_TOKENS \
    Realtime__Api__Keys__0=$API_KEY \
      nohup dotnet "${NODE_DLL[$name]}" --urls "http://127.0.0.1:$port" >"$LOGS/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
  )
}

# The lines of a log that say what went wrong: .NET's unhandled exception or fail/crit entries, else its end.
show_log() {
  grep -E -A3 -m3 '^(Unhandled exception|fail|crit)' "$1" >&2 || tail -20 "$1" >&2
}

wait_ready() { # name, port, match
  local name=$1 port=$2 pid
  for _ in $(seq 600); do
    ready "$port" && { say "$name ready on http://127.0.0.1:$port"; return 0; }
    pid=$(live_pid "$name" "$3") || { show_log "$LOGS/$name.log"; die "$name exited during start-up (log: $LOGS/$name.log)"; }
    sleep 0.1
  done
  show_log "$LOGS/$name.log"
  die "$name was not ready on port $port within 60 s (log: $LOGS/$name.log)"
}

start_nginx() {
  mkdir -p "$STATE/nginx"
  # The template's upstreams and listen address, pointed at this machine.
  sed -e "s|server api-a:8080|server 127.0.0.1:$PORT_A|" \
      -e "s|server api-b:8080|server 127.0.0.1:$PORT_B|" \
      -e "s|listen 8080;|listen 127.0.0.1:$PORT;|" \
      "$ROOT/deploy/nginx.conf" >"$STATE/nginx/nginx.conf"
  grep -q "127.0.0.1:$PORT_B" "$STATE/nginx/nginx.conf" || die "deploy/nginx.conf no longer has the 'server api-a:8080' lines this script rewrites"
  local args=(-p "$STATE/nginx/" -c "$STATE/nginx/nginx.conf" -e "$LOGS/nginx.log")
  "$NGINX" "${args[@]}" -t >"$LOGS/nginx-test.log" 2>&1 || { cat "$LOGS/nginx-test.log" >&2; die "nginx -t refused $STATE/nginx/nginx.conf"; }
  nohup "$NGINX" "${args[@]}" -g "daemon off;" >>"$LOGS/nginx.log" 2>&1 </dev/null &
  echo $! >"$RUN/nginx.pid"
  wait_ready nginx "$PORT" "$STATE/nginx"
}

start() {
  check_tools
  if status >/dev/null; then die "already running (see: $0 status); stop it first with: $0 stop"; fi
  rm -f "$RUN"/*.pid
  mkdir -p "$RUN" "$LOGS"
  for port in "$PORT" "$PORT_A" "$PORT_B" "$PORT_SILO_A" "$PORT_SILO_B" "$PG_PORT"; do
    [[ $port =~ ^[0-9]+$ ]] || die "'$port' is not a port number"
    port_busy "$port" && die "port $port is in use (choose others with --port, --node-ports or --pg-port)"
  done
  JWT_SECRET=$(secret_file jwt-secret "$JWT_SECRET")
  API_KEY=$(secret_file api-key "$API_KEY")
  ((${#JWT_SECRET} >= 32)) || die "the JWT secret must have at least 32 characters"

  # From here on, a failure stops whatever was started, so no orphan is left behind.
  trap 'rc=$?; if ((rc != 0)); then say "start failed: stopping what was started"; stop_all; fi' EXIT
  RUN_ID=$(head -c 2 /dev/urandom | od -An -tx1 | tr -d ' \n')
  ((BUILD)) && build
  [[ -f $APP/Realtime.Api.dll && -f $APP/Realtime.Silo.dll ]] || die "nothing built in $APP: run without --no-build"
  start_postgres
  # Silos first (the first one creates the schema, Orleans' tables included), then the front ends.
  for node in silo-a silo-b; do start_node "$node"; done
  for node in silo-a silo-b; do wait_ready "$node" "${NODE_PORT[$node]}" "${NODE_DLL[$node]}"; done
  for node in node-a node-b; do start_node "$node"; done
  for node in node-a node-b; do wait_ready "$node" "${NODE_PORT[$node]}" "${NODE_DLL[$node]}"; done
  start_nginx
  trap - EXIT

  local entry=http://127.0.0.1:$PORT
  cat <<EOF

Realtime cluster is up. State, logs and PIDs: $STATE
  entry (nginx, round-robin)  $entry        ws://127.0.0.1:$PORT/ws   demo page: $entry/
  node-a (front end)          http://127.0.0.1:$PORT_A
  node-b (front end)          http://127.0.0.1:$PORT_B
  silo-a (grains)             http://127.0.0.1:$PORT_SILO_A/health/ready
  silo-b (grains)             http://127.0.0.1:$PORT_SILO_B/health/ready
  postgres                    Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=realtime
  API key                     $API_KEY
  JWT secret                  in $STATE/jwt-secret

Publish through nginx, then read the history back (any node answers):
  curl -s -X POST $entry/api/channels/chat:lobby/messages -H 'X-Api-Key: $API_KEY' -H 'content-type: application/json' -d '{"data":{"text":"hi"}}'
  curl -s '$entry/api/channels/chat:lobby/history?limit=10' -H 'X-Api-Key: $API_KEY'
  curl -s $entry/api/info -H 'X-Api-Key: $API_KEY'
EOF
  if [[ $DEV_TOKENS == true ]]; then
    echo "Token for a socket (POST /dev/token is on: local use only):"
    echo "  curl -s -X POST $entry/dev/token -H 'content-type: application/json' -d '{\"user\":\"alice\"}'"
  else
    echo "Tokens: HS256 JWT with 'sub' and 'exp', signed with the secret in $STATE/jwt-secret (docs/protocol.md)."
  fi
  cat <<EOF
Measure (docs/scaling.md; start with Realtime__Limits__CommandsPerSecond=100000 Realtime__Limits__CommandBurst=100000,
or the default of 100 commands/s per socket throttles the publishers):
  dotnet run -c Release --project bench/ClusterProbe -- --a http://127.0.0.1:$PORT_A --b http://127.0.0.1:$PORT_B --secret "\$(cat $STATE/jwt-secret)"
Stop: $0 stop
EOF
}

case $command in
  start) start ;;
  stop) stop_all; if status >/dev/null; then die "something still runs: see $0 status"; fi; say "everything stopped" ;;
  status) status ;;
  clean) stop_all; rm -rf "$STATE"; say "removed $STATE" ;;
  *) die "unknown command '$command': start, stop, status or clean" ;;
esac

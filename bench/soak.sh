#!/usr/bin/env bash
# Soak test: a Release build of the Api on the memory engine, on loopback, holding 10,000 sockets with
# steady traffic for 10 minutes. Every 10 s it records the node's RSS and managed heap (/metrics) and the
# delivery latency into a CSV, and at the end judges "memory ends flat" (bench/SoakDriver/Verdict.cs): once
# every channel's history is full, the node's live set (what survives a full collection, induced over its
# diagnostics port) grows by at most 2% to the end, and its RSS by at most 10%. Exit 0 when flat and no
# socket dropped.
#
# Usage: bench/soak.sh [--minutes N] [--connections N] [--rate MSGS_PER_S] [--channels N] [--csv FILE]
# Heavy: on a shared machine run it as  flock /tmp/realtime-heavy.lock bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."

minutes=10 connections=10000 rate=50 channels=100 csv="${TMPDIR:-/tmp}/realtime-soak.csv"
while (($#)); do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --channels) channels="$2"; shift 2 ;;
    --csv) csv="$2"; shift 2 ;;
    *) echo "soak.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done

# Each side holds one descriptor per socket.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if (( $(ulimit -n) < connections + 1000 )); then
  echo "soak.sh: open-file limit $(ulimit -n) is too low for $connections sockets" >&2
  exit 2
fi

dotnet build src/Api -c Release -v quiet -nologo >/dev/null
dotnet build bench/SoakDriver -c Release -v quiet -nologo >/dev/null

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
log=$(mktemp)
ASPNETCORE_ENVIRONMENT=Production \
Realtime__NodeId=soak Realtime__Engine=memory Realtime__Auth__JwtSecret="$secret" Realtime__Api__Keys__0=soak-key \
Logging__LogLevel__Default=Warning \
  dotnet src/Api/bin/Release/net10.0/Realtime.Api.dll --urls "http://127.0.0.1:$port" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -f "$log"' EXIT

for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.2
done

echo "soak.sh: node pid $server on port $port; $connections sockets, $rate msg/s over $channels channels, $minutes min; CSV $csv"
status=0
dotnet bench/SoakDriver/bin/Release/net10.0/SoakDriver.dll --url "http://127.0.0.1:$port" --secret "$secret" \
  --connections "$connections" --channels "$channels" --rate "$rate" --minutes "$minutes" --csv "$csv" --pid "$server" || status=$?
grep -E "fail|crit|Unhandled" -i "$log" | head -20 >&2 || true
exit "$status"

#!/usr/bin/env bash
# Installs what the tests need (Debian packages) and runs every test project.
# Usage: ./test.sh                 everything
#        ./test.sh --filter X      only the .NET tests matching X (dotnet test arguments)
set -euo pipefail
cd "$(dirname "$0")"

missing=()
/usr/bin/python3 -c 'import jwt' 2>/dev/null || missing+=(python3 python3-jwt)   # independent JWT minting
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)      # private servers for engine and cluster tests
[ -x /usr/sbin/nginx ] || missing+=(nginx)                                          # round-robin balancer in cluster tests
if ((${#missing[@]})); then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "test.sh: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }

log=$(mktemp)
jslog=$(mktemp)
trap 'rm -f "$log" "$jslog"' EXIT

# 1. The .NET suites: units, engine specification on both engines, sockets, REST, the cluster.
status=0
# The long fault, storm, churn and soak cases (Category=Long) run from tests/reliability/run-long.sh instead.
filter=("$@"); [ "$#" -eq 0 ] && filter=(--filter "Category!=Long")
dotnet test Realtime.Orleans.sln -c Release "${filter[@]}" 2>&1 | tee "$log" || status=$?

# 2. The JS client and the demo page in headless Chromium (installs chromium and npm packages).
if [ "$#" -eq 0 ]; then
  clients/js/test.sh 2>&1 | tee "$jslog" || status=$?
fi

# One closing line for the whole run, summed over every suite.
count() { { grep -oE "$1: +[0-9]+" "$log" || true; } | awk '{ s += $NF } END { print s + 0 }'; }
jscount() { { grep -E "^# $1 [0-9]+" "$jslog" || true; } | awk '{ s += $NF } END { print s + 0 }'; }
passed=$(( $(count Passed) + $(jscount pass) ))
failed=$(( $(count Failed) + $(jscount fail) ))
skipped=$(( $(count Skipped) + $(jscount skipped) ))
# Repeat the failures at the end, where a CI log's tail shows them.
if [ "$failed" -gt 0 ]; then
  echo "test.sh: failed tests:"
  awk '/^ +Failed [A-Za-z_]/ { sub(/^ +/, ""); print "  " $0; want = 1; next }
       want && /Error Message:/ { getline; sub(/^ +/, ""); print "    " substr($0, 1, 300); want = 0 }' "$log"
  grep -E "^not ok " "$jslog" | sed 's/^/  js: /' || true
fi
echo "test.sh: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"

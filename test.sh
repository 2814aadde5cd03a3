#!/usr/bin/env bash
# Installs what the tests need (Debian packages) and runs every test project.
# Usage: ./test.sh [extra dotnet test arguments, e.g. --filter FullyQualifiedName~Recovery]
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
trap 'rm -f "$log"' EXIT
status=0
dotnet test Realtime.Orleans.sln -c Release "$@" 2>&1 | tee "$log" || status=$?

# One closing line for the whole run, summed over the test assemblies.
count() { { grep -oE "$1: +[0-9]+" "$log" || true; } | awk '{ s += $NF } END { print s + 0 }'; }
passed=$(count Passed); failed=$(count Failed); skipped=$(count Skipped)
echo "test.sh: $passed passed, $failed failed, $skipped skipped"
if [ "$status" -eq 0 ] && [ "$passed" -eq 0 ]; then
  echo "test.sh: no test ran" >&2
  exit 1
fi
exit "$status"

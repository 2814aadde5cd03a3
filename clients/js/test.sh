#!/usr/bin/env bash
# Tests of the JS client and the demo page against a real node: installs what they need (npm packages,
# Debian's chromium), type-checks test/types-check.ts against src/realtime.d.ts, builds src/Api in Release,
# and runs node's test runner over test/*.test.js.
# Usage: clients/js/test.sh [extra node --test arguments, e.g. --test-name-pattern=recover]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

# The client itself needs Node 16 (package.json "engines"); the tests need node --test-concurrency (20.10).
command -v node >/dev/null && node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 10) ? 0 : 1)' \
  || { echo "clients/js/test.sh: the tests need Node.js 20.10 or later" >&2; exit 1; }
command -v dotnet >/dev/null || { echo "clients/js/test.sh: the .NET 10 SDK is required (dotnet not on PATH)" >&2; exit 1; }

if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "clients/js/test.sh: installing chromium"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
fi

cd "$here"
# playwright-core never downloads a browser; the tests drive /usr/bin/chromium.
npm ci --no-audit --no-fund --loglevel=error
# The declarations: a file that uses every method and event, compiled in strict mode (no output).
npx --no-install tsc --noEmit --strict --target es2022 --module nodenext --lib es2022,dom test/types-check.ts
dotnet build "$root/src/Api" -c Release -nologo -v quiet -clp:ErrorsOnly
node --test --test-concurrency=1 "$@" test/*.test.js

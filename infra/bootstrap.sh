#!/bin/sh
# Makes a fresh clone runnable: installs the pinned toolchain (Node 24, Deno 2) and the
# dependencies with `npm ci` when node_modules is missing or older than the lockfile.
# npm scripts then find node_modules/.bin/node first on PATH.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/deno ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: npm ci (pinned Node 24, Deno 2 and dependencies)"
  npm ci --no-audit --no-fund --loglevel=error
fi

#!/bin/sh
# Makes a fresh clone runnable: installs the pinned toolchain (Node 24, Deno 2) and the
# dependencies when node_modules is missing or older than the lockfile. npm scripts then
# find node_modules/.bin/node first on PATH.
#
# Why `npm install --no-save` and not `npm ci`: the lockfile can only list the
# platform-specific optional packages (biome, deno binaries) that this machine's registry
# serves, and `npm ci` refuses a lockfile without all of them. `npm install --no-save`
# installs exactly the locked versions and leaves package.json and the lockfile untouched.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -x node_modules/.bin/deno ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "bootstrap: installing the pinned Node 24, Deno 2 and dependencies"
  npm install --no-save --no-audit --no-fund --loglevel=error
fi

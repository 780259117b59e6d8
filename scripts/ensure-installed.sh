#!/bin/sh
# Lets `npm test` and `npm run demo` work straight from a fresh clone: install dependencies
# (which also compiles the TypeScript through the `prepare` script) when they are missing.
set -e
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  # `npm install`, not `npm ci`: npm 11 omits other platforms' optional packages from the lock file
  # (npm/cli#8320) and `npm ci` then refuses it. Versions still come from the lock file.
  npm install --no-audit --no-fund
fi
if [ ! -f dist/cli/main.js ]; then
  npm run build
fi

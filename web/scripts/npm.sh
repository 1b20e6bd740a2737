#!/usr/bin/env bash
# Runs the npm steps of the Maven build, each with a time limit so a stuck registry fails the build
# instead of hanging it. `install` runs `npm ci` only when package-lock.json changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v npm >/dev/null || { echo "npm not found: run scripts/install-deps.sh (needs Node 20+)" >&2; exit 1; }
case "${1:-}" in
  install)
    stamp=node_modules/.picotunnel-ci-stamp
    if [ -f "$stamp" ] && cmp -s package-lock.json "$stamp"; then
      exit 0
    fi
    timeout 600 npm ci --no-audit --no-fund --prefer-offline --fetch-timeout=60000 --fetch-retries=3
    cp package-lock.json "$stamp"
    ;;
  build)
    timeout 300 npm run --silent build
    ;;
  test)
    timeout 300 npm test --silent
    ;;
  *)
    echo "usage: npm.sh install|build|test" >&2
    exit 2
    ;;
esac

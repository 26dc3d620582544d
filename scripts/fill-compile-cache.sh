#!/usr/bin/env bash
# Fills Node's compile cache (the directory in NODE_COMPILE_CACHE) with every module the services and
# their CLIs load: started from it, a service neither loads Node's TypeScript stripper (about 20 MB of
# RSS in each process) nor compiles its modules again (docs/decisions/0038). The image runs it at
# build time, as the user the services run as (the cache is kept per user). Each entry loads all its
# modules, then stops at its configuration check (exit 2): nothing is configured here. The render
# worker's modules load in a thread of the consumer's pool, so they are imported directly.
set -euo pipefail
: "${NODE_COMPILE_CACHE:?set NODE_COMPILE_CACHE to the cache directory}"
cd "$(dirname "$0")/.."
for entry in server/src/main.ts consumer/src/main.ts gateway/src/main.ts server/src/cli/*.ts; do
  code=0
  env -i PATH="$PATH" NODE_COMPILE_CACHE="$NODE_COMPILE_CACHE" NODE_OPTIONS="${NODE_OPTIONS:-}" node "$entry" </dev/null >/dev/null 2>&1 || code=$?
  [[ $code -eq 2 ]] || { echo "fill-compile-cache: $entry exited with $code, not at its configuration check (2)" >&2; exit 1; }
done
node --input-type=module -e 'await import("./consumer/src/render/worker.ts")'

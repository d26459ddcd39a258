#!/bin/sh
# Builds @@ident@@.wasm with cargo (the target and stack size are in .cargo/config.toml).
set -eu
cd "$(dirname "$0")"
if ! command -v cargo >/dev/null 2>&1; then
  echo "build.sh: error: cargo is not installed; install Rust from https://rustup.rs" >&2
  exit 1
fi
if command -v rustup >/dev/null 2>&1 &&
  ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "build.sh: adding the Rust target wasm32-unknown-unknown (rustup target add)"
  if ! rustup target add wasm32-unknown-unknown; then
    echo "build.sh: error: the Rust target wasm32-unknown-unknown is not installed and" \
      "could not be added; run: rustup target add wasm32-unknown-unknown" >&2
    exit 1
  fi
fi
cargo build --release
cp "${CARGO_TARGET_DIR:-target}/wasm32-unknown-unknown/release/@@ident@@.wasm" @@ident@@.wasm
echo "built @@ident@@.wasm"

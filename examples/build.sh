#!/usr/bin/env bash
# Rebuilds every example plugin's .wasm from its source, in place:
#   marker-scanner    WAT            cargo run --example wat2wasm
#   marker-find       WAT            (same)
#   rust-marker       Rust std       rustup target wasm32-wasip1
#   rust-find         Rust, plugbox-guest (abi/rust)   rustup target wasm32-unknown-unknown
#   c-marker          C, wasi-libc   Debian clang, lld, wasi-libc, libclang-rt-dev-wasm32
#   signature-list    C, wasi-libc   (same)
#   as-marker         AssemblyScript npm package assemblyscript
#   sbom-host/plugins/banned-packages           Rust std, command   rustup target wasm32-wasip1
#   sbom-host/plugins/env-abi/banned-packages   Rust std, env ABI on plugbox-guest   (same)
# A missing toolchain is installed when possible (set PLUGBOX_NO_INSTALL=1 to forbid it) and
# the plugins that need it are skipped, with a message, when it cannot be had.
# Exit status: 0 when every build that ran succeeded (skips are not failures), 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")"
plugins=$PWD/plugins
built=() skipped=() failed=()
may_install() { [ "${PLUGBOX_NO_INSTALL:-0}" != 1 ]; }
result() { # name, command...
  local name=$1; shift
  if "$@"; then built+=("$name"); else failed+=("$name"); fi
}

# Rust: source paths in the modules (panic locations) relative to this repository, so that a
# rebuild is byte-identical wherever the clone is. Appended to each plugin's own rustflags.
root=$(cd .. && pwd)
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="--remap-path-prefix=$root=plugbox"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$root=plugbox"

# --- WAT
result marker-scanner cargo run -q --example wat2wasm -- \
  "$plugins/marker-scanner/marker_scanner.wat" "$plugins/marker-scanner/marker_scanner.wasm"
result marker-find cargo run -q --example wat2wasm -- \
  "$plugins/marker-find/marker_find.wat" "$plugins/marker-find/marker_find.wasm"

# --- Rust std for wasm32-wasip1
build_rust() ( # plugin directory, file name of the built module
  cd "$1" &&
    cargo build -q --release --locked --target wasm32-wasip1 --target-dir target &&
    cp "target/wasm32-wasip1/release/$2.wasm" "$2.wasm"
)
if rustup target list --installed 2>/dev/null | grep -qx wasm32-wasip1 ||
  { may_install && timeout 300 rustup target add wasm32-wasip1; }; then
  result rust-marker build_rust "$plugins/rust-marker" rust_marker
  result banned-packages build_rust "$PWD/sbom-host/plugins/banned-packages" banned-packages
  result banned-packages-env build_rust "$PWD/sbom-host/plugins/env-abi/banned-packages" banned_packages
else
  skipped+=("rust-marker, banned-packages, banned-packages-env: the rustup target wasm32-wasip1 is not installed and could not be added")
fi

# --- Rust on the guest crate (abi/rust) for wasm32-unknown-unknown
build_rust_unknown() ( # plugin directory, file name of the built module
  cd "$1" &&
    cargo build -q --release --locked --target wasm32-unknown-unknown --target-dir target &&
    cp "target/wasm32-unknown-unknown/release/$2.wasm" "$2.wasm"
)
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown ||
  { may_install && timeout 300 rustup target add wasm32-unknown-unknown; }; then
  result rust-find build_rust_unknown "$plugins/rust-find" rust_find
else
  skipped+=("rust-find: the rustup target wasm32-unknown-unknown is not installed and could not be added")
fi

# --- C with wasi-libc (reactor)
have_c() {
  command -v clang >/dev/null && command -v wasm-ld >/dev/null &&
    [ -f /usr/lib/wasm32-wasi/libc.a ] &&
    ls "$(clang -print-resource-dir 2>/dev/null)"/lib/wasi/libclang_rt.builtins-wasm32.a >/dev/null 2>&1
}
if ! have_c && may_install && command -v apt-get >/dev/null; then
  echo "installing clang, lld, wasi-libc and the wasm32 compiler runtime with apt-get..."
  timeout 600 apt-get update -qq >/dev/null &&
    timeout 600 apt-get install -y -qq clang lld wasi-libc libclang-rt-dev-wasm32 >/dev/null
fi
build_c() { # dir, output, source
  clang --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wl,--strip-all \
    -o "$plugins/$1/$2" "$plugins/$1/$3"
}
if have_c; then
  result c-marker build_c c-marker c_marker.wasm marker.c
  result signature-list build_c signature-list signature_list.wasm signatures.c
else
  skipped+=("c-marker, signature-list: clang with wasm-ld, wasi-libc and libclang-rt-dev-wasm32 are not installed")
fi

# --- AssemblyScript, default settings
prefix=${TMPDIR:-/tmp}/plugbox-asc
asc=$(command -v asc || true)
[ -z "$asc" ] && [ -x "$prefix/node_modules/.bin/asc" ] && asc=$prefix/node_modules/.bin/asc
if [ -z "$asc" ] && may_install && command -v npm >/dev/null; then
  echo "installing assemblyscript@0.28.20 with npm into $prefix..."
  timeout 300 npm install --silent --no-audit --no-fund --prefix "$prefix" assemblyscript@0.28.20 >/dev/null &&
    asc=$prefix/node_modules/.bin/asc
fi
if [ -n "$asc" ] && [ -x "$asc" ]; then
  result as-marker "$asc" "$plugins/as-marker/assembly/index.ts" --outFile "$plugins/as-marker/as_marker.wasm"
else
  skipped+=("as-marker: the AssemblyScript compiler (npm package assemblyscript) is not available")
fi

echo "built: ${built[*]:-none}"
for s in "${skipped[@]}"; do echo "skipped $s"; done
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]}"
  exit 1
fi

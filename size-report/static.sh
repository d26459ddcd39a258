#!/usr/bin/env bash
# Static builds of the plugbox CLI: glibc with `-C target-feature=+crt-static`, and musl when
# the rustup target x86_64-unknown-linux-musl is installed or can be added (skipped with a
# message otherwise). Each binary must be static and must find the markers in
# examples/samples with the bundled example plugins.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${SIZE_REPORT_TARGET:-$PWD/target/size-report}/static

check() { # label, binary
  local label=$1 bin=$2 output status
  # A static binary (static-pie included) needs no shared library.
  if readelf -d "$bin" | grep -q NEEDED; then
    echo "FAIL: $label: $bin needs shared libraries:"
    readelf -d "$bin" | grep NEEDED
    return 1
  fi
  set +e
  output=$("$bin" scan --plugins examples/plugins examples/samples 2>&1)
  status=$?
  set -e
  if [ "$status" -ne 1 ] || ! grep -q "marked.txt: Custom.MaliciousMarker \[score 85\] by 'Rust Marker Scanner'" <<<"$output" ||
    ! grep -q "installer.sh: Signature.CurlPipeShell" <<<"$output"; then
    echo "FAIL: $label: the static binary did not report the example findings (exit $status):"
    printf '%s\n' "$output"
    return 1
  fi
  echo "$label: static, $(stat -c %s "$bin") bytes, scans the examples (exit 1, $(grep -c '\[score' <<<"$output") findings)"
}

host=$(rustc -vV | sed -n 's/^host: //p')
echo "building the CLI for $host with +crt-static..."
RUSTFLAGS="-C target-feature=+crt-static" cargo build -q --release --locked --bin plugbox \
  --target "$host" --target-dir "$out"
check "glibc +crt-static ($host)" "$out/$host/release/plugbox"

musl=x86_64-unknown-linux-musl
if [ "$(uname -m)" != x86_64 ]; then
  echo "skipped musl: not an x86_64 machine"
elif rustup target list --installed 2>/dev/null | grep -qx "$musl" || timeout 300 rustup target add "$musl"; then
  echo "building the CLI for $musl..."
  cargo build -q --release --locked --bin plugbox --target "$musl" --target-dir "$out"
  check "musl ($musl)" "$out/$musl/release/plugbox"
else
  echo "skipped musl: the rustup target $musl is not installed and could not be added"
fi

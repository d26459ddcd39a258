#!/usr/bin/env bash
# plugbox against the wasmtime peer (PRX-SD's host semantics on wasmtime 41), whole process:
# the workloads of benches/workloads.rs on both hosts, alternating, medians and ratios written
# to benches/RESULTS.md. For people, not CI (about 10 minutes on 2 cores).
#
#   bash benches/compare.sh
#
# Environment: PEER (the wasmtime-ref binary; default
# /work/shared/peers/wasmtime-ref/target/release/wasmtime-ref), ROUNDS (default 9), BUDGET
# (seconds per workload before stopping at 3 rounds or more; default 60), QUICK=1 (the bench's
# quick sizes, to try the script), OUT (default benches/RESULTS.md), CARGO_TARGET_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."

peer_dir=/work/shared/peers/wasmtime-ref
PEER=${PEER:-$peer_dir/target/release/wasmtime-ref}
if [ ! -x "$PEER" ]; then
  {
    echo "compare.sh: error: the peer binary is missing: $PEER"
    echo "Build it first (about 6 minutes cold on 2 cores):"
    echo "    cd $peer_dir && cargo build --release -j2"
    echo "or set PEER=/path/to/wasmtime-ref."
  } >&2
  exit 1
fi
if ! command -v python3 >/dev/null; then
  echo "compare.sh: error: python3 is needed (it times the runs: benches/compare.py)" >&2
  exit 1
fi
if ! command -v cargo >/dev/null; then
  echo "compare.sh: error: cargo is needed (it builds plugbox in release)" >&2
  exit 1
fi

exec python3 benches/compare.py --peer "$PEER" --out "${OUT:-benches/RESULTS.md}"

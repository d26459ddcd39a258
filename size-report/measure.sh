#!/usr/bin/env bash
# What plugbox costs a host. Builds examples/sbom-host without and with --features wasm-plugins
# (release: lto, codegen-units = 1, strip, panic = abort) at opt-level 3 and "s", and the
# plugbox CLI; reports binary sizes, the growth, the crates the feature adds and the largest
# contributors; writes size-report/REPORT.md.
#
#   bash size-report/measure.sh           measure and write the report
#   bash size-report/measure.sh --check   also fail when a budget below is exceeded
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
host=examples/sbom-host
out=${SIZE_REPORT_TARGET:-$root/target/size-report}
report=size-report/REPORT.md

# Budgets, checked with --check.
max_growth=$((16 * 1024 * 1024 / 10))  # growth of the host at opt-level 3 (1.6 MiB)
max_added_crates=12                 # crates the feature adds to the host
max_cli=$((5 * 1024 * 1024 / 2))    # stripped plugbox CLI

size_of() { stat -c %s "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.2f MiB", b / 1048576 }'; }

build_host() { # opt-level, features ("" or wasm-plugins), extra env...
  local opt=$1 features=$2
  shift 2
  env CARGO_PROFILE_RELEASE_OPT_LEVEL="$opt" "$@" \
    cargo build -q --release --locked --manifest-path "$host/Cargo.toml" \
    --target-dir "$out/opt-$opt" ${features:+--features "$features"}
  local bin=$out/opt-$opt/release/sbom-host
  cp "$bin" "$out/sbom-host-$opt-${features:-plain}"
}

mkdir -p "$out"
declare -A size
for opt in 3 s; do
  for features in "" wasm-plugins; do
    echo "building sbom-host at opt-level $opt ${features:+with --features $features}..." >&2
    build_host "$opt" "$features"
    size[$opt-${features:-plain}]=$(size_of "$out/sbom-host-$opt-${features:-plain}")
  done
done

crates() { # features
  cargo tree -q --locked --manifest-path "$host/Cargo.toml" -e normal --prefix none \
    ${1:+--features "$1"} --format '{p}' | sed 's/ (.*//; s/ v[0-9].*//' | sort -u
}
crates "" >"$out/crates-plain"
crates wasm-plugins >"$out/crates-plugins"
added=$(comm -13 "$out/crates-plain" "$out/crates-plugins")
added_count=$(printf '%s\n' "$added" | grep -c . || true)

echo "building sbom-host with symbols for the contributor table..." >&2
env CARGO_PROFILE_RELEASE_OPT_LEVEL=3 CARGO_PROFILE_RELEASE_STRIP=false \
  cargo build -q --release --locked --manifest-path "$host/Cargo.toml" \
  --target-dir "$out/symbols" --features wasm-plugins
symbols=$out/symbols/release/sbom-host
# Demangled symbol sizes summed by the crate named first in each symbol.
nm -C --size-sort --print-size --radix=d "$symbols" | awk '
  NF >= 4 {
    size = $2 + 0; name = $4; for (i = 5; i <= NF; i++) name = name " " $i
    sub(/^</, "", name); sub(/^_</, "", name)
    crate = name; sub(/::.*/, "", crate); sub(/[ <>(].*/, "", crate)
    if (crate == name || crate == "") crate = "(other)"
    total[crate] += size
  }
  END { for (c in total) printf "%d %s\n", total[c], c }' | sort -rn >"$out/by-crate"
nm -C --size-sort --print-size --radix=d "$symbols" | awk 'NF >= 4 {
    size = $2 + 0; name = $4; for (i = 5; i <= NF; i++) name = name " " $i
    if (length(name) > 90) name = substr(name, 1, 87) "..."
    printf "%d\t%s\n", size, name }' | sort -rn >"$out/symbols-by-size"
sed -n '1,12p' "$out/symbols-by-size" >"$out/top-symbols"

echo "building the plugbox CLI..." >&2
cargo build -q --release --locked --bin plugbox
cli=$(size_of target/release/plugbox)

growth3=$((size[3-wasm-plugins] - size[3-plain]))
growths=$((size[s-wasm-plugins] - size[s-plain]))

{
  echo "# plugbox size report"
  echo
  echo "Made by \`bash size-report/measure.sh\` on $(date -u +%Y-%m-%d) with $(rustc --version)."
  echo "The host is \`examples/sbom-host\`, an SBOM differ; \`--features wasm-plugins\` embeds plugbox"
  echo "(\`default-features = false\`). Release profile: lto, codegen-units = 1, strip, panic = abort."
  echo
  echo "| opt-level | without plugins | with plugins | growth |"
  echo "|---|---|---|---|"
  for opt in 3 s; do
    g=$((size[$opt-wasm-plugins] - size[$opt-plain]))
    echo "| $opt | ${size[$opt-plain]} B ($(mib "${size[$opt-plain]}")) | ${size[$opt-wasm-plugins]} B ($(mib "${size[$opt-wasm-plugins]}")) | $g B ($(mib "$g")) |"
  done
  echo
  echo "Stripped \`plugbox\` CLI (opt-level 3): $cli B ($(mib "$cli"))."
  echo
  echo "## Crates the feature adds ($added_count)"
  echo
  printf '%s\n' "$added" | sed 's/^/- /'
  echo
  echo "## Largest contributors (opt-level 3, with plugins, before stripping)"
  echo
  echo "By crate, summed symbol sizes from \`nm --size-sort\`:"
  echo
  echo "| crate | bytes |"
  echo "|---|---|"
  head -15 "$out/by-crate" | awk '{ printf "| %s | %d |\n", $2, $1 }'
  echo
  echo "Largest symbols:"
  echo
  echo "| bytes | symbol |"
  echo "|---|---|"
  awk -F'\t' '{ gsub(/\|/, "\\|", $2); printf "| %d | `%s` |\n", $1, $2 }' "$out/top-symbols"
  echo
  echo "## Budgets (checked in CI by \`bash size-report/measure.sh --check\`)"
  echo
  echo "| what | measured | budget |"
  echo "|---|---|---|"
  echo "| growth at opt-level 3 | $growth3 B ($(mib "$growth3")) | $max_growth B ($(mib "$max_growth")) |"
  echo "| crates added | $added_count | $max_added_crates |"
  echo "| plugbox CLI | $cli B ($(mib "$cli")) | $max_cli B ($(mib "$max_cli")) |"
} >"$report"
cat "$report"

if [ "${1:-}" = --check ]; then
  fail=0
  [ "$growth3" -le "$max_growth" ] || { echo "FAIL: growth at opt-level 3 is $growth3 B, budget $max_growth B"; fail=1; }
  [ "$added_count" -le "$max_added_crates" ] || { echo "FAIL: the feature adds $added_count crates, budget $max_added_crates"; fail=1; }
  [ "$cli" -le "$max_cli" ] || { echo "FAIL: the CLI is $cli B, budget $max_cli B"; fail=1; }
  [ "$fail" = 0 ] && echo "size budgets: all within limits (growth $growth3 B, crates $added_count, CLI $cli B)"
  exit "$fail"
fi

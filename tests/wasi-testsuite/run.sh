#!/usr/bin/env bash
# Runs the read-only, socket-free part of the WASI preview1 test suite
# (https://github.com/WebAssembly/wasi-testsuite, prebuilt binaries on its branch
# `prod/testsuite-base`) through `plugbox run`, and prints PASS / FAIL / SKIP per test and a total.
# Not run by CI: it needs the external checkout. See README.md next to this script.
#
#   bash tests/wasi-testsuite/run.sh TESTSUITE_DIR [NAME_FILTER]
#
# TESTSUITE_DIR is a checkout of the suite (its `tests/` directory, or one of its
# `tests/*/testsuite/wasm32-wasip1` directories); every `wasm32-wasip1` directory below it is run.
# NAME_FILTER, a bash pattern, runs only the tests whose `SUITE/NAME` matches it.
# Environment: PLUGBOX (default: target/release/plugbox of this repository), MAX_EXEC_MS (default
# 30000: wasmi interprets, and some tests loop a lot), ALL=1 (run the skipped tests too).
# Needs bash 4 and jq.
#
# Each test is MODULE.wasm with an optional MODULE.json spec (the suite's legacy format):
#   args      -> the module's arguments, after `-- MODULE`, so passed verbatim
#   env       -> one `--env KEY=VALUE` each
#   root      -> `--dir TESTDIR/ROOT::/` (the guest sees it as `/`), as the suite's wasmtime
#                adapter does; the older `dirs` list -> `--dir TESTDIR/DIR::DIR` each
#   exit_code -> the expected exit code (default 0)
#   stdout    -> what stdout must start with (default: not checked); the reference runner reads
#                that many characters of stdout and compares them, so this does the same
#   stderr    -> not checked: plugbox escapes control characters in the module's stderr
# Stdin is /dev/null.
#
# Which tests are skipped, and why (the rule, from the test's name and spec):
#   1. Sockets: a spec with `proposals` (`sockets`, `http`) or a name starting `sockets-` or
#      `http-`. plugbox has no sockets. (The preview1 `sock_shutdown-*` tests only check the
#      error codes on descriptors that are not sockets, so they run.)
#   2. Writes: plugbox's preopens are read-only (ROFS), so a test that must create, change or
#      remove files cannot pass by design:
#      a. names saying so: `pwrite` (the C suite's pwrite-with-*);
#      b. in the Rust suite, every test whose spec has a `root`: that directory (`fs-tests.dir`)
#         is an empty scratch directory, and each of these tests first creates the files or
#         directories it works on (`create_tmp_dir`, `create_file`, `path_open` with
#         `OFLAGS_CREAT`, `path_symlink`), except `close_preopen`, `dir_fd_op_failures`,
#         `path_open_nonblock` and `path_open_preopen`, which only use the preopen itself (and
#         check that writes to it fail) and so run. (`dangling_symlink` returns early, passing,
#         when it cannot create its symlink: a pass that tests nothing, so it is skipped too.)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
plugbox=${PLUGBOX:-$repo/target/release/plugbox}
max_exec_ms=${MAX_EXEC_MS:-30000}
all=${ALL:-0}

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: bash tests/wasi-testsuite/run.sh TESTSUITE_DIR [NAME_FILTER]" >&2
  exit 2
fi
suite_dir=$1
filter=${2:-*}
[ -d "$suite_dir" ] || { echo "run.sh: $suite_dir is not a directory" >&2; exit 2; }
[ -x "$plugbox" ] || { echo "run.sh: $plugbox not found; run \`cargo build --release\` or set PLUGBOX" >&2; exit 2; }
command -v jq >/dev/null || { echo "run.sh: needs jq" >&2; exit 2; }

# Rust-suite tests with a root that write nothing (rule 2b).
read_only_rust='close_preopen dir_fd_op_failures path_open_nonblock path_open_preopen'

# Why a test is skipped, or nothing when it runs. $1 suite, $2 name, $3 spec file (may be absent).
skip_reason() {
  local suite=$1 name=$2 spec=$3
  if [ -f "$spec" ] && jq -e '(.proposals // []) | length > 0' "$spec" >/dev/null; then
    echo "needs sockets/http (spec proposals)"; return
  fi
  case $name in sockets-* | http-*) echo "needs sockets"; return ;; esac
  case $name in *pwrite*) echo "needs writes (name)"; return ;; esac
  if [ "$suite" = rust ] && [ -f "$spec" ] && jq -e '.root != null' "$spec" >/dev/null; then
    case " $read_only_rust " in
      *" $name "*) ;;
      *) echo "needs writes (creates files in its scratch root)"; return ;;
    esac
  fi
}

pass=0 fail=0 skip=0
failed=()
out=$(mktemp) err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

while IFS= read -r -d '' wasm; do
  dir=$(dirname "$wasm")
  name=$(basename "$wasm" .wasm)
  # tests/SUITE/testsuite/wasm32-wasip1/NAME.wasm
  suite=$(basename "$(dirname "$(dirname "$dir")")")
  spec=$dir/$name.json
  id=$suite/$name
  # shellcheck disable=SC2053 # the filter is a pattern
  [[ $id == $filter ]] || continue

  reason=$(skip_reason "$suite" "$name" "$spec")
  if [ -n "$reason" ] && [ "$all" != 1 ]; then
    printf 'SKIP %s: %s\n' "$id" "$reason"
    skip=$((skip + 1))
    continue
  fi

  flags=(--max-exec-ms "$max_exec_ms")
  args=()
  expected_code=0
  expected_stdout=
  check_stdout=0
  if [ -f "$spec" ]; then
    # NUL-separated, so that arguments and values may hold anything but NUL.
    mapfile -d '' args < <(jq -j '(.args // [])[] | ., "\u0000"' "$spec")
    while IFS= read -r -d '' pair; do
      flags+=(--env "$pair")
    done < <(jq -j '(.env // {}) | to_entries[] | "\(.key)=\(.value)", "\u0000"' "$spec")
    root=$(jq -r '.root // empty' "$spec")
    [ -n "$root" ] && flags+=(--dir "$dir/$root::/")
    while IFS= read -r -d '' d; do
      flags+=(--dir "$dir/$d::$d")
    done < <(jq -j '(.dirs // [])[] | ., "\u0000"' "$spec")
    expected_code=$(jq -r '.exit_code // 0' "$spec")
    if jq -e 'has("stdout")' "$spec" >/dev/null; then
      check_stdout=1
      expected_stdout=$(jq -j '.stdout' "$spec"; printf x)
      expected_stdout=${expected_stdout%x}
    fi
  fi

  (cd "$dir" && "$plugbox" run "${flags[@]}" -- "$wasm" "${args[@]}") </dev/null >"$out" 2>"$err"
  code=$?
  problem=
  if [ "$code" != "$expected_code" ]; then
    problem="exit code $code, expected $expected_code"
  elif [ "$check_stdout" = 1 ]; then
    actual=$(head -c "${#expected_stdout}" "$out"; printf x)
    actual=${actual%x}
    [ "$actual" = "$expected_stdout" ] || problem="stdout differs"
  fi
  if [ -z "$problem" ]; then
    printf 'PASS %s\n' "$id"
    pass=$((pass + 1))
  else
    printf 'FAIL %s: %s\n' "$id" "$problem"
    sed -e 's/^/    stdout: /' "$out" | head -n 5
    sed -e 's/^/    stderr: /' "$err" | head -n 5
    fail=$((fail + 1))
    failed+=("$id")
  fi
done < <(find "$suite_dir" -path '*testsuite/wasm32-wasip1/*.wasm' -print0 | sort -z)

total=$((pass + fail + skip))
echo
echo "total $total: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]

#!/usr/bin/env python3
"""Timing helper of benches/compare.sh: plugbox against the wasmtime peer, whole process.

Run it through `bash benches/compare.sh` (which checks the peer binary first). Steps:

1. asks the peer which example plugins it loads (each example directory alone, on
   examples/samples/marked.txt); the plugin sets are built from those only, so that both hosts
   do the same work;
2. `cargo bench --bench workloads -- --prepare DIR --examples ...` builds plugbox (release)
   and writes the inputs, the plugin copies and DIR/workloads.json: every workload's two
   command lines and the report's tables (the same workloads as the plugbox-only bench);
3. runs each workload once per host (warm-up; the exit code must be 1: every file set holds a
   marked file), then alternately plugbox, peer, plugbox, peer ... (ROUNDS rounds, fewer once
   a workload has taken BUDGET seconds, never fewer than 3), each a whole process from spawn to
   exit, stdout and stderr to /dev/null, from DIR;
4. writes the medians, ratios, command lines, machine and binary sizes to RESULTS.md.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MARKER_FIND = "marker-find"


def sh(*args):
    return subprocess.run(args, capture_output=True, text=True).stdout.strip()


def die(msg):
    print(f"compare.sh: error: {msg}", file=sys.stderr)
    sys.exit(1)


def run(argv, cwd, capture=False):
    """One whole process; returns (seconds, exit code, stderr or None)."""
    err = subprocess.PIPE if capture else subprocess.DEVNULL
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=err)
    elapsed = time.perf_counter() - start
    return elapsed, proc.returncode, proc.stderr.decode(errors="replace") if capture else None


def probe_peer(peer):
    """The examples the peer loads, and why it refuses the others."""
    examples = os.path.join(REPO, "examples", "plugins")
    sample = os.path.join(REPO, "examples", "samples", "marked.txt")
    loaded, refused = [], {}
    for name in sorted(os.listdir(examples)):
        path = os.path.join(examples, name)
        if name == MARKER_FIND or not os.path.isfile(os.path.join(path, "plugin.json")):
            continue
        proc = subprocess.run([peer, "scan", "--lenient-permissions", "--plugins", path, sample],
                              capture_output=True, text=True)
        warnings = [l for l in proc.stderr.splitlines() if "failed to load" in l]
        if warnings or proc.returncode not in (0, 1):
            why = " / ".join(warnings) or f"exit {proc.returncode}: {proc.stderr.strip()}"
            refused[name] = why.replace("`", "'")
        else:
            loaded.append(name)
    return loaded, refused


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def fmt_time(s):
    if s is None:
        return "-"
    if s >= 1:
        return f"{s:.3f} s"
    if s >= 1e-3:
        return f"{s * 1e3:.2f} ms"
    return f"{s * 1e6:.1f} µs"


def fmt_ratio(a, b):
    return "-" if a is None or b is None or b <= 0 else f"{a / b:.2f}"


def verdict(target, ratio, gbps):
    """The target, and whether it is met: "plugbox/peer <= X" on the ratio, ">= X GB/s"."""
    if not target:
        return ""
    words = target.split()
    try:
        if words[0] == "plugbox/peer" and words[1] == "<=" and ratio is not None:
            return f"{target}: {'met' if ratio <= float(words[2]) else '**not met**'}"
        if words[0] == ">=" and words[2] == "GB/s" and gbps is not None:
            return f"{target}: {'met' if gbps >= float(words[1]) else '**not met**'}"
    except (IndexError, ValueError):
        pass
    return target


def size_of(path):
    size = os.path.getsize(path)
    stripped = None
    if shutil.which("strip"):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "stripped")
            if subprocess.run(["strip", "-o", out, path], capture_output=True).returncode == 0:
                stripped = os.path.getsize(out)
    return size, stripped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--out", default=os.path.join(REPO, "benches", "RESULTS.md"))
    ap.add_argument("--rounds", type=int, default=int(os.environ.get("ROUNDS", "9")))
    ap.add_argument("--budget", type=float, default=float(os.environ.get("BUDGET", "60")))
    ap.add_argument("--quick", action="store_true", default=os.environ.get("QUICK") == "1")
    args = ap.parse_args()
    peer = os.path.abspath(args.peer)
    started = time.perf_counter()
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    uptime_before = sh("uptime")
    commit = sh("git", "-C", REPO, "rev-parse", "--short", "HEAD")
    dirty = sh("git", "-C", REPO, "status", "--porcelain", "--untracked-files=no", "--",
               ".", ":!benches/RESULTS.md")

    print("== which examples the peer loads", flush=True)
    loaded, refused = probe_peer(peer)
    for name, why in refused.items():
        print(f"   peer refuses {name}: {why}", flush=True)
    if not loaded:
        die("the peer loads none of the example plugins")

    target_dir = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    data = os.path.join(target_dir, "plugbox-compare")
    shutil.rmtree(data, ignore_errors=True)
    print(f"== cargo bench --bench workloads -- --prepare {data} (builds plugbox in release)",
          flush=True)
    cmd = ["cargo", "bench", "--bench", "workloads", "--", "--prepare", data,
           "--examples", ",".join(loaded)]
    if args.quick:
        cmd.append("--quick")
    if subprocess.run(cmd, cwd=REPO, stdout=subprocess.DEVNULL).returncode != 0:
        die("building plugbox or preparing the inputs failed: " + " ".join(cmd))
    with open(os.path.join(data, "workloads.json")) as f:
        plan = json.load(f)
    plugbox = plan["plugbox"]

    results = {}  # id -> {"plugbox": [..], "peer": [..]}
    notes = []
    for w in plan["workloads"]:
        sides = [("plugbox", [plugbox] + w["plugbox_args"])]
        if w["peer"]:
            sides.append(("peer", [peer] + w["peer_args"]))
        for side, argv in sides:
            _, code, err = run(argv, data, capture=True)
            if code != 1:
                die(f"{w['id']}: {side} exited {code}, expected 1 (a marked file is found)\n"
                    f"  {w[side + '_shown']}\n{err}")
            for line in err.splitlines():
                if side == "peer" and "WARN" in line:
                    note = f"{w['id']}, peer: {line.strip().replace('`', chr(39))}"
                    if len(notes) < 20 and note not in notes:
                        notes.append(note)
        samples = {side: [] for side, _ in sides}
        t0 = time.perf_counter()
        for r in range(args.rounds):
            for side, argv in sides:
                samples[side].append(run(argv, data)[0])
            if r + 1 >= 3 and time.perf_counter() - t0 > args.budget:
                break
        results[w["id"]] = samples
        line = "   ".join(f"{side} {fmt_time(median(s))}" for side, s in samples.items())
        print(f"   {w['id']:<22} {line}   ({len(samples['plugbox'])} rounds)", flush=True)

    uptime_after = sh("uptime")
    elapsed = time.perf_counter() - started
    workloads = {w["id"]: w for w in plan["workloads"]}

    def med(wid, side):
        s = results[wid].get(side)
        return median(s) if s else None

    out = []
    add = out.append
    add("# plugbox against the wasmtime peer: whole-process benchmarks")
    add("")
    add("Re-run (writes this file; about 7 minutes on 2 cores; not part of CI):")
    add("")
    add("```sh")
    add("bash benches/compare.sh")
    add("```")
    add("")
    add("It needs the peer built first (`cd /work/shared/peers/wasmtime-ref && cargo build "
        "--release -j2`, or `PEER=/path/to/wasmtime-ref`), builds plugbox in release itself, "
        "and takes `ROUNDS` (default 9), `BUDGET` (seconds per workload after which it stops at "
        "3 rounds or more, default 60) and `QUICK=1` (the quick sizes, for trying the script).")
    add("")
    add("## How it measures")
    add("")
    add("- The workloads, inputs and plugin copies are those of the plugbox-only bench "
        "(`benches/workloads.rs`; `cargo bench --bench workloads`), written by its `--prepare` "
        "mode: deterministic xorshift bytes of file type `unknown`, file 0 of each set ending "
        "with `MALICIOUS_MARKER`, so every run exits 1 (checked once per host before timing).")
    add("- Each figure is the median of whole processes (spawn to exit, timed by "
        "`benches/compare.py` with `time.perf_counter`), stdout and stderr to `/dev/null`, "
        "plugbox and the peer alternating (A B A B ...) on the same files with the same plugin "
        "directories. Ratios are plugbox/peer: below 1 means plugbox is faster.")
    add("- plugbox runs with default settings (`--jobs` = the available cores); the peer is "
        "single-threaded. The `--jobs 1` row shows plugbox on one thread.")
    add("- Per-file cost = (median time for N files - median time for 1 file) / (N - 1); in "
        "the scaling table also between the two largest file counts, which leaves out the "
        "plugins' compilation (most of a 1-file run on the peer, and noisy).")
    add("- GB/s = bytes / median whole-process time (GB = 10^9 bytes), process start and "
        "plugin loading included.")
    add(f"- Plugin sets (1, 8, 32 plugins, and the copies for the second cold-start row) are "
        f"copies of the examples the peer loads, taken in turn and renamed "
        f"(`NN-<example>`, manifest name `<name> #NN`): {', '.join(plan['examples'])}.")
    if refused:
        add("- The peer does not load these bundled examples (with `--lenient-permissions`, "
            "which the partial `permissions` objects of our manifests need); they are left out "
            "of the plugin sets but are in the first cold-start row, where the peer compiles "
            "them and then fails to load them:")
        for name, why in refused.items():
            add(f"  - `{name}`: {why}")
    add("- The 64 MiB marker workload uses a copy of the WAT `marker-scanner` with "
        "`max_memory_mb` 200 and `max_exec_ms` 10000 on both hosts (the peer turns "
        "`max_exec_ms` into fuel, 10^6 per ms: the original 1000 ms is about what the loop "
        "needs, so it would run out of fuel; the peer has no memory cap).")
    if "64m-marker-find" not in {w["id"] for w in plan["workloads"]}:
        add("- `examples/plugins/marker-find` does not exist in this checkout, so its "
            "throughput row (target >= 1 GB/s whole process) is missing; it appears on a "
            "re-run once the plugin is there.")
    add("")
    add("## Results")
    add("")
    summary_at = len(out)
    summary = []
    for table in plan["tables"]:
        add(f"### {table['title']}")
        add("")
        kinds = {r["kind"] for r in table["rows"]}
        if kinds == {"throughput"}:
            add("| workload | plugbox | peer | plugbox/peer (time) | plugbox GB/s | peer GB/s "
                "| target |")
            add("|---|---|---|---|---|---|---|")
        else:
            add("| workload | plugbox | peer | plugbox/peer | target |")
            add("|---|---|---|---|---|")
        for row in table["rows"]:
            ids = row["ids"]
            target = row["target"] or ""
            if row["kind"] == "per_file":
                n = workloads[ids[1]]["files"] - workloads[ids[0]]["files"]
                per = {}
                for side in ("plugbox", "peer"):
                    a, b = med(ids[0], side), med(ids[1], side)
                    per[side] = None if a is None or b is None else (b - a) / n
                a, b = per["plugbox"], per["peer"]
                ratio = a / b if a is not None and b else None
                add(f"| {row['label']} | {fmt_time(a)} per file | {fmt_time(b)} per file "
                    f"| {fmt_ratio(a, b)} | {verdict(target, ratio, None)} |")
                if target:
                    summary.append(f"- {row['label']} (per-file cost): plugbox/peer "
                                   f"{fmt_ratio(a, b)}; target {verdict(target, ratio, None)}")
            elif row["kind"] == "throughput":
                wid = ids[0]
                a, b = med(wid, "plugbox"), med(wid, "peer")
                rate = lambda t: None if t is None else workloads[wid]["bytes"] / t / 1e9
                gb = lambda t: "-" if t is None else f"{rate(t):.2f}"
                ratio = a / b if a is not None and b else None
                add(f"| {row['label']} | {fmt_time(a)} | {fmt_time(b)} | {fmt_ratio(a, b)} "
                    f"| {gb(a)} | {gb(b)} | {verdict(target, ratio, rate(a))} |")
                if target:
                    summary.append(f"- 64 MiB, {row['label']}: plugbox {gb(a)} GB/s, peer "
                                   f"{gb(b)} GB/s, plugbox/peer {fmt_ratio(a, b)}; target "
                                   f"{verdict(target, ratio, rate(a))}")
            else:
                a, b = med(ids[0], "plugbox"), med(ids[0], "peer")
                ratio = a / b if a is not None and b else None
                add(f"| {row['label']} | {fmt_time(a)} | {fmt_time(b)} | {fmt_ratio(a, b)} "
                    f"| {verdict(target, ratio, None)} |")
                if target:
                    summary.append(f"- cold start, {row['label']}: plugbox/peer "
                                   f"{fmt_ratio(a, b)}; target {verdict(target, ratio, None)}")
        add("")
    out[summary_at:summary_at] = ["The issue's targets:", ""] + summary + [""]
    add("Rounds per workload (each round: one plugbox run, one peer run): " + ", ".join(
        f"`{wid}` {len(s['plugbox'])}" for wid, s in results.items()) + ".")
    add("")
    same = {}
    for w in plan["workloads"]:
        if w["peer"]:
            same.setdefault(tuple(w["peer_args"]), []).append(w["id"])
    twins = [ids for ids in same.values() if len(ids) > 1]
    if twins:
        add("Noise check: the peer ran the very same command in these workloads (only "
            "plugbox's `--jobs` differs), so the spread of its medians shows how much the "
            "machine's load moved the figures:")
        add("")
        for ids in twins:
            ms = [med(i, "peer") for i in ids]
            spread = (max(ms) - min(ms)) / min(ms) * 100
            add("- " + ", ".join(f"`{i}` {fmt_time(m)}" for i, m in zip(ids, ms))
                + f": {spread:.0f}% apart")
        add("")
    if notes:
        add("Peer warnings seen in the checking runs:")
        add("")
        for note in notes:
            add(f"- {note}")
        add("")
    add("## Machine and binaries")
    add("")
    pb_size, _ = size_of(plugbox)
    peer_size, peer_stripped = size_of(peer)
    add("| | |")
    add("|---|---|")
    add(f"| date | {date} |")
    add(f"| plugbox commit | `{commit}`{' (with uncommitted changes)' if dirty else ''} |")
    add(f"| `nproc` | {sh('nproc')} |")
    add(f"| `uname -m` | {platform.machine()} |")
    add(f"| `uptime` before | `{uptime_before}` |")
    add(f"| `uptime` after | `{uptime_after}` |")
    add(f"| plugbox binary | {pb_size:,} bytes (release profile: LTO, stripped) |")
    stripped = f"; {peer_stripped:,} bytes stripped" if peer_stripped else ""
    add(f"| peer binary (`wasmtime-ref`) | {peer_size:,} bytes{stripped} |")
    add(f"| `rustc --version` | {sh('rustc', '--version')} |")
    add(f"| compare.sh run time | {elapsed / 60:.1f} min |")
    add("")
    add("## Command lines")
    add("")
    add(f"From the data directory `{data}`; `plugbox` is `{plugbox}`, `wasmtime-ref` is "
        f"`{peer}`. Long file lists are abbreviated here (`first ... last (N paths)`); "
        "the real command lines list every path.")
    add("")
    add("| workload | plugbox | peer |")
    add("|---|---|---|")
    for w in plan["workloads"]:
        pb = w["plugbox_shown"]
        pr = w["peer_shown"] if w["peer"] else "-"
        add(f"| `{w['id']}` | `plugbox {pb}` | " + (f"`wasmtime-ref {pr}`" if w["peer"] else "-")
            + " |")
    add("")
    with open(args.out, "w") as f:
        f.write("\n".join(out))
    print(f"== wrote {args.out} in {elapsed / 60:.1f} min", flush=True)


if __name__ == "__main__":
    main()

//! Hostile use of WASI, and a hostile environment: huge files, huge directories, symlink
//! loops, a plugin rewritten on disk while it scans.

use std::time::{Duration, Instant};

use plugbox::{HostConfig, Registry};

use super::*;

/// A module importing the named WASI functions (as `$name`) besides `env`, with `scan_body`.
fn wasi_scan(names: &[&str], scan_body: &str) -> String {
    let imports = wasi_imports(|name| names.contains(&name));
    format!(
        r#"(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  {imports}
  (memory (export "memory") 1)
  (data (i32.const 0) "line\n")
  (func (export "scan") (param $ptr i32) (param $len i32) (result i32) {scan_body}))"#
    )
}

hostile! {
    fd_write_iovec_array_out_of_bounds: json!({}), wasi_scan(&["fd_write"],
        "(drop (call $fd_write (i32.const 1) (i32.const 131068) (i32.const 1) (i32.const 100))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "fd_write iovecs");
    fd_write_buffer_out_of_bounds: json!({}), wasi_scan(&["fd_write"],
        "(i32.store (i32.const 200) (i32.const 131000)) (i32.store (i32.const 204) (i32.const 1000))
         (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 100))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "fd_write buffer");
    // More iovecs than IOV_MAX is EINVAL (28), as writev says; the host reads none of them.
    fd_write_iovec_count_past_iov_max: json!({}), wasi_scan(&["fd_write"],
        "(call $fd_write (i32.const 1) (i32.const 200) (i32.const 536870912) (i32.const 100))")
        => Expect::Scores(28, no_check);
    random_get_huge_buffer: json!({}), wasi_scan(&["random_get"],
        "(drop (call $random_get (i32.const 0) (i32.const -1))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "random_get buffer");
    clock_time_get_negative_pointer: json!({}), wasi_scan(&["clock_time_get"],
        "(drop (call $clock_time_get (i32.const 0) (i64.const 0) (i32.const -8))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "clock_time_get time");
    args_sizes_get_out_of_bounds: json!({}), wasi_scan(&["args_sizes_get"],
        "(drop (call $args_sizes_get (i32.const 131072) (i32.const 0))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "args_sizes_get");
    // Past MAX_POLL_SUBSCRIPTIONS: EINVAL (28), before anything is read.
    poll_oneoff_huge_subscription_count: json!({}), wasi_scan(&["poll_oneoff"],
        "(call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const 2147483647) (i32.const 100))")
        => Expect::Scores(28, no_check);
    poll_oneoff_subscriptions_out_of_bounds: json!({}), wasi_scan(&["poll_oneoff"],
        "(drop (call $poll_oneoff (i32.const 0) (i32.const 0) (i32.const 4096) (i32.const 100))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "poll_oneoff subscriptions");
    path_open_path_out_of_bounds: json!({"permissions": {"filesystem": true}}), wasi_scan(&["path_open"],
        "(drop (call $path_open (i32.const 3) (i32.const 0) (i32.const 131000) (i32.const 5000) (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))) (i32.const 0)")
        => Expect::Fails(Trap, Scan, "path_open path");
    fd_write_flood: json!({}), wasi_scan(&["fd_write"],
        "(local $i i32) (i32.store (i32.const 200) (i32.const 0)) (i32.store (i32.const 204) (i32.const 5))
         (loop $l (drop (call $fd_write (i32.const 2) (i32.const 200) (i32.const 1) (i32.const 100)))
           (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 100000))))
         (i32.const 0)")
        => Expect::Scores(0, |run, _| {
            // The message cap is reached first; after it, output is counted in bytes, unread.
            let logged = plugbox::limits::MAX_LOG_MESSAGES_PER_SCAN as u64;
            assert_eq!(run.dropped.log_bytes, (100_000 - logged) * 5);
        });
    proc_exit_from_scan: json!({}), wasi_scan(&["proc_exit"],
        "(call $report_finding (i32.const 0) (i32.const 4) (i32.const 50) (i32.const 0) (i32.const 0)) (call $proc_exit (i32.const 7)) (i32.const 0)")
        => Expect::Fails(Exit, Scan, "called proc_exit(7)");
    sleep_forever: budget(100), wasi_scan(&["poll_oneoff"],
        "(i32.store8 (i32.const 208) (i32.const 0)) (i32.store (i32.const 216) (i32.const 1)) (i64.store (i32.const 224) (i64.const -1))
         (drop (call $poll_oneoff (i32.const 200) (i32.const 300) (i32.const 1) (i32.const 100))) (i32.const 0)")
        => Expect::Fails(Timeout, Scan, "time budget of 100 ms");
    sched_yield_spin: budget(100), wasi_scan(&["sched_yield"],
        "(loop $l (drop (call $sched_yield)) (br $l)) (i32.const 0)")
        => Expect::Fails(Timeout, Scan, "time budget of 100 ms");
}

#[test]
fn valid_50_mb_module_loads_and_scans() {
    // A 50 MB passive data segment: valid, and copied nowhere until memory.init asks for it.
    let plugins = Plugins::new();
    let dir = plugins.add("big", "Big", json!({}), MARKER_WAT);
    let segment = vec![0x41u8; 50 << 20];
    // No `$names`: the data section must be the module's last section.
    let mut wasm = wat::parse_str(format!(
        r#"(module (memory (export "memory") 1) {SCAN0} (data "x"))"#
    ))
    .unwrap();
    // Replace the 1-byte passive segment at the end of the module by the 50 MB one.
    let tail = wasm.len() - 1;
    assert_eq!(wasm[tail], b'x');
    wasm.truncate(tail - 2); // mode (1), length (1), byte (1)
    wasm.push(1); // passive
    write_leb(&mut wasm, segment.len() as u32);
    wasm.extend_from_slice(&segment);
    fix_last_section_size(&mut wasm);
    std::fs::write(dir.join("plugin.wasm"), &wasm).unwrap();
    assert!(wasm.len() > 50 << 20);
    plugins.add_good("zz-good");
    let started = Instant::now();
    let registry = plugins.registry();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    let report = scan(&registry, MARKED);
    assert_good_found_marker(&report);
    assert_eq!(run_of(&report, "Big").status, RunStatus::Ok { score: 0 });
    eprintln!(
        "50 MB module: loaded and scanned in {:?}",
        started.elapsed()
    );
}

fn write_leb(out: &mut Vec<u8>, mut value: u32) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// Rewrites the size of the data section (id 11, the module's last) after it was grown.
fn fix_last_section_size(wasm: &mut Vec<u8>) {
    const DATA_SECTION: u8 = 11;
    let mut at = 8;
    while wasm[at] != DATA_SECTION {
        let (size, width) = read_leb(&wasm[at + 1..]);
        at += 1 + width + size as usize;
    }
    let (_, width) = read_leb(&wasm[at + 1..]);
    let body = wasm.split_off(at + 1 + width);
    wasm.truncate(at + 1);
    write_leb(wasm, body.len() as u32);
    wasm.extend_from_slice(&body);
}

fn read_leb(bytes: &[u8]) -> (u32, usize) {
    let mut value = 0u32;
    for (i, &b) in bytes.iter().enumerate().take(5) {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (value, i + 1);
        }
    }
    (value, 5)
}

#[test]
fn manifest_of_100_mb_is_refused_without_reading_it() {
    let plugins = Plugins::new();
    let dir = plugins.path().join("huge");
    std::fs::create_dir(&dir).unwrap();
    let file = std::fs::File::create(dir.join("plugin.json")).unwrap();
    file.set_len(100 << 20).unwrap();
    plugins.add_good("zz-good");
    let started = Instant::now();
    let registry = plugins.registry();
    assert!(load_error(&registry, "huge").contains("a manifest may be at most 1048576 bytes"));
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_good_found_marker(&scan(&registry, MARKED));
}

#[test]
fn plugins_directory_with_10000_subdirectories() {
    let plugins = Plugins::new();
    for i in 0..10_000 {
        let dir = plugins.path().join(format!("d{i:05}"));
        std::fs::create_dir(&dir).unwrap();
        // Every tenth holds a broken manifest; the rest are not plugins at all.
        if i % 10 == 0 {
            std::fs::write(dir.join("plugin.json"), "{}").unwrap();
        }
    }
    plugins.add_good("zz-good");
    let started = Instant::now();
    let registry = plugins.registry();
    let elapsed = started.elapsed();
    assert_eq!(registry.failures().len(), 1_000);
    assert!(
        registry.failures()[0]
            .to_string()
            .contains("field `name`: is required but missing")
    );
    assert_eq!(registry.plugins().len(), 1);
    assert_good_found_marker(&scan(&registry, MARKED));
    eprintln!("10,000 subdirectories: loaded in {elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
}

#[test]
fn symlink_loops_in_the_plugins_directory() {
    let plugins = Plugins::new();
    let root = plugins.path();
    std::os::unix::fs::symlink(root, root.join("parent-loop")).unwrap();
    std::os::unix::fs::symlink(root.join("self-loop"), root.join("self-loop")).unwrap();
    let looped = plugins.add(
        "wasm-loop",
        "WasmLoop",
        json!({"wasm_file": "a.wasm"}),
        MARKER_WAT,
    );
    std::os::unix::fs::symlink(looped.join("b.wasm"), looped.join("a.wasm")).unwrap();
    std::os::unix::fs::symlink(looped.join("a.wasm"), looped.join("b.wasm")).unwrap();
    let manifest_loop = root.join("manifest-loop");
    std::fs::create_dir(&manifest_loop).unwrap();
    std::os::unix::fs::symlink(
        manifest_loop.join("plugin.json"),
        manifest_loop.join("plugin.json"),
    )
    .unwrap();
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    // parent-loop is the plugins directory itself: it holds no plugin.json, so it is no plugin.
    assert!(load_error(&registry, "wasm-loop").contains("cannot be opened"));
    assert!(load_error(&registry, "manifest-loop").contains("plugin.json: cannot read"));
    assert_eq!(registry.plugins().len(), 1);
    assert_good_found_marker(&scan(&registry, MARKED));
}

#[test]
fn symlink_loops_in_scanned_paths_end() {
    let tree = tempfile::tempdir().unwrap();
    let a = tree.path().join("a");
    std::fs::create_dir(&a).unwrap();
    std::fs::write(a.join("payload"), MARKED).unwrap();
    std::os::unix::fs::symlink(tree.path(), a.join("up")).unwrap();
    std::os::unix::fs::symlink(a.join("self"), a.join("self")).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_plugbox"))
        .args(["scan", "--json", "--plugins", "examples/plugins/"])
        .arg(tree.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    // The payload once; the self-loop reported as unreadable; the scan ends.
    assert_eq!(stdout.matches("\"type\":\"file\"").count(), 1, "{stdout}");
    assert!(stdout.contains("\"type\":\"file_error\""), "{stdout}");
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn plugin_rewritten_on_disk_while_a_scan_is_running() {
    // The plugin spins for a while, then reports; meanwhile its files are overwritten.
    let plugins = Plugins::new();
    let dir = plugins.add(
        "slow",
        "Slow",
        json!({"permissions": {"max_exec_ms": 5000}}),
        &scan_module(
            "(local $i i32) (local.set $i (i32.const 20000000))
             (loop $l (local.set $i (i32.sub (local.get $i) (i32.const 1))) (br_if $l (local.get $i)))
             (call $report_finding (i32.const 0) (i32.const 11) (i32.const 77) (i32.const 16) (i32.const 6))
             (i32.const 77)",
        ),
    );
    plugins.add_good("zz-good");
    let registry = plugins.registry();
    let report = std::thread::scope(|s| {
        let scanning = s.spawn(|| scan(&registry, MARKED));
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.join("plugin.wasm"), b"garbage").unwrap();
        std::fs::write(dir.join("plugin.json"), b"garbage").unwrap();
        scanning.join().unwrap()
    });
    assert_eq!(run_of(&report, "Slow").status, RunStatus::Ok { score: 77 });
    assert_eq!(threats_of(&report, "Slow"), ["Test.Threat"]);
    assert_good_found_marker(&report);
    // The loaded registry keeps its compiled module; a new load sees the broken files.
    assert_eq!(
        run_of(&scan(&registry, MARKED), "Slow").status,
        RunStatus::Ok { score: 77 }
    );
    let reloaded = Registry::new(HostConfig::default());
    reloaded.load_dir(plugins.path()).unwrap();
    assert!(load_error(&reloaded, "slow").contains("not valid JSON"));
}

#[test]
fn timeout_overshoot_stays_within_the_documented_bound() {
    // ABI.md: a call past its deadline ends within about one ~1 ms fuel slice; the test
    // allows for a loaded machine.
    let plugins = Plugins::new();
    plugins.add(
        "loop",
        "Loop",
        budget(200),
        &scan_module(&format!("{LOOP} (i32.const 0)")),
    );
    let registry = plugins.registry();
    let started = Instant::now();
    let report = scan(&registry, b"x");
    let elapsed = started.elapsed();
    assert_eq!(run_of(&report, "Loop").failure().unwrap().kind, Timeout);
    assert!(elapsed >= Duration::from_millis(200));
    assert_within_budget(elapsed, Duration::from_millis(200), "an endless loop");
}

/// Every WASI function, called with every argument -1 (pointers at 4 GiB - 1, lengths of
/// 4 GiB - 1, fd -1): each either traps naming itself or returns an errno; none harms the
/// host or the plugin beside it. `proc_exit(-1)` ends the call with that code.
#[test]
fn every_wasi_import_with_every_argument_minus_one() {
    let (mut traps, mut errnos) = (0, 0);
    let wasi = plugbox::abi::host_imports()
        .iter()
        .filter(|s| s.module() == "wasi_snapshot_preview1");
    for sig in wasi {
        let args: String = sig
            .params()
            .iter()
            .map(|t| format!("({t}.const -1)"))
            .collect();
        let call = format!("(call ${} {args})", sig.name());
        let body = if sig.results().is_empty() {
            format!("{call} (i32.const 0)")
        } else {
            format!("(drop {call}) (i32.const 0)")
        };
        let plugins = Plugins::new();
        plugins.add(
            "hostile",
            "Hostile",
            json!({"permissions": {"filesystem": true, "max_exec_ms": 200}}),
            &wasi_scan(&[sig.name()], &body),
        );
        plugins.add_good("zz-good");
        let registry = plugins.registry();
        assert!(
            registry.failures().is_empty(),
            "{}: {:?}",
            sig.name(),
            registry.failures()
        );
        let report = scan(&registry, MARKED);
        assert_good_found_marker(&report);
        let run = run_of(&report, "Hostile");
        match &run.status {
            RunStatus::Ok { score: 0 } => errnos += 1,
            RunStatus::Failed(f) if f.kind == Trap => {
                assert!(f.reason.contains(sig.name()), "{}: {f}", sig.name());
                traps += 1;
            }
            RunStatus::Failed(f) if f.kind == Exit => assert_eq!(sig.name(), "proc_exit"),
            other => panic!("{}: {other:?}", sig.name()),
        }
    }
    eprintln!("every WASI import with -1: {traps} trapped, {errnos} returned an errno");
    assert!(
        traps >= 10 && errnos >= 10,
        "{traps} traps, {errnos} errnos"
    );
}

//! The WASI preview1 layer (CONTRACT §6): each function's denied and granted behaviour, every
//! escape attempt through the read-only preopen, proc_exit, poll_oneoff and floods.

mod common;

use std::time::{Duration, Instant};

use common::*;
use plugbox::{FailureKind, RunStatus, Stage, limits};
use serde_json::json;

// preview1 errno values
const SUCCESS: u32 = 0;
const BADF: u32 = 8;
const INVAL: u32 = 28;
const ISDIR: u32 = 31;
const MFILE: u32 = 33;
const NOENT: u32 = 44;
const NOSYS: u32 = 52;
const NOTDIR: u32 = 54;
const NOTSOCK: u32 = 57;
const ROFS: u32 = 69;
const SPIPE: u32 = 70;
const NOTCAPABLE: u32 = 76;

/// Guest strings used by the checks, at fixed addresses.
const STRINGS: &[(u32, &str)] = &[
    (4096, "sigs.txt"),
    (4112, "../secret"),
    (4128, "/etc/passwd"),
    (4144, "out-link"),
    (4160, "sub/../sigs.txt"),
    (4192, "new.txt"),
    (4208, "sub"),
    (4224, "sub/root-link/etc/passwd"),
    (4256, "hello stdout\n"),
    (4288, "no newline"),
];

fn at(text: &str) -> String {
    let (addr, s) = STRINGS
        .iter()
        .find(|(_, s)| *s == text)
        .expect("known string");
    format!("(i32.const {addr}) (i32.const {})", s.len())
}

/// A plugin whose `scan` runs `checks` in order, reporting each as a finding named by its
/// label with the expression's value as the score. Every WASI import is declared, as `$name`.
fn probe_module(checks: &[(&str, String)]) -> String {
    let imports = wasi_imports(|_| true);
    let strings: String = STRINGS
        .iter()
        .map(|(addr, s)| format!("(data (i32.const {addr}) \"{}\")", s.replace('\n', "\\n")))
        .collect();
    let mut labels = String::new();
    let mut body = String::new();
    let mut addr = 8192;
    for (label, expr) in checks {
        labels.push_str(&format!("(data (i32.const {addr}) \"{label}\")"));
        body.push_str(&format!(
            "(call $report_finding (i32.const {addr}) (i32.const {}) {expr} (i32.const 0) (i32.const 0))\n",
            label.len()
        ));
        addr += label.len() as u32;
    }
    format!(
        r#"(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  {imports}
  (memory (export "memory") 1)
  {strings} {labels}
  (func (export "scan") (param i32 i32) (result i32)
    {body}
    (i32.const 0)))"#
    )
}

/// Runs the checks in a plugin (with the read-only preopen when `filesystem`) and returns
/// the (label, value) pairs, asserting the run itself succeeded.
fn probe(checks: &[(&str, String)], filesystem: bool) -> Vec<(String, u32)> {
    let plugins = Plugins::new();
    let dir = plugins.add(
        "probe",
        "Probe",
        json!({"permissions": {"filesystem": filesystem}}),
        &probe_module(checks),
    );
    std::fs::write(dir.join("sigs.txt"), "MALICIOUS_MARKER\nOTHER\n").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/inner.txt"), "x").unwrap();
    std::fs::write(plugins.path().join("secret"), "secret").unwrap();
    std::os::unix::fs::symlink(plugins.path().join("secret"), dir.join("out-link")).unwrap();
    std::os::unix::fs::symlink("/", dir.join("sub/root-link")).unwrap();
    let registry = plugins.registry();
    assert!(registry.failures().is_empty(), "{:?}", registry.failures());
    let report = scan(&registry, b"data");
    assert_eq!(
        run_of(&report, "Probe").status,
        RunStatus::Ok { score: 0 },
        "{report:?}"
    );
    report
        .findings
        .iter()
        .map(|f| (f.threat.clone(), f.score))
        .collect()
}

fn check(label: &str, expr: &str) -> (&'static str, String) {
    (
        Box::leak(label.to_owned().into_boxed_str()),
        expr.to_owned(),
    )
}

fn expect(got: &[(String, u32)], expected: &[(&str, u32)]) {
    let expected: Vec<(String, u32)> = expected.iter().map(|(l, v)| (l.to_string(), *v)).collect();
    assert_eq!(got, expected);
}

#[test]
fn args_environment_stdin_clocks_random_and_yield() {
    let got = probe(
        &[
            check(
                "args",
                "(call $args_sizes_get (i32.const 100) (i32.const 104))",
            ),
            check(
                "argc",
                "(i32.add (i32.load (i32.const 100)) (i32.load (i32.const 104)))",
            ),
            check(
                "environ",
                "(call $environ_sizes_get (i32.const 100) (i32.const 104))",
            ),
            check(
                "envc",
                "(i32.add (i32.load (i32.const 100)) (i32.load (i32.const 104)))",
            ),
            check(
                "args_get",
                "(call $args_get (i32.const 100) (i32.const 104))",
            ),
            // stdin is at end of file
            check(
                "stdin",
                "(i32.store (i32.const 200) (i32.const 300)) (i32.store (i32.const 204) (i32.const 16)) (call $fd_read (i32.const 0) (i32.const 200) (i32.const 1) (i32.const 100))",
            ),
            check("stdin_n", "(i32.load (i32.const 100))"),
            // realtime is after 2020 (1.6e18 ns), monotonic moves forward
            check(
                "realtime",
                "(call $clock_time_get (i32.const 0) (i64.const 1) (i32.const 100))",
            ),
            check(
                "after_2020",
                "(i64.gt_u (i64.load (i32.const 100)) (i64.const 1600000000000000000))",
            ),
            check(
                "mono1",
                "(call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 100))",
            ),
            check(
                "mono2",
                "(call $clock_time_get (i32.const 1) (i64.const 1) (i32.const 108))",
            ),
            check(
                "mono_up",
                "(i64.ge_u (i64.load (i32.const 108)) (i64.load (i32.const 100)))",
            ),
            check(
                "bad_clock",
                "(call $clock_time_get (i32.const 9) (i64.const 1) (i32.const 100))",
            ),
            check("res", "(call $clock_res_get (i32.const 1) (i32.const 100))"),
            // 32 random bytes are not all zero, and two draws differ
            check(
                "random",
                "(call $random_get (i32.const 300) (i32.const 16))",
            ),
            check(
                "random2",
                "(call $random_get (i32.const 316) (i32.const 16))",
            ),
            check(
                "differ",
                "(i64.ne (i64.load (i32.const 300)) (i64.load (i32.const 316)))",
            ),
            check("yield", "(call $sched_yield)"),
            check("raise", "(call $proc_raise (i32.const 9))"),
        ],
        false,
    );
    expect(
        &got,
        &[
            ("args", SUCCESS),
            ("argc", 0),
            ("environ", SUCCESS),
            ("envc", 0),
            ("args_get", SUCCESS),
            ("stdin", SUCCESS),
            ("stdin_n", 0),
            ("realtime", SUCCESS),
            ("after_2020", 1),
            ("mono1", SUCCESS),
            ("mono2", SUCCESS),
            ("mono_up", 1),
            ("bad_clock", INVAL),
            ("res", SUCCESS),
            ("random", SUCCESS),
            ("random2", SUCCESS),
            ("differ", 1),
            ("yield", SUCCESS),
            ("raise", NOSYS),
        ],
    );
}

#[test]
fn filesystem_and_sockets_are_denied_by_default() {
    let got = probe(
        &[
            check(
                "prestat",
                "(call $fd_prestat_get (i32.const 3) (i32.const 100))",
            ),
            check(
                "open",
                &format!(
                    "(call $path_open (i32.const 3) (i32.const 0) {} (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100))",
                    at("sigs.txt")
                ),
            ),
            check(
                "mkdir",
                &format!(
                    "(call $path_create_directory (i32.const 3) {})",
                    at("new.txt")
                ),
            ),
            check(
                "unlink",
                &format!("(call $path_unlink_file (i32.const 3) {})", at("sigs.txt")),
            ),
            check(
                "stat",
                &format!(
                    "(call $path_filestat_get (i32.const 3) (i32.const 0) {} (i32.const 300))",
                    at("sigs.txt")
                ),
            ),
            check(
                "read_fd9",
                "(call $fd_read (i32.const 9) (i32.const 200) (i32.const 0) (i32.const 100))",
            ),
            check("close_fd9", "(call $fd_close (i32.const 9))"),
            check(
                "seek_fd9",
                "(call $fd_seek (i32.const 9) (i64.const 0) (i32.const 0) (i32.const 100))",
            ),
            check(
                "seek_stdout",
                "(call $fd_seek (i32.const 1) (i64.const 0) (i32.const 0) (i32.const 100))",
            ),
            check(
                "write_stdin",
                "(call $fd_write (i32.const 0) (i32.const 200) (i32.const 0) (i32.const 100))",
            ),
            check(
                "sock_stdin",
                "(call $sock_accept (i32.const 0) (i32.const 0) (i32.const 100))",
            ),
            check(
                "sock_fd9",
                "(call $sock_send (i32.const 9) (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 100))",
            ),
            check(
                "sock_recv",
                "(call $sock_recv (i32.const 1) (i32.const 200) (i32.const 0) (i32.const 0) (i32.const 100) (i32.const 104))",
            ),
            check(
                "shutdown",
                "(call $sock_shutdown (i32.const 2) (i32.const 0))",
            ),
            check(
                "fdstat_out",
                "(call $fd_fdstat_get (i32.const 1) (i32.const 300))",
            ),
            check("out_is_chr", "(i32.load8_u (i32.const 300))"),
        ],
        false,
    );
    expect(
        &got,
        &[
            ("prestat", BADF),
            ("open", BADF),
            ("mkdir", BADF),
            ("unlink", BADF),
            ("stat", BADF),
            ("read_fd9", BADF),
            ("close_fd9", BADF),
            ("seek_fd9", BADF),
            ("seek_stdout", SPIPE),
            ("write_stdin", BADF),
            ("sock_stdin", NOTSOCK),
            ("sock_fd9", BADF),
            ("sock_recv", NOTSOCK),
            ("shutdown", NOTSOCK),
            ("fdstat_out", SUCCESS),
            ("out_is_chr", 2),
        ],
    );
}

fn open(path: &str, oflags: u32, rights: &str, fdflags: u32) -> String {
    format!(
        "(call $path_open (i32.const 3) (i32.const 0) {} (i32.const {oflags}) (i64.const {rights}) (i64.const 0) (i32.const {fdflags}) (i32.const 100))",
        at(path)
    )
}

#[test]
fn read_only_preopen_of_the_plugin_directory() {
    // iovec at 200: 64 bytes at 300
    let iovec =
        "(i32.store (i32.const 200) (i32.const 300)) (i32.store (i32.const 204) (i32.const 64))";
    let got = probe(
        &[
            check(
                "prestat",
                "(call $fd_prestat_get (i32.const 3) (i32.const 100))",
            ),
            check("name_len", "(i32.load (i32.const 104))"),
            check(
                "dir_name",
                "(call $fd_prestat_dir_name (i32.const 3) (i32.const 300) (i32.const 7))",
            ),
            // "/plu" little-endian
            check(
                "is_plugin",
                "(i32.eq (i32.load (i32.const 300)) (i32.const 0x756c702f))",
            ),
            check(
                "prestat_4",
                "(call $fd_prestat_get (i32.const 4) (i32.const 100))",
            ),
            check("open", &open("sigs.txt", 0, "2", 0)),
            check("fd", "(i32.load (i32.const 100))"),
            check(
                "read",
                &format!(
                    "{iovec} (call $fd_read (i32.const 4) (i32.const 200) (i32.const 1) (i32.const 104))"
                ),
            ),
            check("nread", "(i32.load (i32.const 104))"),
            // "MALI"
            check(
                "content",
                "(i32.eq (i32.load (i32.const 300)) (i32.const 0x494c414d))",
            ),
            check("tell", "(call $fd_tell (i32.const 4) (i32.const 104))"),
            check("pos", "(i32.load (i32.const 104))"),
            check(
                "seek",
                "(call $fd_seek (i32.const 4) (i64.const 17) (i32.const 0) (i32.const 104))",
            ),
            check(
                "pread",
                "(call $fd_pread (i32.const 4) (i32.const 200) (i32.const 1) (i64.const 0) (i32.const 104))",
            ),
            check("pread_n", "(i32.load (i32.const 104))"),
            check(
                "tell_after_pread",
                "(call $fd_tell (i32.const 4) (i32.const 104))",
            ),
            check("pos_kept", "(i32.load (i32.const 104))"),
            check(
                "filestat",
                "(call $fd_filestat_get (i32.const 4) (i32.const 300))",
            ),
            check("size", "(i32.load (i32.const 332))"),
            check("filetype", "(i32.load8_u (i32.const 316))"),
            check(
                "write_file",
                "(call $fd_write (i32.const 4) (i32.const 200) (i32.const 1) (i32.const 104))",
            ),
            check(
                "pwrite_file",
                "(call $fd_pwrite (i32.const 4) (i32.const 200) (i32.const 1) (i64.const 0) (i32.const 104))",
            ),
            check("close", "(call $fd_close (i32.const 4))"),
            check(
                "read_closed",
                "(call $fd_read (i32.const 4) (i32.const 200) (i32.const 1) (i32.const 104))",
            ),
            check(
                "path_stat",
                &format!(
                    "(call $path_filestat_get (i32.const 3) (i32.const 0) {} (i32.const 300))",
                    at("sub")
                ),
            ),
            check("dir_type", "(i32.load8_u (i32.const 316))"),
            check("dotdot_inside", &open("sub/../sigs.txt", 0, "2", 0)),
            check("open_dir", &open("sub", 2, "0", 0)),
            check(
                "read_dir_fd",
                "(call $fd_read (i32.const 5) (i32.const 200) (i32.const 1) (i32.const 104))",
            ),
            check(
                "readdir",
                "(call $fd_readdir (i32.const 3) (i32.const 300) (i32.const 512) (i64.const 0) (i32.const 104))",
            ),
            // entries sorted: out-link, plugin.json, plugin.wasm, sigs.txt, sub; first d_namlen = 8
            check("first_namlen", "(i32.load (i32.const 316))"),
            // fd 4 is sigs.txt again (opened through sub/..), not a directory
            check(
                "readdir_file",
                "(call $fd_readdir (i32.const 4) (i32.const 300) (i32.const 512) (i64.const 0) (i32.const 104))",
            ),
            check("dir_as_file", &open("sub", 0, "2", 0)),
            check("file_as_dir", &open("sigs.txt", 2, "2", 0)),
            check("missing", &open("new.txt", 0, "2", 0)),
        ],
        true,
    );
    expect(
        &got,
        &[
            ("prestat", SUCCESS),
            ("name_len", 7),
            ("dir_name", SUCCESS),
            ("is_plugin", 1),
            ("prestat_4", BADF),
            ("open", SUCCESS),
            ("fd", 4),
            ("read", SUCCESS),
            ("nread", 23),
            ("content", 1),
            ("tell", SUCCESS),
            ("pos", 23),
            ("seek", SUCCESS),
            ("pread", SUCCESS),
            ("pread_n", 23),
            ("tell_after_pread", SUCCESS),
            ("pos_kept", 17),
            ("filestat", SUCCESS),
            ("size", 23),
            ("filetype", 4),
            ("write_file", BADF),
            ("pwrite_file", NOTCAPABLE),
            ("close", SUCCESS),
            ("read_closed", BADF),
            ("path_stat", SUCCESS),
            ("dir_type", 3),
            ("dotdot_inside", SUCCESS),
            ("open_dir", SUCCESS),
            ("read_dir_fd", ISDIR),
            ("readdir", SUCCESS),
            ("first_namlen", 8),
            ("readdir_file", NOTDIR),
            ("dir_as_file", SUCCESS),
            ("file_as_dir", NOTDIR),
            ("missing", NOENT),
        ],
    );
}

#[test]
fn every_escape_from_the_preopen_is_refused() {
    let got = probe(
        &[
            check("dotdot", &open("../secret", 0, "2", 0)),
            check("absolute", &open("/etc/passwd", 0, "2", 0)),
            check("symlink_out", &open("out-link", 0, "2", 0)),
            check("symlink_root", &open("sub/root-link/etc/passwd", 0, "2", 0)),
            check(
                "stat_dotdot",
                &format!(
                    "(call $path_filestat_get (i32.const 3) (i32.const 0) {} (i32.const 300))",
                    at("../secret")
                ),
            ),
            check(
                "stat_link",
                &format!(
                    "(call $path_filestat_get (i32.const 3) (i32.const 0) {} (i32.const 300))",
                    at("out-link")
                ),
            ),
            check("create", &open("new.txt", 1, "2", 0)),
            check("truncate", &open("sigs.txt", 8, "2", 0)),
            // FD_WRITE right (1 << 6)
            check("write_right", &open("sigs.txt", 0, "64", 0)),
            // append fdflag
            check("append", &open("sigs.txt", 0, "2", 1)),
            check(
                "mkdir",
                &format!(
                    "(call $path_create_directory (i32.const 3) {})",
                    at("new.txt")
                ),
            ),
            check(
                "unlink",
                &format!("(call $path_unlink_file (i32.const 3) {})", at("sigs.txt")),
            ),
            check(
                "rmdir",
                &format!("(call $path_remove_directory (i32.const 3) {})", at("sub")),
            ),
            check(
                "rename",
                &format!(
                    "(call $path_rename (i32.const 3) {} (i32.const 3) {})",
                    at("sigs.txt"),
                    at("new.txt")
                ),
            ),
            check(
                "symlink",
                &format!(
                    "(call $path_symlink {} (i32.const 3) {})",
                    at("../secret"),
                    at("new.txt")
                ),
            ),
            check(
                "link",
                &format!(
                    "(call $path_link (i32.const 3) (i32.const 0) {} (i32.const 3) {})",
                    at("sigs.txt"),
                    at("new.txt")
                ),
            ),
            check(
                "readlink",
                &format!(
                    "(call $path_readlink (i32.const 3) {} (i32.const 300) (i32.const 64) (i32.const 104))",
                    at("out-link")
                ),
            ),
            check(
                "set_times",
                &format!(
                    "(call $path_filestat_set_times (i32.const 3) (i32.const 0) {} (i64.const 0) (i64.const 0) (i32.const 0))",
                    at("sigs.txt")
                ),
            ),
            check(
                "allocate",
                "(call $fd_allocate (i32.const 3) (i64.const 0) (i64.const 10))",
            ),
        ],
        true,
    );
    expect(
        &got,
        &[
            ("dotdot", NOTCAPABLE),
            ("absolute", NOTCAPABLE),
            ("symlink_out", NOTCAPABLE),
            ("symlink_root", NOTCAPABLE),
            ("stat_dotdot", NOTCAPABLE),
            ("stat_link", NOTCAPABLE),
            ("create", ROFS),
            ("truncate", ROFS),
            ("write_right", ROFS),
            ("append", ROFS),
            ("mkdir", ROFS),
            ("unlink", ROFS),
            ("rmdir", ROFS),
            ("rename", ROFS),
            ("symlink", ROFS),
            ("link", ROFS),
            ("readlink", 58),
            ("set_times", ROFS),
            ("allocate", NOTCAPABLE),
        ],
    );
}

#[test]
fn open_descriptors_are_capped() {
    let opens: String = (0..40)
        .map(|_| format!("(drop {})", open("sigs.txt", 0, "2", 0)))
        .collect();
    let got = probe(
        &[
            check("fill", &format!("{opens} (i32.const 0)")),
            check("one_more", &open("sigs.txt", 0, "2", 0)),
        ],
        true,
    );
    expect(&got, &[("fill", 0), ("one_more", MFILE)]);
    assert_eq!(limits::MAX_OPEN_FDS, 32);
}

#[test]
fn out_of_bounds_pointers_in_wasi_calls_trap_the_call() {
    for (call, what) in [
        (
            "(call $fd_write (i32.const 1) (i32.const 131070) (i32.const 1) (i32.const 100))",
            "fd_write iovecs",
        ),
        (
            "(call $fd_write (i32.const 1) (i32.const 65530) (i32.const 1) (i32.const 100))",
            "fd_write buffer",
        ),
        (
            "(call $random_get (i32.const 65000) (i32.const 100000))",
            "random_get buffer",
        ),
        (
            "(call $clock_time_get (i32.const 0) (i64.const 1) (i32.const -4))",
            "clock_time_get time",
        ),
        (
            "(call $args_sizes_get (i32.const 131072) (i32.const 0))",
            "args_sizes_get",
        ),
    ] {
        let plugins = Plugins::new();
        plugins.add("oob", "Oob", json!({}), &probe_module(&[check("x", call)]));
        plugins.add_good("zz-good");
        let report = scan(&plugins.registry(), MARKED);
        let failure = run_of(&report, "Oob")
            .failure()
            .cloned()
            .unwrap_or_else(|| panic!("{call}: {report:?}"));
        assert_eq!(failure.kind, FailureKind::Trap, "{call}");
        assert!(failure.reason.contains(what), "{call}: {failure}");
        assert_good_found_marker(&report);
    }
}

#[test]
fn proc_exit_zero_ends_the_call_cleanly_and_nonzero_is_reported() {
    let plugins = Plugins::new();
    for code in [0, 3] {
        plugins.add(
            &format!("exit{code}"),
            &format!("Exit{code}"),
            json!({}),
            &probe_module(&[
                check("before", "(i32.const 40)"),
                check(
                    "exit",
                    &format!("(call $proc_exit (i32.const {code})) (i32.const 0)"),
                ),
            ]),
        );
    }
    plugins.add_good("zz-good");
    let report = scan(&plugins.registry(), MARKED);
    assert_eq!(run_of(&report, "Exit0").status, RunStatus::Ok { score: 0 });
    let failure = run_of(&report, "Exit3").failure().unwrap().clone();
    assert_eq!(
        (failure.kind, failure.stage, failure.exit_code),
        (FailureKind::Exit, Stage::Scan, Some(3))
    );
    assert!(failure.reason.contains("proc_exit(3)"));
    for plugin in ["Exit0", "Exit3"] {
        assert_eq!(
            threats_of(&report, plugin),
            ["before"],
            "findings before exit are kept"
        );
    }
    assert_good_found_marker(&report);
}

/// A clock subscription of `ns` nanoseconds at 400, then poll_oneoff into 500.
fn sleep(ns: u64) -> String {
    format!(
        "(i64.store (i32.const 400) (i64.const 7)) (i32.store8 (i32.const 408) (i32.const 0))
         (i32.store (i32.const 416) (i32.const 1)) (i64.store (i32.const 424) (i64.const {ns}))
         (i64.store (i32.const 432) (i64.const 0)) (i32.store16 (i32.const 440) (i32.const 0))
         (call $poll_oneoff (i32.const 400) (i32.const 500) (i32.const 1) (i32.const 100))"
    )
}

#[test]
fn poll_oneoff_sleeps_and_reports_the_clock_event() {
    let started = Instant::now();
    let got = probe(
        &[
            check("poll", &sleep(20_000_000)),
            check("nevents", "(i32.load (i32.const 100))"),
            check("userdata", "(i32.load (i32.const 500))"),
            check(
                "no_subs",
                "(call $poll_oneoff (i32.const 400) (i32.const 500) (i32.const 0) (i32.const 100))",
            ),
        ],
        false,
    );
    assert!(started.elapsed() >= Duration::from_millis(20));
    expect(
        &got,
        &[
            ("poll", SUCCESS),
            ("nevents", 1),
            ("userdata", 7),
            ("no_subs", INVAL),
        ],
    );
}

#[test]
fn poll_oneoff_never_sleeps_past_the_budget() {
    let plugins = Plugins::new();
    plugins.add(
        "sleepy",
        "Sleepy",
        json!({"permissions": {"max_exec_ms": 100}}),
        &probe_module(&[check("sleep", &sleep(10_000_000_000))]),
    );
    let registry = plugins.registry();
    let started = Instant::now();
    let report = scan(&registry, b"x");
    let elapsed = started.elapsed();
    let failure = run_of(&report, "Sleepy").failure().unwrap().clone();
    assert_eq!(failure.kind, FailureKind::Timeout);
    assert_within_budget(elapsed, Duration::from_millis(100), "a 10 s sleep");
}

#[test]
fn fd_write_flood_is_capped_and_counted() {
    // 1000 writes of a 13-byte line fit the caps; 10000 do not: the first 1024 lines are
    // logged, and the rest is counted in bytes without being read.
    let flood = |lines: u32| {
        let plugins = Plugins::new();
        plugins.add(
            "flood",
            "Flood",
            json!({}),
            &probe_module(&[check(
                "flood",
                &format!(
                    "(i32.store (i32.const 200) (i32.const 4256)) (i32.store (i32.const 204) (i32.const 13))
                     (block $done (loop $l
                       (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 100)))
                       (i32.store (i32.const 600) (i32.add (i32.load (i32.const 600)) (i32.const 1)))
                       (br_if $l (i32.lt_u (i32.load (i32.const 600)) (i32.const {lines})))))
                     (i32.load (i32.const 100))"
                ),
            )]),
        );
        scan(&plugins.registry(), b"x")
    };
    let report = flood(1000);
    assert_eq!(threats_of(&report, "Flood"), ["flood"]);
    assert_eq!(
        report.findings[0].score, 13,
        "fd_write reports every byte as written"
    );
    assert_eq!(run_of(&report, "Flood").dropped, Default::default());
    let dropped = run_of(&flood(10_000), "Flood").dropped;
    let logged = plugbox::limits::MAX_LOG_MESSAGES_PER_SCAN as u64;
    assert_eq!(dropped.log_bytes, (10_000 - logged) * 13);
}

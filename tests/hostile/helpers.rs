//! Hostile uses of the `plugbox` host helpers (issue 12): every out-of-range pointer,
//! length or offset traps the call with a message naming the helper, never a host panic or
//! an overflow (this suite runs with overflow checks), and a slow `find` ends at the deadline.

use super::*;

/// A module importing the three helpers, with one page of memory (no data is
/// copied in with `"input": "host"`), and a `scan` running `body` and returning 0.
fn helpers(body: &str) -> String {
    format!(
        r#"(module
  (import "plugbox" "file_size" (func $file_size (result i64)))
  (import "plugbox" "read" (func $read (param i64 i32 i32) (result i32)))
  (import "plugbox" "find" (func $find (param i32 i32 i64) (result i64)))
  (memory (export "memory") 1)
  (func (export "scan") (param i32 i32) (result i32) {body} (i32.const 0)))"#
    )
}

fn host() -> Value {
    json!({"input": "host"})
}

hostile! {
    helper_read_buffer_past_the_end: host(), helpers("(drop (call $read (i64.const 0) (i32.const 65535) (i32.const 2)))")
        => Expect::Fails(Trap, Scan, "plugbox.read buffer: 2 bytes at address 65535 lie outside guest memory (65536 bytes)");
    helper_read_wrapping_buffer: host(), helpers("(drop (call $read (i64.const 0) (i32.const -1) (i32.const 2147483647)))")
        => Expect::Fails(Trap, Scan, "plugbox.read buffer: 2147483647 bytes at address 4294967295");
    helper_read_negative_length: host(), helpers("(drop (call $read (i64.const 0) (i32.const 0) (i32.const -2147483648)))")
        => Expect::Fails(Trap, Scan, "plugbox.read: buf_len is negative (-2147483648)");
    helper_read_negative_offset: host(), helpers("(drop (call $read (i64.const -9223372036854775808) (i32.const 0) (i32.const 1)))")
        => Expect::Fails(Trap, Scan, "plugbox.read: offset is negative (-9223372036854775808)");
    helper_read_huge_offset: host(), helpers("(if (call $read (i64.const 9223372036854775807) (i32.const 0) (i32.const 65536)) (then unreachable))")
        => Expect::Scores(0, no_check);
    helper_find_needle_past_the_end: host(), helpers("(drop (call $find (i32.const 65535) (i32.const 2) (i64.const 0)))")
        => Expect::Fails(Trap, Scan, "plugbox.find needle: 2 bytes at address 65535 lie outside guest memory (65536 bytes)");
    helper_find_wrapping_needle: host(), helpers("(drop (call $find (i32.const -16) (i32.const 32) (i64.const 0)))")
        => Expect::Fails(Trap, Scan, "plugbox.find needle: 32 bytes at address 4294967280");
    helper_find_negative_needle_length: host(), helpers("(drop (call $find (i32.const 0) (i32.const -1) (i64.const 0)))")
        => Expect::Fails(Trap, Scan, "plugbox.find: needle_len is negative (-1)");
    helper_find_needle_over_the_cap: host(), helpers("(drop (call $find (i32.const 0) (i32.const 65536) (i64.const 0)))")
        => Expect::Fails(Trap, Scan, "plugbox.find: a needle of 65536 bytes is longer than the 4096 bytes accepted");
    helper_find_negative_from: host(), helpers("(drop (call $find (i32.const 0) (i32.const 1) (i64.const -1)))")
        => Expect::Fails(Trap, Scan, "plugbox.find: from is negative (-1)");
    helper_find_huge_from: host(), helpers("(if (i64.ne (call $find (i32.const 0) (i32.const 0) (i64.const 9223372036854775807)) (i64.const 30)) (then unreachable))")
        => Expect::Scores(0, no_check);
    helper_find_loop_ends_at_the_deadline: json!({"input": "host", "permissions": {"max_exec_ms": 100}}),
        helpers("(loop $l (drop (call $find (i32.const 0) (i32.const 4096) (i64.const 0))) (br $l))")
        => Expect::Fails(Timeout, Scan, "time budget of 100 ms");
    helper_with_input_copy: json!({}), helpers("(drop (call $read (i64.const 0) (i32.const 131071) (i32.const 2)))")
        => Expect::Fails(Trap, Scan, "plugbox.read buffer: 2 bytes at address 131071 lie outside guest memory (131072 bytes)");
}

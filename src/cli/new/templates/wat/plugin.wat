;; A plugbox detection plugin: reports files holding the bytes MALICIOUS_MARKER.
;; Each file is scanned in a fresh instance of this module: nothing survives from one file to
;; the next. There is no `alloc` export, so plugbox grows the memory and writes the file at
;; its old end, then calls scan(ptr, len).
(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "env" "log_message" (func $log_message (param i32 i32 i32)))

  (memory (export "memory") 1)

  ;; Constant strings at fixed addresses, with their lengths in bytes.
  (data (i32.const 0) "MALICIOUS_MARKER")                     ;; 16
  (data (i32.const 16) "Custom.MaliciousMarker")              ;; 22
  (data (i32.const 48) "Found MALICIOUS_MARKER in file data") ;; 35
  (data (i32.const 96) "loaded")                              ;; 6
  (data (i32.const 112) "0.1.0")                              ;; 5
  ;; Keep this equal to "name" in plugin.json (at most 128 bytes).
  (data (i32.const 128) "@@name@@")                           ;; @@name_len@@

  ;; Whether the 16 bytes at $at are the marker (two 8-byte comparisons).
  (func $is_marker (param $at i32) (result i32)
    (i32.and
      (i64.eq (i64.load (local.get $at)) (i64.load (i32.const 0)))
      (i64.eq (i64.load offset=8 (local.get $at)) (i64.load (i32.const 8)))))

  ;; scan(ptr, len) -> the highest score reported (0: clean).
  (func (export "scan") (param $ptr i32) (param $len i32) (result i32)
    (local $at i32) (local $last i32)
    (if (i32.lt_u (local.get $len) (i32.const 16)) (then (return (i32.const 0))))
    (local.set $at (local.get $ptr))
    (local.set $last (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 16)))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (local.get $at) (local.get $last)))
        (if (call $is_marker (local.get $at))
          (then
            ;; report_finding(threat, threat_len, score, detail, detail_len)
            (call $report_finding (i32.const 16) (i32.const 22) (i32.const 85)
                                  (i32.const 48) (i32.const 35))
            (return (i32.const 85))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  ;; Runs once, when plugbox loads the plugin; non-zero refuses the load.
  (func (export "on_load") (result i32)
    (call $log_message (i32.const 2) (i32.const 96) (i32.const 6)) ;; level 2: info
    (i32.const 0))

  ;; Copies min(n, len) bytes from $src to $buf and returns n, the full length.
  (func $copy_out (param $src i32) (param $n i32) (param $buf i32) (param $len i32) (result i32)
    (memory.copy (local.get $buf) (local.get $src)
      (select (local.get $n) (local.get $len) (i32.lt_u (local.get $n) (local.get $len))))
    (local.get $n))

  (func (export "plugin_name") (param $buf i32) (param $len i32) (result i32)
    (call $copy_out (i32.const 128) (i32.const @@name_len@@) (local.get $buf) (local.get $len)))

  (func (export "plugin_version") (param $buf i32) (param $len i32) (result i32)
    (call $copy_out (i32.const 112) (i32.const 5) (local.get $buf) (local.get $len)))
)

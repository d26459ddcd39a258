;; The contract's example plugin, reading the file through the host: with "input": "host" in
;; plugin.json the file is not copied into this module's memory (scan is called with (0, 0)),
;; and plugbox.find searches it at native speed, so files larger than the 16 MiB memory cap
;; are scanned too. Reports exactly what marker-scanner reports: Custom.MaliciousMarker, score
;; 85. Rebuild the committed .wasm with examples/build.sh, or:
;;   cargo run --example wat2wasm -- examples/plugins/marker-find/marker_find.wat \
;;       examples/plugins/marker-find/marker_find.wasm
(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "env" "log_message" (func $log_message (param i32 i32 i32)))
  ;; find(needle_ptr, needle_len, from) -> offset of the first match at or after from, or -1
  (import "plugbox" "find" (func $find (param i32 i32 i64) (result i64)))

  (memory (export "memory") 1)

  ;; Constant strings, at fixed addresses.
  (data (i32.const 0) "MALICIOUS_MARKER")                            ;; 16 bytes
  (data (i32.const 16) "Custom.MaliciousMarker")                     ;; 22 bytes
  (data (i32.const 48) "Found MALICIOUS_MARKER string in file data") ;; 42 bytes
  (data (i32.const 96) "Marker Find loaded")                         ;; 18 bytes
  (data (i32.const 128) "Marker Find")                               ;; 11 bytes
  (data (i32.const 144) "0.1.0")                                     ;; 5 bytes

  ;; With "input": "host", ptr and len are 0: the file stays in the host.
  (func (export "scan") (param $ptr i32) (param $len i32) (result i32)
    (if (i64.lt_s (call $find (i32.const 0) (i32.const 16) (i64.const 0)) (i64.const 0))
      (then (return (i32.const 0))))
    (call $report_finding (i32.const 16) (i32.const 22) (i32.const 85)
                          (i32.const 48) (i32.const 42))
    (i32.const 85))

  (func (export "on_load") (result i32)
    (call $log_message (i32.const 2) (i32.const 96) (i32.const 18))
    (i32.const 0))

  ;; Copies min(n, len) bytes of a constant to buf and returns n, the full length.
  (func $copy_out (param $src i32) (param $n i32) (param $buf i32) (param $len i32) (result i32)
    (memory.copy (local.get $buf) (local.get $src)
      (select (local.get $n) (local.get $len) (i32.lt_u (local.get $n) (local.get $len))))
    (local.get $n))

  (func (export "plugin_name") (param $buf i32) (param $len i32) (result i32)
    (call $copy_out (i32.const 128) (i32.const 11) (local.get $buf) (local.get $len)))

  (func (export "plugin_version") (param $buf i32) (param $len i32) (result i32)
    (call $copy_out (i32.const 144) (i32.const 5) (local.get $buf) (local.get $len)))
)

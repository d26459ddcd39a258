;; The contract's example plugin: finds MALICIOUS_MARKER and reports Custom.MaliciousMarker
;; with score 85. Rebuild the committed .wasm with:
;;   cargo run --example wat2wasm -- examples/plugins/marker-scanner/marker_scanner.wat \
;;       examples/plugins/marker-scanner/marker_scanner.wasm
(module
  (import "env" "report_finding" (func $report_finding (param i32 i32 i32 i32 i32)))
  (import "env" "log_message" (func $log_message (param i32 i32 i32)))

  (memory (export "memory") 1)

  ;; Constant strings, at fixed addresses below the heap.
  (data (i32.const 0) "MALICIOUS_MARKER")                            ;; 16 bytes
  (data (i32.const 16) "Custom.MaliciousMarker")                     ;; 22 bytes
  (data (i32.const 48) "Found MALICIOUS_MARKER string in file data") ;; 42 bytes
  (data (i32.const 96) "Marker Scanner loaded")                      ;; 21 bytes
  (data (i32.const 128) "Marker Scanner")                            ;; 14 bytes
  (data (i32.const 144) "0.1.0")                                     ;; 5 bytes

  ;; Bump allocator: the heap starts after the strings. Each scan runs in a fresh instance,
  ;; so nothing is ever freed.
  (global $heap (mut i32) (i32.const 1024))

  ;; alloc(size) -> ptr: 8-byte aligned; grows memory as needed; 0 when memory is refused.
  (func (export "alloc") (param $size i32) (result i32)
    (local $ptr i32) (local $end i32) (local $pages i32)
    (local.set $ptr (i32.and (i32.add (global.get $heap) (i32.const 7)) (i32.const -8)))
    (local.set $end (i32.add (local.get $ptr) (local.get $size)))
    (if (i32.lt_u (local.get $end) (local.get $ptr)) (then (return (i32.const 0))))
    ;; pages needed = ceil(end / 65536), computed without overflow
    (local.set $pages
      (i32.add (i32.shr_u (local.get $end) (i32.const 16))
               (i32.ne (i32.and (local.get $end) (i32.const 0xffff)) (i32.const 0))))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then
        (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
          (then (return (i32.const 0))))))
    (global.set $heap (local.get $end))
    (local.get $ptr))

  ;; Whether the 16 bytes at $at are the marker.
  (func $is_marker (param $at i32) (result i32)
    (i32.and
      (i64.eq (i64.load (local.get $at)) (i64.load (i32.const 0)))
      (i64.eq (i64.load offset=8 (local.get $at)) (i64.load (i32.const 8)))))

  (func (export "scan") (param $ptr i32) (param $len i32) (result i32)
    (local $at i32) (local $last i32)
    (if (i32.lt_u (local.get $len) (i32.const 16)) (then (return (i32.const 0))))
    (local.set $last (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 16)))
    (local.set $at (local.get $ptr))
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (local.get $at) (local.get $last)))
        ;; cheap first-byte test before the full comparison
        (if (i32.eq (i32.load8_u (local.get $at)) (i32.const 0x4d)) ;; 'M'
          (then
            (if (call $is_marker (local.get $at))
              (then
                (call $report_finding (i32.const 16) (i32.const 22) (i32.const 85)
                                      (i32.const 48) (i32.const 42))
                (return (i32.const 85))))))
        (local.set $at (i32.add (local.get $at) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func (export "on_load") (result i32)
    (call $log_message (i32.const 2) (i32.const 96) (i32.const 21))
    (i32.const 0))

  ;; Copies min(n, len) bytes of a constant to buf and returns n, the full length.
  (func $copy_out (param $src i32) (param $n i32) (param $buf i32) (param $len i32) (result i32)
    (memory.copy (local.get $buf) (local.get $src)
      (select (local.get $n) (local.get $len) (i32.lt_u (local.get $n) (local.get $len))))
    (local.get $n))

  (func (export "plugin_name") (param $buf i32) (param $len i32) (result i32)
    (call $copy_out (i32.const 128) (i32.const 14) (local.get $buf) (local.get $len)))

  (func (export "plugin_version") (param $buf i32) (param $len i32) (result i32)
    (call $copy_out (i32.const 144) (i32.const 5) (local.get $buf) (local.get $len)))
)

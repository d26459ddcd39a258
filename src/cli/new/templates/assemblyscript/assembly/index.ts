// A plugbox detection plugin: reports files holding the bytes MALICIOUS_MARKER.
// Each file is scanned in a fresh instance of this module: nothing survives from one file to
// the next. plugbox calls alloc(len), writes the file there, then calls scan(ptr, len).
// AssemblyScript imports env.abort; plugbox provides it.

@external("env", "report_finding")
declare function report_finding(threatPtr: usize, threatLen: i32, score: i32, detailPtr: usize, detailLen: i32): void;

@external("env", "log_message")
declare function log_message(level: i32, msgPtr: usize, msgLen: i32): void;

// Keep NAME equal to "name" in plugin.json.
const NAME = "@@name@@";
const VERSION = "0.1.0";
const INFO = 2; // log levels: 0 trace, 1 debug, 2 info, 3 warn, 4 error

// Encoded once, by the start function, which plugbox runs at load.
const MARKER = String.UTF8.encode("MALICIOUS_MARKER");

// Where plugbox places each file: a block of AssemblyScript's own heap that is never freed.
// Keep this export. Without it plugbox would grow the memory for the file itself, and the
// allocator, which sets itself up on its first allocation, would take that memory for free
// heap when that first allocation comes in scan: the file's bytes would be overwritten.
export function alloc(size: i32): usize {
  return heap.alloc(<usize>size);
}

// Runs once, when plugbox loads the plugin; non-zero refuses the load.
export function on_load(): i32 {
  const msg = String.UTF8.encode("loaded");
  log_message(INFO, changetype<usize>(msg), msg.byteLength);
  return 0;
}

// Called with the whole file; returns the highest score reported (0: clean).
export function scan(ptr: usize, len: i32): i32 {
  const marker = changetype<usize>(MARKER);
  const markerLen = MARKER.byteLength;
  for (let at = 0; at <= len - markerLen; at++) {
    if (memory.compare(ptr + <usize>at, marker, <usize>markerLen) == 0) {
      const threat = String.UTF8.encode("Custom.MaliciousMarker");
      const detail = String.UTF8.encode("Found MALICIOUS_MARKER at offset " + at.toString());
      report_finding(changetype<usize>(threat), threat.byteLength, 85, changetype<usize>(detail), detail.byteLength);
      return 85;
    }
  }
  return 0;
}

// Copies at most len bytes of text's UTF-8 to buf and returns the full length.
function copyOut(text: string, buf: usize, len: i32): i32 {
  const bytes = String.UTF8.encode(text);
  memory.copy(buf, changetype<usize>(bytes), <usize>min(len, bytes.byteLength));
  return bytes.byteLength;
}

export function plugin_name(buf: usize, len: i32): i32 {
  return copyOut(NAME, buf, len);
}

export function plugin_version(buf: usize, len: i32): i32 {
  return copyOut(VERSION, buf, len);
}

// The marker scanner in AssemblyScript, built with default settings (so it imports
// env.abort). The host writes the file into memory it grows itself: there is no `alloc`.
// Rebuild with examples/build.sh.

@external("env", "report_finding")
declare function report_finding(namePtr: usize, nameLen: i32, score: i32, detailPtr: usize, detailLen: i32): void;

@external("env", "log_message")
declare function log_message(level: i32, msgPtr: usize, msgLen: i32): void;

function utf8(text: string): ArrayBuffer {
  return String.UTF8.encode(text);
}

// Encoded once, by the start function: plugbox runs it at load (pre-initialisation), so
// no scan pays for the encoding or for setting up the allocator.
const MARKER = utf8("MALICIOUS_MARKER");

export function on_load(): i32 {
  const msg = utf8("AssemblyScript Marker Scanner loaded");
  log_message(2, changetype<usize>(msg), msg.byteLength);
  return 0;
}

export function scan(ptr: usize, len: i32): i32 {
  const m = changetype<usize>(MARKER);
  const ml = MARKER.byteLength;
  for (let i = 0; i <= len - ml; i++) {
    let found = true;
    for (let j = 0; j < ml; j++) {
      if (load<u8>(ptr + <usize>(i + j)) != load<u8>(m + <usize>j)) {
        found = false;
        break;
      }
    }
    if (found) {
      const name = utf8("Custom.MaliciousMarker");
      const detail = utf8("Found MALICIOUS_MARKER at offset " + i.toString());
      report_finding(changetype<usize>(name), name.byteLength, 85, changetype<usize>(detail), detail.byteLength);
      return 85;
    }
  }
  return 0;
}

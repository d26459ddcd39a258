//! The progress line: on a terminal only, from about a second into the run, one line on
//! stderr redrawn in place (`\r`) a few times a second and cleared at the end.

use std::io::Write;
use std::time::{Duration, Instant};

/// How long a run goes before the line first appears.
const FIRST_DRAW: Duration = Duration::from_secs(1);
/// The shortest time between two redraws.
const REDRAW: Duration = Duration::from_millis(200);

/// What the line shows.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    /// Items done (files scanned, not scanned, or failed).
    pub done: u64,
    /// All items, once they are all known.
    pub total: Option<u64>,
    /// Bytes scanned.
    pub bytes: u64,
}

/// The progress line's state.
pub struct Progress {
    start: Instant,
    last_draw: Option<Instant>,
    /// Whether the line is on screen now.
    visible: bool,
}

impl Progress {
    pub fn new() -> Self {
        Self {
            start: Instant::now(),
            last_draw: None,
            visible: false,
        }
    }

    /// Redraws the line if it is time to.
    pub fn tick(&mut self, counts: Counts) {
        let now = Instant::now();
        let elapsed = now.duration_since(self.start);
        if elapsed < FIRST_DRAW
            || self
                .last_draw
                .is_some_and(|t| now.duration_since(t) < REDRAW)
        {
            return;
        }
        self.last_draw = Some(now);
        self.visible = true;
        let mut stderr = std::io::stderr().lock();
        let _ = write!(stderr, "\r{}\x1b[K", line(counts, elapsed));
        let _ = stderr.flush();
    }

    /// Removes the line from the screen, if it is there (before anything else is printed,
    /// and at the end).
    pub fn clear(&mut self) {
        if self.visible {
            self.visible = false;
            let mut stderr = std::io::stderr().lock();
            let _ = write!(stderr, "\r\x1b[K");
            let _ = stderr.flush();
        }
    }
}

/// `plugbox: 120/2000 files, 480.0 KiB, 119 files/s, 0:01`.
fn line(counts: Counts, elapsed: Duration) -> String {
    let files = match counts.total {
        Some(total) => format!("{}/{total} files", counts.done),
        None => format!("{} files", counts.done),
    };
    let seconds = elapsed.as_secs_f64().max(1e-3);
    let rate = counts.done as f64 / seconds;
    let secs = elapsed.as_secs();
    format!(
        "plugbox: {files}, {}, {rate:.0} files/s, {}:{:02} elapsed",
        bytes(counts.bytes),
        secs / 60,
        secs % 60
    )
}

/// `512 B`, `4.0 KiB`, `1.5 MiB`, `2.0 GiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_files_bytes_rate_and_time() {
        let counts = Counts {
            done: 120,
            total: Some(2000),
            bytes: 491_520,
        };
        assert_eq!(
            line(counts, Duration::from_secs(2)),
            "plugbox: 120/2000 files, 480.0 KiB, 60 files/s, 0:02 elapsed"
        );
        let counts = Counts {
            total: None,
            ..counts
        };
        assert_eq!(
            line(counts, Duration::from_secs(61)),
            "plugbox: 120 files, 480.0 KiB, 2 files/s, 1:01 elapsed"
        );
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(3 << 30), "3.0 GiB");
    }
}

//! What `plugbox scan` scans, in order: the PATH arguments (walked; each directory once), then
//! each path of `--files-from` as it arrives (each walked on its own, so a path given again
//! is scanned again).

use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::PathBuf;

use super::glob::Glob;
use super::walk::{self, Entry};

/// Longest path accepted from `--files-from`, in bytes (Linux's `PATH_MAX`); a longer entry
/// is reported and skipped. With the read-ahead of `pool::READ_AHEAD` paths, paths waiting
/// to be scanned take at most 256 MiB, whatever the list holds.
pub const MAX_LISTED_PATH_BYTES: usize = 4096;

/// One thing to scan, or to report in its place.
#[derive(Debug)]
pub enum Item {
    /// A regular file to read and scan.
    File(PathBuf),
    /// A path that could not be walked or read.
    Error(PathBuf, io::Error),
    /// A problem that is not one path's, e.g. `--files-from` cannot be read further.
    Fatal(String),
    /// A path an `--exclude` pattern matched: counted, not scanned.
    Excluded(PathBuf),
}

/// Where `--files-from` reads from.
pub enum FilesFrom {
    Stdin,
    File(PathBuf, File),
}

impl FilesFrom {
    /// Opens `path` (`-` is stdin), or says why not.
    pub fn open(path: &std::path::Path) -> Result<FilesFrom, String> {
        if path.as_os_str() == "-" {
            return Ok(FilesFrom::Stdin);
        }
        File::open(path)
            .map(|file| FilesFrom::File(path.to_path_buf(), file))
            .map_err(|error| format!("--files-from {}: cannot open: {error}", path.display()))
    }

    fn name(&self) -> String {
        match self {
            FilesFrom::Stdin => "stdin".into(),
            FilesFrom::File(path, _) => path.display().to_string(),
        }
    }
}

/// Everything to scan, in order, passed to `send` as it is found; `send` returns false to
/// stop.
pub fn produce(
    paths: &[PathBuf],
    files_from: Option<FilesFrom>,
    separator: u8,
    excludes: &[Glob],
    send: &mut dyn FnMut(Item) -> bool,
) {
    if !walk::walk(paths, excludes, &mut HashSet::new(), &mut |e| send(item(e))) {
        return;
    }
    let Some(source) = files_from else { return };
    let name = source.name();
    let reader: Box<dyn BufRead> = match source {
        FilesFrom::Stdin => Box::new(io::stdin().lock()),
        FilesFrom::File(_, file) => Box::new(BufReader::new(file)),
    };
    let mut lines = Listed::new(reader, separator);
    loop {
        let path = match lines.next_path() {
            Ok(Some(Ok(path))) => path,
            Ok(Some(Err(length))) => {
                let message = format!(
                    "--files-from {name}: an entry of {length} bytes is longer than {MAX_LISTED_PATH_BYTES} bytes, skipped"
                );
                if !send(Item::Fatal(message)) {
                    return;
                }
                continue;
            }
            Ok(None) => return,
            Err(error) => {
                send(Item::Fatal(format!(
                    "--files-from {name}: cannot read further: {error}"
                )));
                return;
            }
        };
        // Each listed path is walked on its own: listing a directory again rescans it.
        if !walk::walk(&[path], excludes, &mut HashSet::new(), &mut |e| {
            send(item(e))
        }) {
            return;
        }
    }
}

fn item(entry: Entry) -> Item {
    match entry {
        Entry::File(path) => Item::File(path),
        Entry::Error(path, error) => Item::Error(path, error),
        Entry::Excluded(path) => Item::Excluded(path),
    }
}

/// The entries of a `--files-from` list.
struct Listed<R> {
    reader: R,
    separator: u8,
}

impl<R: BufRead> Listed<R> {
    fn new(reader: R, separator: u8) -> Self {
        Self { reader, separator }
    }

    /// The next non-empty entry; `Err(length)` for one longer than
    /// [`MAX_LISTED_PATH_BYTES`]; `None` at the end. Returns as soon as the separator
    /// arrives, so paths are scanned while the list is still being written.
    fn next_path(&mut self) -> io::Result<Option<Result<PathBuf, usize>>> {
        loop {
            let mut entry = Vec::new();
            let mut length = 0usize;
            let mut ended = false;
            loop {
                let available = match self.reader.fill_buf() {
                    Ok(available) => available,
                    Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error),
                };
                if available.is_empty() {
                    ended = true;
                    break;
                }
                let (chunk, found) = match available.iter().position(|&b| b == self.separator) {
                    Some(at) => (&available[..at], true),
                    None => (available, false),
                };
                length = length.saturating_add(chunk.len());
                if length <= MAX_LISTED_PATH_BYTES {
                    entry.extend_from_slice(chunk);
                }
                let used = chunk.len() + usize::from(found);
                self.reader.consume(used);
                if found {
                    break;
                }
            }
            if length > MAX_LISTED_PATH_BYTES {
                return Ok(Some(Err(length)));
            }
            if !entry.is_empty() {
                return Ok(Some(Ok(path_of(entry))));
            }
            if ended {
                return Ok(None);
            }
        }
    }
}

#[cfg(unix)]
fn path_of(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

#[cfg(not(unix))]
fn path_of(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(input: &[u8], separator: u8) -> Vec<Result<String, usize>> {
        let mut listed = Listed::new(input, separator);
        let mut out = Vec::new();
        while let Some(entry) = listed.next_path().unwrap() {
            out.push(entry.map(|p| p.to_string_lossy().into_owned()));
        }
        out
    }

    #[test]
    fn lists_split_on_newlines_or_nul_and_skip_empty_entries() {
        assert_eq!(
            entries(b"a\n\nb c\n./d", b'\n'),
            [Ok("a".into()), Ok("b c".into()), Ok("./d".into())]
        );
        assert_eq!(
            entries(b"a\nb\0\0c\0", 0),
            [Ok("a\nb".into()), Ok("c".into())]
        );
        assert!(entries(b"", b'\n').is_empty());
        assert!(entries(b"\n\n", b'\n').is_empty());
    }

    #[test]
    fn overlong_entries_are_refused_and_the_list_goes_on() {
        let mut input = vec![b'x'; MAX_LISTED_PATH_BYTES + 1];
        input.extend_from_slice(b"\nnext\n");
        assert_eq!(
            entries(&input, b'\n'),
            [Err(MAX_LISTED_PATH_BYTES + 1), Ok("next".into())]
        );
    }

    #[test]
    fn entries_are_read_across_small_buffers() {
        let reader = BufReader::with_capacity(2, &b"abcdef\nghi\n"[..]);
        let mut listed = Listed::new(reader, b'\n');
        let first = listed.next_path().unwrap().unwrap().unwrap();
        assert_eq!(first, PathBuf::from("abcdef"));
        let second = listed.next_path().unwrap().unwrap().unwrap();
        assert_eq!(second, PathBuf::from("ghi"));
        assert!(listed.next_path().unwrap().is_none());
    }

    #[test]
    fn the_paths_come_first_then_the_list() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "a").unwrap();
        let list = dir.path().join("list");
        std::fs::write(
            &list,
            format!("{0}/a\n{0}/missing\n{0}/a\n", dir.path().display()),
        )
        .unwrap();
        let mut seen = Vec::new();
        produce(
            &[dir.path().join("a")],
            Some(FilesFrom::open(&list).unwrap()),
            b'\n',
            &[],
            &mut |item| {
                seen.push(match item {
                    Item::File(p) => format!("file {}", p.file_name().unwrap().to_string_lossy()),
                    Item::Error(p, _) => {
                        format!("error {}", p.file_name().unwrap().to_string_lossy())
                    }
                    other => format!("{other:?}"),
                });
                true
            },
        );
        assert_eq!(seen, ["file a", "file a", "error missing", "file a"]);
        let error = FilesFrom::open(&dir.path().join("nope")).err().unwrap();
        assert!(
            error.starts_with("--files-from ") && error.contains("cannot open"),
            "{error}"
        );
    }
}

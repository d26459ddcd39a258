//! Expands paths into files: directories recursively, in name order, each directory once per
//! walk (so symlink loops end), unreadable entries reported and skipped, and paths matching
//! an `--exclude` pattern left out (an excluded directory is not walked).

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use super::glob::Glob;

/// One thing found while walking.
pub enum Entry {
    File(PathBuf),
    Error(PathBuf, io::Error),
    /// A path an `--exclude` pattern matched.
    Excluded(PathBuf),
}

/// Walks from the paths in `roots`, calling `visit` for each regular file, error and
/// excluded path, in a stable order. `seen_dirs` holds the directories already walked (the
/// canonical paths): a directory in it is not walked again. `visit` returns false to stop.
pub fn walk(
    roots: &[PathBuf],
    excludes: &[Glob],
    seen_dirs: &mut HashSet<PathBuf>,
    visit: &mut dyn FnMut(Entry) -> bool,
) -> bool {
    roots
        .iter()
        .all(|root| walk_one(root, excludes, seen_dirs, visit))
}

/// Whether an `--exclude` pattern matches `path` as written, or its file name.
pub fn excluded(path: &Path, excludes: &[Glob]) -> bool {
    if excludes.is_empty() {
        return false;
    }
    let whole = path.to_string_lossy();
    let name = path.file_name().map(|name| name.to_string_lossy());
    excludes
        .iter()
        .any(|glob| glob.matches(&whole) || name.as_ref().is_some_and(|n| glob.matches(n)))
}

fn walk_one(
    path: &Path,
    excludes: &[Glob],
    seen_dirs: &mut HashSet<PathBuf>,
    visit: &mut dyn FnMut(Entry) -> bool,
) -> bool {
    if excluded(path, excludes) {
        return visit(Entry::Excluded(path.to_path_buf()));
    }
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => return visit(Entry::Error(path.to_path_buf(), error)),
    };
    if metadata.is_file() {
        return visit(Entry::File(path.to_path_buf()));
    }
    if !metadata.is_dir() {
        log::info!(
            "{}: not a regular file or directory, skipped",
            path.display()
        );
        return true;
    }
    match path.canonicalize() {
        Ok(real) => {
            // Already walked: a symlink loop, or a directory named twice.
            if !seen_dirs.insert(real) {
                return true;
            }
        }
        Err(error) => return visit(Entry::Error(path.to_path_buf(), error)),
    }
    let entries = match std::fs::read_dir(path) {
        Ok(entries) => entries,
        Err(error) => return visit(Entry::Error(path.to_path_buf(), error)),
    };
    let mut children = Vec::new();
    for entry in entries {
        match entry {
            Ok(entry) => children.push(entry.path()),
            Err(error) => {
                if !visit(Entry::Error(path.to_path_buf(), error)) {
                    return false;
                }
            }
        }
    }
    children.sort();
    children
        .iter()
        .all(|child| walk_one(child, excludes, seen_dirs, visit))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusion_matches_the_whole_path_or_the_name() {
        let globs = |patterns: &[&str]| -> Vec<Glob> {
            patterns.iter().map(|p| Glob::new(p).unwrap()).collect()
        };
        let ex = globs(&["*.log", "build/**", "**/.git"]);
        assert!(excluded(Path::new("a/b/x.log"), &ex), "by name");
        assert!(excluded(Path::new("build/x/y.bin"), &ex), "by path");
        assert!(excluded(Path::new("src/.git"), &ex));
        assert!(!excluded(Path::new("src/x.rs"), &ex));
        assert!(!excluded(Path::new("x.log"), &[]));
        assert!(!excluded(Path::new("."), &globs(&["x"])));
    }

    #[test]
    fn excluded_directories_are_not_walked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("keep")).unwrap();
        std::fs::create_dir_all(dir.path().join("skip/deep")).unwrap();
        std::fs::write(dir.path().join("keep/a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("keep/b.log"), "b").unwrap();
        std::fs::write(dir.path().join("skip/deep/c.txt"), "c").unwrap();
        let excludes = [Glob::new("skip").unwrap(), Glob::new("*.log").unwrap()];
        let mut seen = Vec::new();
        walk(
            &[dir.path().to_path_buf()],
            &excludes,
            &mut HashSet::new(),
            &mut |entry| {
                seen.push(match entry {
                    Entry::File(p) => {
                        format!("file {}", p.strip_prefix(dir.path()).unwrap().display())
                    }
                    Entry::Excluded(p) => {
                        format!("excluded {}", p.strip_prefix(dir.path()).unwrap().display())
                    }
                    Entry::Error(p, e) => format!("error {}: {e}", p.display()),
                });
                true
            },
        );
        assert_eq!(
            seen,
            ["file keep/a.txt", "excluded keep/b.log", "excluded skip"]
        );
    }
}

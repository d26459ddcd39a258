//! Expands the PATH arguments into files: directories recursively, in name order, each
//! directory once (so symlink loops end), unreadable entries reported and skipped.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

/// One thing found while walking.
pub enum Entry {
    File(PathBuf),
    Error(PathBuf, io::Error),
}

/// Walks `roots`, calling `visit` for each regular file and each error, in a stable order.
pub fn walk(roots: &[PathBuf], mut visit: impl FnMut(Entry)) {
    let mut seen_dirs = HashSet::new();
    for root in roots {
        walk_one(root, &mut seen_dirs, &mut visit);
    }
}

fn walk_one(path: &Path, seen_dirs: &mut HashSet<PathBuf>, visit: &mut impl FnMut(Entry)) {
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
        return;
    }
    match path.canonicalize() {
        Ok(real) => {
            // Already walked: a symlink loop, or a directory named twice.
            if !seen_dirs.insert(real) {
                return;
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
            Err(error) => visit(Entry::Error(path.to_path_buf(), error)),
        }
    }
    children.sort();
    for child in children {
        walk_one(&child, seen_dirs, visit);
    }
}

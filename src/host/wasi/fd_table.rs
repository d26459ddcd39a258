//! Open file descriptors of one instance: stdio, the read-only preopens (the plugin's
//! directory when `filesystem` is granted; a command plugin's directories) and what the guest
//! opened in them, read-only. The table is capped at [`MAX_OPEN_FDS`]; every host file is
//! closed when the instance's store is dropped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::errno::{self, Errno};
use super::preopen::Preopen;
use crate::limits::MAX_OPEN_FDS;

/// The descriptor of the first preopen; the others follow in order.
pub(crate) const FIRST_PREOPEN_FD: u32 = 3;

/// What a descriptor refers to.
#[derive(Debug)]
pub(super) enum Entry {
    /// fd 0: always at end of file.
    Stdin,
    /// fd 1: lines become info log messages.
    Stdout,
    /// fd 2: lines become warn log messages.
    Stderr,
    /// A directory inside a preopen (preopen `i` itself at [`FIRST_PREOPEN_FD`] + `i`).
    Dir {
        /// Canonical host path.
        host: PathBuf,
        /// Which preopen it is in: paths from it are confined to that one.
        root: usize,
    },
    /// A regular file inside a preopen, opened read-only.
    File {
        /// The open file.
        file: File,
    },
}

/// The descriptor table of one instance.
#[derive(Debug)]
pub(super) struct FdTable {
    entries: Vec<Option<Entry>>,
    preopens: Arc<[Preopen]>,
}

impl FdTable {
    /// Stdio, plus each preopen at fd 3, 4, ... in order. Loading keeps the preopens well
    /// under [`MAX_OPEN_FDS`] ([`MAX_PREOPENS`](crate::limits::MAX_PREOPENS)); the cap on
    /// further descriptors holds whatever the number.
    pub(super) fn new(preopens: Arc<[Preopen]>) -> Self {
        let mut entries = vec![Some(Entry::Stdin), Some(Entry::Stdout), Some(Entry::Stderr)];
        entries.extend(preopens.iter().enumerate().map(|(root, preopen)| {
            Some(Entry::Dir {
                host: preopen.host.clone(),
                root,
            })
        }));
        Self { entries, preopens }
    }

    /// The canonical host path of preopen `root`: what paths from its directories are
    /// confined to.
    pub(super) fn root(&self, root: usize) -> Option<&Path> {
        self.preopens.get(root).map(|p| p.host.as_path())
    }

    /// The preopen `fd` is, when it still holds it at its own number (libc scans fds from 3
    /// until `BADF`); `BADF` for every other descriptor.
    pub(super) fn preopen_at(&self, fd: i32) -> Result<&Preopen, Errno> {
        let index = (fd as u32)
            .checked_sub(FIRST_PREOPEN_FD)
            .ok_or(errno::BADF)? as usize;
        let preopen = self.preopens.get(index).ok_or(errno::BADF)?;
        match self.get(fd)? {
            Entry::Dir { host, root } if *root == index && *host == preopen.host => Ok(preopen),
            _ => Err(errno::BADF),
        }
    }

    /// The entry for `fd`, or `BADF`.
    pub(super) fn get(&self, fd: i32) -> Result<&Entry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.entries.get(i))
            .and_then(Option::as_ref)
            .ok_or(errno::BADF)
    }

    /// The entry for `fd`, mutably, or `BADF`.
    pub(super) fn get_mut(&mut self, fd: i32) -> Result<&mut Entry, Errno> {
        usize::try_from(fd)
            .ok()
            .and_then(|i| self.entries.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or(errno::BADF)
    }

    /// Stores `entry` in the lowest free descriptor, or fails with `MFILE`.
    pub(super) fn insert(&mut self, entry: Entry) -> Result<u32, Errno> {
        let slot = match self.entries.iter().position(Option::is_none) {
            Some(slot) => slot,
            None if self.entries.len() < MAX_OPEN_FDS => {
                self.entries.push(None);
                self.entries.len() - 1
            }
            None => return Err(errno::MFILE),
        };
        self.entries[slot] = Some(entry);
        Ok(slot as u32)
    }

    /// Closes `fd`.
    pub(super) fn remove(&mut self, fd: i32) -> Result<Entry, Errno> {
        self.get(fd)?;
        Ok(self.entries[fd as usize].take().expect("checked above"))
    }

    /// Moves `from` to `to` (which must be open), closing what `to` held.
    pub(super) fn renumber(&mut self, from: i32, to: i32) -> Result<(), Errno> {
        self.get(to)?;
        let entry = self.remove(from)?;
        self.entries[to as usize] = Some(entry);
        Ok(())
    }

    /// Whether the table holds what [`FdTable::new`] put in it, and nothing else.
    pub(super) fn is_fresh(&self) -> bool {
        let initial = 3 + self.preopens.len();
        let as_made = self
            .entries
            .iter()
            .take(initial)
            .enumerate()
            .all(|(fd, entry)| match (fd, entry) {
                (0, Some(Entry::Stdin)) | (1, Some(Entry::Stdout)) | (2, Some(Entry::Stderr)) => {
                    true
                }
                (fd, Some(Entry::Dir { host, root })) => {
                    fd.checked_sub(3) == Some(*root) && *host == self.preopens[*root].host
                }
                _ => false,
            });
        as_made
            && self.entries.len() >= initial
            && self.entries[initial..].iter().all(Option::is_none)
    }

    /// Number of open descriptors.
    #[cfg(test)]
    fn open_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preopens(guests: &[&str]) -> Arc<[Preopen]> {
        guests
            .iter()
            .map(|guest| Preopen {
                host: PathBuf::from(format!("/host{guest}")),
                guest: (*guest).to_owned(),
            })
            .collect()
    }

    #[test]
    fn preopens_follow_stdio_in_order_and_answer_prestat_at_their_own_number() {
        let mut table = FdTable::new(preopens(&["/a", "/b"]));
        for (fd, guest) in [(3, "/a"), (4, "/b")] {
            assert_eq!(table.preopen_at(fd).unwrap().guest, guest);
            let root = fd as usize - 3;
            assert!(matches!(table.get(fd), Ok(Entry::Dir { root: r, .. }) if *r == root));
            assert_eq!(table.root(root), Some(Path::new(&format!("/host{guest}"))));
        }
        for fd in [-1, 0, 1, 2, 5, i32::MAX, i32::MIN] {
            assert_eq!(table.preopen_at(fd).unwrap_err(), errno::BADF, "{fd}");
        }
        assert_eq!(table.root(2), None);
        // Moved elsewhere, or replaced by something else, a preopen is no longer one.
        let fd = table.insert(Entry::Stdin).unwrap();
        assert_eq!(fd, 5);
        table.renumber(3, 5).unwrap();
        assert_eq!(table.preopen_at(5).unwrap_err(), errno::BADF);
        assert_eq!(table.preopen_at(3).unwrap_err(), errno::BADF);
        assert_eq!(table.preopen_at(4).unwrap().guest, "/b");
        assert!(FdTable::new(preopens(&[])).preopen_at(3).is_err());
    }

    #[test]
    fn stdio_and_preopen_then_lowest_free_slot_and_cap() {
        let mut table = FdTable::new(preopens(&["/plugin"]));
        assert!(matches!(table.get(3), Ok(Entry::Dir { .. })));
        assert_eq!(table.get(4).unwrap_err(), errno::BADF);
        assert_eq!(table.get(-1).unwrap_err(), errno::BADF);
        let fd = table.insert(Entry::Stdin).unwrap();
        assert_eq!(fd, 4);
        table.remove(1).unwrap();
        assert_eq!(table.insert(Entry::Stdin).unwrap(), 1);
        while table.open_count() < MAX_OPEN_FDS {
            table.insert(Entry::Stdin).unwrap();
        }
        assert_eq!(table.insert(Entry::Stdin).unwrap_err(), errno::MFILE);
        table.renumber(4, 0).unwrap();
        assert_eq!(table.get(4).unwrap_err(), errno::BADF);
    }
}

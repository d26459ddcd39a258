//! Open file descriptors of one instance: stdio, the preopened plugin directory (when
//! `filesystem` is granted) and what the guest opened in it, read-only. The table is capped at
//! [`MAX_OPEN_FDS`]; every host file is closed when the instance's store is dropped.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::errno::{self, Errno};
use crate::limits::MAX_OPEN_FDS;

/// The descriptor of the preopened plugin directory.
pub(crate) const PREOPEN_FD: u32 = 3;

/// What a descriptor refers to.
#[derive(Debug)]
pub(super) enum Entry {
    /// fd 0: always at end of file.
    Stdin,
    /// fd 1: lines become info log messages.
    Stdout,
    /// fd 2: lines become warn log messages.
    Stderr,
    /// A directory inside the preopen (the preopen itself at [`PREOPEN_FD`]).
    Dir {
        /// Canonical host path.
        host: PathBuf,
    },
    /// A regular file inside the preopen, opened read-only.
    File {
        /// The open file.
        file: File,
    },
}

/// The descriptor table of one instance.
#[derive(Debug)]
pub(super) struct FdTable {
    entries: Vec<Option<Entry>>,
    root: Option<PathBuf>,
}

impl FdTable {
    /// Stdio, plus the preopen at fd 3 when `root` (a canonical directory) is given.
    pub(super) fn new(root: Option<PathBuf>) -> Self {
        let mut entries = vec![Some(Entry::Stdin), Some(Entry::Stdout), Some(Entry::Stderr)];
        if let Some(root) = &root {
            entries.push(Some(Entry::Dir { host: root.clone() }));
        }
        Self { entries, root }
    }

    /// The canonical host path of the preopen, if filesystem access is granted.
    pub(super) fn root(&self) -> Option<&Path> {
        self.root.as_deref()
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

    /// Number of open descriptors.
    #[cfg(test)]
    fn open_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdio_and_preopen_then_lowest_free_slot_and_cap() {
        let mut table = FdTable::new(Some(PathBuf::from("/p")));
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

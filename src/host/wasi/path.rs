//! Path calls (`path_*`), resolved inside the read-only preopen their directory descriptor
//! belongs to: opening and describing files and directories; everything that would write is
//! refused.

use std::path::{Path, PathBuf};

use super::errno;
use super::fd::{filestat, filetype_of};
use super::fd_table::{Entry, FdTable};
use super::mem::Mem;
use super::{Ctx, Fail, Outcome, Ret, preopen, rights, with};
use crate::files::Want;

const OFLAGS_CREAT: i32 = 1;
const OFLAGS_DIRECTORY: i32 = 2;
const OFLAGS_EXCL: i32 = 4;
const OFLAGS_TRUNC: i32 = 8;
/// append, dsync, rsync, sync: all imply writing.
const FDFLAGS_WRITING: i32 = 1 | 2 | 8 | 16;

/// Resolves a guest path relative to the directory descriptor `fd`.
fn resolve(
    mem: &Mem<'_>,
    fds: &FdTable,
    fd: i32,
    path: i32,
    len: i32,
    what: &str,
) -> Result<PathBuf, Fail> {
    let guest_path = mem.bytes(path, len, what)?;
    let dir = dir_of(fds, fd)?;
    Ok(preopen::resolve(dir.root_path, dir.host, guest_path)?)
}

/// A directory descriptor: the directory, and the preopen it is in.
struct Dir<'a> {
    /// Canonical host path of the directory.
    host: &'a Path,
    /// Which preopen.
    root: usize,
    /// Canonical host path of that preopen: paths from the directory are confined to it.
    root_path: &'a Path,
}

/// The directory `fd` refers to, or `BADF` / `NOTDIR`.
fn dir_of(fds: &FdTable, fd: i32) -> Result<Dir<'_>, Fail> {
    match fds.get(fd)? {
        Entry::Dir { host, root } => Ok(Dir {
            host,
            root: *root,
            root_path: fds.root(*root).ok_or(errno::NOTCAPABLE)?,
        }),
        _ => Err(errno::NOTDIR.into()),
    }
}

pub(super) fn path_open(
    mut caller: Ctx<'_>,
    fd: i32,
    _dirflags: i32,
    path: i32,
    len: i32,
    oflags: i32,
    rights_base: i64,
    _rights_inheriting: i64,
    fdflags: i32,
    opened: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        // Write intent is refused before the path is looked at: a file to be created does not
        // exist yet, and the answer is the same wherever it would be.
        if oflags & (OFLAGS_CREAT | OFLAGS_EXCL | OFLAGS_TRUNC) != 0
            || fdflags & FDFLAGS_WRITING != 0
            || rights_base as u64 & rights::WRITING != 0
        {
            return write_refused(mem, &state.wasi.fds, fd, path, len, "path_open path");
        }
        let guest_path = mem.bytes(path, len, "path_open path")?;
        let dir = dir_of(&state.wasi.fds, fd)?;
        let root = dir.root;
        // Opened once, checked on the handle: only regular files and directories inside the
        // preopen `fd` is in, and a FIFO cannot block the call.
        let found = preopen::open(dir.root_path, dir.host, guest_path, Want::FileOrDir)?;
        let entry = if found.is_dir {
            Entry::Dir {
                host: found.real,
                root,
            }
        } else if oflags & OFLAGS_DIRECTORY != 0 {
            return Err(errno::NOTDIR.into());
        } else {
            Entry::File { file: found.file }
        };
        let new_fd = state.wasi.fds.insert(entry)?;
        Ok(mem.put_u32(opened, new_fd, "path_open fd")?)
    })
}

pub(super) fn path_filestat_get(
    mut caller: Ctx<'_>,
    fd: i32,
    _flags: i32,
    path: i32,
    len: i32,
    stat: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        let host = resolve(
            mem,
            &state.wasi.fds,
            fd,
            path,
            len,
            "path_filestat_get path",
        )?;
        let meta = std::fs::metadata(&host).map_err(|e| errno::from_io(&e))?;
        Ok(mem.put(
            stat,
            &filestat(filetype_of(&meta), Some(&meta)),
            "path_filestat_get stat",
        )?)
    })
}

/// A path call that would write: `ROFS` in the preopen, `BADF`/`NOTDIR` elsewhere.
fn write_refused(
    mem: &Mem<'_>,
    fds: &FdTable,
    fd: i32,
    path: i32,
    len: i32,
    what: &str,
) -> Outcome {
    mem.bytes(path, len, what)?;
    match fds.get(fd)? {
        Entry::Dir { .. } => Err(errno::ROFS.into()),
        _ => Err(errno::NOTDIR.into()),
    }
}

fn refuse_write(mut caller: Ctx<'_>, fd: i32, path: i32, len: i32, what: &'static str) -> Ret {
    with(&mut caller, |mem, state| {
        write_refused(mem, &state.wasi.fds, fd, path, len, what)
    })
}

pub(super) fn path_create_directory(caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_create_directory path")
}

pub(super) fn path_remove_directory(caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_remove_directory path")
}

pub(super) fn path_unlink_file(caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    refuse_write(caller, fd, path, len, "path_unlink_file path")
}

pub(super) fn path_filestat_set_times(
    caller: Ctx<'_>,
    fd: i32,
    _flags: i32,
    path: i32,
    len: i32,
    _atim: i64,
    _mtim: i64,
    _fst: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_filestat_set_times path")
}

pub(super) fn path_link(
    caller: Ctx<'_>,
    _old_fd: i32,
    _flags: i32,
    _old: i32,
    _old_len: i32,
    fd: i32,
    path: i32,
    len: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_link new path")
}

pub(super) fn path_rename(
    caller: Ctx<'_>,
    _old_fd: i32,
    _old: i32,
    _old_len: i32,
    fd: i32,
    path: i32,
    len: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_rename new path")
}

pub(super) fn path_symlink(
    caller: Ctx<'_>,
    _old: i32,
    _old_len: i32,
    fd: i32,
    path: i32,
    len: i32,
) -> Ret {
    refuse_write(caller, fd, path, len, "path_symlink new path")
}

pub(super) fn path_readlink(
    mut caller: Ctx<'_>,
    fd: i32,
    path: i32,
    len: i32,
    _buf: i32,
    _buf_len: i32,
    _used: i32,
) -> Ret {
    // Link targets are host paths: not shown. Opening through a link works when it stays inside.
    with(&mut caller, |mem, state| {
        mem.bytes(path, len, "path_readlink path")?;
        match state.wasi.fds.get(fd)? {
            Entry::Dir { .. } => Err(errno::NOTSUP.into()),
            _ => Err(errno::NOTDIR.into()),
        }
    })
}

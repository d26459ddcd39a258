//! Descriptor calls (`fd_*`): reading, seeking and describing stdio, the preopens and what
//! the guest opened in them; everything that would change a descriptor or its file is refused.
//! Writing to stdout and stderr is in [`super::stdio`].

use std::fs::{File, Metadata};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use super::errno::{self, Errno};
use super::fd_table::Entry;
use super::mem::{Iovecs, Mem};
use super::{CHUNK, Ctx, Fail, Ret, rights, with};
use crate::limits::MAX_DIR_ENTRIES;
use crate::sandbox::budget::Deadline;

pub(super) fn fd_close(mut caller: Ctx<'_>, fd: i32) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.remove(fd)?;
        // A listing belongs to its descriptor; a later one of the same number reads afresh.
        if state.wasi.listing.as_ref().is_some_and(|l| l.fd == fd) {
            state.wasi.listing = None;
        }
        Ok(())
    })
}

pub(super) fn fd_renumber(mut caller: Ctx<'_>, from: i32, to: i32) -> Ret {
    with(&mut caller, |_, state| {
        Ok(state.wasi.fds.renumber(from, to)?)
    })
}

/// Calls that would change a descriptor or its file: refused on every open descriptor.
fn refuse_on_open(mut caller: Ctx<'_>, fd: i32, errno: Errno) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        Err(errno.into())
    })
}

pub(super) fn fd_allocate(caller: Ctx<'_>, fd: i32, _offset: i64, _len: i64) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

pub(super) fn fd_datasync(caller: Ctx<'_>, fd: i32) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

pub(super) fn fd_sync(caller: Ctx<'_>, fd: i32) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

pub(super) fn fd_filestat_set_size(caller: Ctx<'_>, fd: i32, _size: i64) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

pub(super) fn fd_filestat_set_times(
    caller: Ctx<'_>,
    fd: i32,
    _atim: i64,
    _mtim: i64,
    _flags: i32,
) -> Ret {
    refuse_on_open(caller, fd, errno::NOTCAPABLE)
}

pub(super) fn fd_fdstat_set_flags(mut caller: Ctx<'_>, fd: i32, flags: i32) -> Ret {
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        if flags == 0 {
            Ok(())
        } else {
            Err(errno::NOTSUP.into())
        }
    })
}

pub(super) fn fd_fdstat_set_rights(
    mut caller: Ctx<'_>,
    fd: i32,
    _base: i64,
    _inheriting: i64,
) -> Ret {
    // Rights can only shrink, and no right here grants more than read access anyway.
    with(&mut caller, |_, state| {
        state.wasi.fds.get(fd)?;
        Ok(())
    })
}

pub(super) fn fd_advise(
    mut caller: Ctx<'_>,
    fd: i32,
    _offset: i64,
    _len: i64,
    _advice: i32,
) -> Ret {
    with(&mut caller, |_, state| match state.wasi.fds.get(fd)? {
        Entry::File { .. } => Ok(()),
        Entry::Dir { .. } => Err(errno::ISDIR.into()),
        _ => Err(errno::SPIPE.into()),
    })
}

const FILETYPE_CHARACTER_DEVICE: u8 = 2;
pub(super) const FILETYPE_DIRECTORY: u8 = 3;
pub(super) const FILETYPE_REGULAR_FILE: u8 = 4;
const FILETYPE_SYMBOLIC_LINK: u8 = 7;
pub(super) const FILETYPE_UNKNOWN: u8 = 0;

pub(super) fn fd_fdstat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let (filetype, base, inheriting) = match state.wasi.fds.get(fd)? {
            Entry::Stdin => (FILETYPE_CHARACTER_DEVICE, rights::STDIN, 0),
            Entry::Stdout | Entry::Stderr => (FILETYPE_CHARACTER_DEVICE, rights::STDOUT, 0),
            Entry::Dir { .. } => (FILETYPE_DIRECTORY, rights::DIR, rights::DIR | rights::FILE),
            Entry::File { .. } => (FILETYPE_REGULAR_FILE, rights::FILE, 0),
        };
        let mut record = [0u8; 24];
        record[0] = filetype;
        record[8..16].copy_from_slice(&base.to_le_bytes());
        record[16..24].copy_from_slice(&inheriting.to_le_bytes());
        Ok(mem.put(stat, &record, "fd_fdstat_get stat")?)
    })
}

pub(super) fn fd_filestat_get(mut caller: Ctx<'_>, fd: i32, stat: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let record = match state.wasi.fds.get(fd)? {
            Entry::Stdin | Entry::Stdout | Entry::Stderr => {
                filestat(FILETYPE_CHARACTER_DEVICE, None)
            }
            // The open handle, not its path: the path may lead elsewhere by now.
            Entry::File { file, .. } => {
                let meta = file.metadata().map_err(|e| errno::from_io(&e))?;
                filestat(filetype_of(&meta), Some(&meta))
            }
            Entry::Dir { host, .. } => {
                let meta = std::fs::metadata(host).map_err(|e| errno::from_io(&e))?;
                filestat(filetype_of(&meta), Some(&meta))
            }
        };
        Ok(mem.put(stat, &record, "fd_filestat_get stat")?)
    })
}

pub(super) fn fd_prestat_get(mut caller: Ctx<'_>, fd: i32, prestat: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let name_len = state.wasi.fds.preopen_at(fd)?.guest.len() as u32;
        let mut record = [0u8; 8];
        record[4..8].copy_from_slice(&name_len.to_le_bytes());
        Ok(mem.put(prestat, &record, "fd_prestat_get prestat")?)
    })
}

pub(super) fn fd_prestat_dir_name(mut caller: Ctx<'_>, fd: i32, path: i32, len: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let name = state.wasi.fds.preopen_at(fd)?.guest.as_bytes();
        let buf = mem.bytes_mut(path, len as u32 as usize, "fd_prestat_dir_name path")?;
        if buf.len() < name.len() {
            return Err(errno::NAMETOOLONG.into());
        }
        buf[..name.len()].copy_from_slice(name);
        Ok(())
    })
}

pub(super) fn fd_read(mut caller: Ctx<'_>, fd: i32, iovs: i32, count: i32, nread: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let iovecs = mem.iovecs(iovs, count, "fd_read iovecs")?;
        let deadline = state.deadline.clone();
        let total = match state.wasi.fds.get_mut(fd)? {
            Entry::Stdin => match &mut state.wasi.command {
                Some(command) => command.read_stdin(mem, iovecs)?,
                None => 0,
            },
            Entry::File { file, .. } => read_into(mem, &deadline, file, iovecs)?,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            Entry::Stdout | Entry::Stderr => return Err(errno::BADF.into()),
        };
        Ok(mem.put_u32(nread, total, "fd_read nread")?)
    })
}

pub(super) fn fd_pread(
    mut caller: Ctx<'_>,
    fd: i32,
    iovs: i32,
    count: i32,
    offset: i64,
    nread: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        let iovecs = mem.iovecs(iovs, count, "fd_pread iovecs")?;
        let deadline = state.deadline.clone();
        let total = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => {
                let position = file.stream_position().map_err(|e| errno::from_io(&e))?;
                file.seek(SeekFrom::Start(offset as u64))
                    .map_err(|e| errno::from_io(&e))?;
                let read = read_into(mem, &deadline, file, iovecs);
                file.seek(SeekFrom::Start(position))
                    .map_err(|e| errno::from_io(&e))?;
                read?
            }
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            _ => return Err(errno::SPIPE.into()),
        };
        Ok(mem.put_u32(nread, total, "fd_pread nread")?)
    })
}

/// Reads from `file` into the iovecs in order, until one is not filled, checking the
/// deadline between chunks.
fn read_into(
    mem: &mut Mem<'_>,
    deadline: &Deadline,
    file: &mut File,
    iovecs: Iovecs,
) -> Result<u32, Fail> {
    let mut total = 0u32;
    for i in 0..iovecs.count {
        let (buf, len) = mem.iovec(iovecs, i, "read iovecs")?;
        let target = mem.bytes_mut(buf, len as u32 as usize, "read buffer")?;
        let mut filled = 0;
        while filled < target.len() {
            if deadline.is_passed() {
                return Err(deadline.exhausted().into());
            }
            let end = target.len().min(filled + CHUNK);
            match file.read(&mut target[filled..end]) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(errno::from_io(&e).into()),
            }
        }
        total = total.saturating_add(filled as u32);
        if filled < target.len() {
            break;
        }
    }
    Ok(total)
}

pub(super) fn fd_pwrite(
    mut caller: Ctx<'_>,
    fd: i32,
    _iovs: i32,
    _count: i32,
    _offset: i64,
    _nwritten: i32,
) -> Ret {
    with(&mut caller, |_, state| match state.wasi.fds.get(fd)? {
        Entry::File { .. } | Entry::Dir { .. } => Err(errno::NOTCAPABLE.into()),
        _ => Err(errno::SPIPE.into()),
    })
}

pub(super) fn fd_seek(
    mut caller: Ctx<'_>,
    fd: i32,
    offset: i64,
    whence: i32,
    new_offset: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        let file = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => file,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            _ => return Err(errno::SPIPE.into()),
        };
        let target = match whence {
            0 if offset >= 0 => SeekFrom::Start(offset as u64),
            1 => SeekFrom::Current(offset),
            2 => SeekFrom::End(offset),
            _ => return Err(errno::INVAL.into()),
        };
        let position = file.seek(target).map_err(|e| errno::from_io(&e))?;
        Ok(mem.put_u64(new_offset, position, "fd_seek newoffset")?)
    })
}

pub(super) fn fd_tell(mut caller: Ctx<'_>, fd: i32, offset: i32) -> Ret {
    with(&mut caller, |mem, state| {
        let position = match state.wasi.fds.get_mut(fd)? {
            Entry::File { file, .. } => file.stream_position().map_err(|e| errno::from_io(&e))?,
            Entry::Dir { .. } => return Err(errno::ISDIR.into()),
            _ => return Err(errno::SPIPE.into()),
        };
        Ok(mem.put_u64(offset, position, "fd_tell offset")?)
    })
}

const DIRENT_HEADER: usize = 24;

/// A directory's entries, read once when a listing starts (cookie 0) and kept for the
/// calls that continue it, so a listing costs one directory read, not one per call.
#[derive(Debug)]
pub(super) struct Listing {
    fd: i32,
    host: PathBuf,
    entries: Vec<(String, u8)>,
}

pub(super) fn fd_readdir(
    mut caller: Ctx<'_>,
    fd: i32,
    buf: i32,
    len: i32,
    cookie: i64,
    used: i32,
) -> Ret {
    with(&mut caller, |mem, state| {
        let host = match state.wasi.fds.get(fd)? {
            Entry::Dir { host, .. } => host.clone(),
            _ => return Err(errno::NOTDIR.into()),
        };
        let fresh = match &state.wasi.listing {
            Some(listing) => cookie == 0 || listing.fd != fd || listing.host != host,
            None => true,
        };
        if fresh {
            state.wasi.listing = None;
            let entries = list_dir(&host, &state.deadline)?;
            state.wasi.listing = Some(Listing { fd, host, entries });
        }
        let names = &state.wasi.listing.as_ref().expect("listed above").entries;
        let out = mem.bytes_mut(buf, len as u32 as usize, "fd_readdir buffer")?;
        let mut written = 0;
        let skip = usize::try_from(cookie).unwrap_or(usize::MAX);
        for (index, (name, filetype)) in names.iter().enumerate().skip(skip) {
            let mut record = [0u8; DIRENT_HEADER];
            record[0..8].copy_from_slice(&(index as u64 + 1).to_le_bytes());
            record[16..20].copy_from_slice(&(name.len() as u32).to_le_bytes());
            record[20] = *filetype;
            // A record that does not fit is written in part: a full buffer tells libc to
            // call again with a larger one.
            for part in [&record[..], name.as_bytes()] {
                let n = part.len().min(out.len() - written);
                out[written..written + n].copy_from_slice(&part[..n]);
                written += n;
            }
            if written == out.len() {
                break;
            }
        }
        Ok(mem.put_u32(used, written as u32, "fd_readdir bufused")?)
    })
}

/// The first [`MAX_DIR_ENTRIES`] entries of `dir`, sorted by name.
fn list_dir(dir: &Path, deadline: &Deadline) -> Result<Vec<(String, u8)>, Fail> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| errno::from_io(&e))? {
        if names.len() == MAX_DIR_ENTRIES {
            break;
        }
        if deadline.is_passed() {
            return Err(deadline.exhausted().into());
        }
        let entry = entry.map_err(|e| errno::from_io(&e))?;
        let filetype = entry.file_type().map_or(FILETYPE_UNKNOWN, |t| {
            if t.is_dir() {
                FILETYPE_DIRECTORY
            } else if t.is_file() {
                FILETYPE_REGULAR_FILE
            } else if t.is_symlink() {
                FILETYPE_SYMBOLIC_LINK
            } else {
                FILETYPE_UNKNOWN
            }
        });
        names.push((entry.file_name().to_string_lossy().into_owned(), filetype));
    }
    names.sort();
    Ok(names)
}

pub(super) fn filetype_of(meta: &Metadata) -> u8 {
    if meta.is_dir() {
        FILETYPE_DIRECTORY
    } else if meta.is_file() {
        FILETYPE_REGULAR_FILE
    } else {
        FILETYPE_UNKNOWN
    }
}

/// A preview1 `filestat` record (64 bytes).
pub(super) fn filestat(filetype: u8, meta: Option<&Metadata>) -> [u8; 64] {
    let ns = |t: std::io::Result<SystemTime>| {
        t.ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64)
    };
    let mut record = [0u8; 64];
    record[16] = filetype;
    record[24..32].copy_from_slice(&1u64.to_le_bytes());
    if let Some(meta) = meta {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            record[0..8].copy_from_slice(&meta.dev().to_le_bytes());
            record[8..16].copy_from_slice(&meta.ino().to_le_bytes());
            record[24..32].copy_from_slice(&meta.nlink().to_le_bytes());
        }
        record[32..40].copy_from_slice(&meta.len().to_le_bytes());
        record[40..48].copy_from_slice(&ns(meta.accessed()).to_le_bytes());
        record[48..56].copy_from_slice(&ns(meta.modified()).to_le_bytes());
        record[56..64].copy_from_slice(&ns(meta.created()).to_le_bytes());
    }
    record
}

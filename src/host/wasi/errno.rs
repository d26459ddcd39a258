//! WASI preview1 error numbers used by this layer.

/// A WASI `errno` value.
pub(super) type Errno = u16;

pub(super) const SUCCESS: Errno = 0;
pub(super) const ACCES: Errno = 2;
pub(super) const BADF: Errno = 8;
pub(super) const EXIST: Errno = 20;
pub(super) const INVAL: Errno = 28;
pub(super) const IO: Errno = 29;
pub(super) const ISDIR: Errno = 31;
pub(super) const MFILE: Errno = 33;
pub(super) const NAMETOOLONG: Errno = 37;
pub(super) const NOENT: Errno = 44;
pub(super) const NOSYS: Errno = 52;
pub(super) const NOTDIR: Errno = 54;
pub(super) const NOTSOCK: Errno = 57;
pub(super) const NOTSUP: Errno = 58;
pub(super) const ROFS: Errno = 69;
pub(super) const SPIPE: Errno = 70;
pub(super) const NOTCAPABLE: Errno = 76;

/// The errno for a host I/O error.
pub(super) fn from_io(error: &std::io::Error) -> Errno {
    use std::io::ErrorKind::*;
    match error.kind() {
        NotFound => NOENT,
        PermissionDenied => ACCES,
        AlreadyExists => EXIST,
        InvalidInput => INVAL,
        NotADirectory => NOTDIR,
        IsADirectory => ISDIR,
        ReadOnlyFilesystem => ROFS,
        InvalidFilename => NAMETOOLONG,
        _ => IO,
    }
}

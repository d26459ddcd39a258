//! WASI preview1 error numbers used by this layer.

/// A WASI `errno` value.
pub type Errno = u16;

pub const SUCCESS: Errno = 0;
pub const ACCES: Errno = 2;
pub const BADF: Errno = 8;
pub const EXIST: Errno = 20;
pub const INVAL: Errno = 28;
pub const IO: Errno = 29;
pub const ISDIR: Errno = 31;
pub const MFILE: Errno = 33;
pub const NAMETOOLONG: Errno = 37;
pub const NOENT: Errno = 44;
pub const NOSYS: Errno = 52;
pub const NOTDIR: Errno = 54;
pub const NOTSOCK: Errno = 57;
pub const NOTSUP: Errno = 58;
pub const ROFS: Errno = 69;
pub const SPIPE: Errno = 70;
pub const NOTCAPABLE: Errno = 76;

/// The errno for a host I/O error.
pub fn from_io(error: &std::io::Error) -> Errno {
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

//! preview1 rights bits, as reported by `fd_fdstat_get` and checked by `path_open`.

const FD_DATASYNC: u64 = 1 << 0;
const FD_READ: u64 = 1 << 1;
const FD_SEEK: u64 = 1 << 2;
const FD_TELL: u64 = 1 << 5;
const FD_WRITE: u64 = 1 << 6;
const FD_ADVISE: u64 = 1 << 7;
const FD_ALLOCATE: u64 = 1 << 8;
const PATH_OPEN: u64 = 1 << 13;
const FD_READDIR: u64 = 1 << 14;
const PATH_FILESTAT_GET: u64 = 1 << 18;
const FD_FILESTAT_GET: u64 = 1 << 21;
const FD_FILESTAT_SET_SIZE: u64 = 1 << 22;
const POLL_FD_READWRITE: u64 = 1 << 27;

/// Rights of stdin.
pub(super) const STDIN: u64 = FD_READ | POLL_FD_READWRITE;
/// Rights of stdout and stderr.
pub(super) const STDOUT: u64 = FD_WRITE | POLL_FD_READWRITE;
/// Rights of a read-only file.
pub(super) const FILE: u64 =
    FD_READ | FD_SEEK | FD_TELL | FD_ADVISE | FD_FILESTAT_GET | POLL_FD_READWRITE;
/// Rights of a directory in the read-only preopen.
pub(super) const DIR: u64 = PATH_OPEN | FD_READDIR | PATH_FILESTAT_GET | FD_FILESTAT_GET;
/// Rights that only a writer asks for (libc leaves them out of read-only opens): `path_open`
/// asking for any of them is refused.
pub(super) const WRITING: u64 = FD_DATASYNC | FD_WRITE | FD_ALLOCATE | FD_FILESTAT_SET_SIZE;

//! Reading files the host does not trust: manifests, modules, and files a plugin opens through
//! its read-only preopen. Only regular files are read (a FIFO or `/dev/zero` would block or
//! never end), each is opened exactly once and then checked through its handle, reads are
//! size-bounded, and confinement to a directory is verified on the opened handle, so there is
//! no check-then-open race.

use std::fmt;
use std::fs::{File, FileType, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// `O_NONBLOCK`, so that opening a FIFO returns at once instead of waiting for a writer.
/// Hard-coded per OS because the crate does not depend on `libc`; values from the OS headers.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    not(any(
        target_arch = "mips",
        target_arch = "mips32r6",
        target_arch = "mips64",
        target_arch = "mips64r6",
        target_arch = "sparc",
        target_arch = "sparc64"
    ))
))]
const O_NONBLOCK: i32 = 0o4000; // asm-generic/fcntl.h
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(
        target_arch = "mips",
        target_arch = "mips32r6",
        target_arch = "mips64",
        target_arch = "mips64r6"
    )
))]
const O_NONBLOCK: i32 = 0o200; // arch/mips/include/uapi/asm/fcntl.h
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    any(target_arch = "sparc", target_arch = "sparc64")
))]
const O_NONBLOCK: i32 = 0x4000; // arch/sparc/include/uapi/asm/fcntl.h
#[cfg(any(
    target_vendor = "apple",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly"
))]
const O_NONBLOCK: i32 = 0x0004; // sys/fcntl.h, shared by the BSDs and Darwin
#[cfg(any(target_os = "illumos", target_os = "solaris"))]
const O_NONBLOCK: i32 = 0x80; // sys/fcntl.h
/// Unknown here: opening does not set `O_NONBLOCK`, and [`open_nonblocking`] refuses
/// non-regular files by path first instead (which leaves a narrow race on these systems).
#[cfg(all(
    unix,
    not(any(
        target_os = "linux",
        target_os = "android",
        target_vendor = "apple",
        target_os = "freebsd",
        target_os = "netbsd",
        target_os = "openbsd",
        target_os = "dragonfly",
        target_os = "illumos",
        target_os = "solaris"
    ))
))]
const O_NONBLOCK: i32 = 0;

/// What a file is, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Directory,
    Fifo,
    CharDevice,
    BlockDevice,
    Socket,
    /// Anything else the OS reports.
    Other,
}

impl Kind {
    /// `None` for a regular file.
    fn of(file_type: FileType) -> Option<Kind> {
        if file_type.is_file() {
            return None;
        }
        if file_type.is_dir() {
            return Some(Kind::Directory);
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            if file_type.is_fifo() {
                return Some(Kind::Fifo);
            }
            if file_type.is_char_device() {
                return Some(Kind::CharDevice);
            }
            if file_type.is_block_device() {
                return Some(Kind::BlockDevice);
            }
            if file_type.is_socket() {
                return Some(Kind::Socket);
            }
        }
        Some(Kind::Other)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Directory => "is a directory",
            Kind::Fifo => "is a FIFO (named pipe)",
            Kind::CharDevice => "is a character device",
            Kind::BlockDevice => "is a block device",
            Kind::Socket => "is a socket",
            Kind::Other => "is not a regular file",
        })
    }
}

fn refusal(kind: Kind) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, kind.to_string())
}

/// Opens `path` read-only without blocking; the caller checks the handle. What is plainly
/// neither a file nor a directory is refused with its kind before it is opened.
fn open_nonblocking(path: &Path) -> Result<File, ConfineError> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        // Opening some devices has side effects, so they are not opened at all. The check on
        // the handle afterwards is the one that counts (the path may change in between);
        // without a known `O_NONBLOCK` this one is all there is.
        if let Some(kind) = Kind::of(std::fs::metadata(path)?.file_type()) {
            if kind != Kind::Directory {
                return Err(ConfineError::NotRegular(kind));
            }
        }
        options.custom_flags(O_NONBLOCK);
    }
    Ok(options.open(path)?)
}

/// Opens `path` (following symlinks) read-only, refusing anything but a regular file.
///
/// The open cannot block (a FIFO is opened non-blocking) and the type is checked on the
/// opened handle, so the file read is the file checked. A refusal is an
/// [`io::ErrorKind::InvalidInput`] error saying what the path is, e.g. "is a FIFO (named pipe)".
pub(crate) fn open_regular(path: &Path) -> io::Result<File> {
    let file = open_nonblocking(path).map_err(|error| match error {
        ConfineError::Io(error) => error,
        ConfineError::NotRegular(kind) => refusal(kind),
        other => io::Error::other(other.to_string()),
    })?;
    match Kind::of(file.metadata()?.file_type()) {
        None => Ok(file),
        Some(kind) => Err(refusal(kind)),
    }
}

/// Why [`read_regular`] failed.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// Opening or reading failed, or the path is not a regular file.
    Io(io::Error),
    /// The file has more than `limit` bytes.
    TooLarge { limit: u64 },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "cannot read: {e}"),
            ReadError::TooLarge { limit } => write!(f, "is larger than {limit} bytes"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            ReadError::TooLarge { .. } => None,
        }
    }
}

/// Reads the regular file at `path` ([`open_regular`]), refusing it if it has more than
/// `limit` bytes.
pub(crate) fn read_regular(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bounded(open_regular(path).map_err(ReadError::Io)?, limit)
}

/// Reads an open file to its end, refusing it if it has more than `limit` bytes. At most
/// `limit + 1` bytes are ever read, whatever the file claims its size is.
pub(crate) fn read_bounded(file: File, limit: u64) -> Result<Vec<u8>, ReadError> {
    let size = file.metadata().map_err(ReadError::Io)?.len();
    let mut bytes = Vec::with_capacity(usize::try_from(size.min(limit)).unwrap_or(0));
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Reads the file at `path` for scanning: a regular file only (a FIFO, a device or a
/// directory is refused at once, without blocking, with an error saying what it is), opened
/// once, and at most `limit` bytes (a larger file is an [`io::ErrorKind::FileTooLarge`]
/// error). A host passes the largest memory cap of its plugins: a larger file fits none.
///
/// ```
/// let data = plugbox::read_input("examples/samples/marked.txt".as_ref(), 1 << 20)?;
/// assert!(!data.is_empty());
/// let error = plugbox::read_input("examples".as_ref(), 1 << 20).unwrap_err();
/// assert!(error.to_string().contains("is a directory"));
/// # Ok::<(), std::io::Error>(())
/// ```
pub fn read_input(path: &Path, limit: u64) -> io::Result<Vec<u8>> {
    read_regular(path, limit).map_err(|error| match error {
        ReadError::Io(error) => error,
        too_large @ ReadError::TooLarge { .. } => {
            io::Error::new(io::ErrorKind::FileTooLarge, too_large.to_string())
        }
    })
}

/// What [`open_confined`] may open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// A regular file only.
    File,
    /// A regular file or a directory.
    FileOrDir,
}

/// A handle opened by [`open_confined`].
#[derive(Debug)]
pub(crate) struct Confined {
    /// The open file or directory.
    pub(crate) file: File,
    /// Its canonical host path, inside the root.
    pub(crate) real: PathBuf,
    /// Whether it is a directory (only with [`Want::FileOrDir`]).
    pub(crate) is_dir: bool,
}

/// Why [`open_confined`] refused or failed.
#[derive(Debug)]
pub(crate) enum ConfineError {
    /// The path resolves (through `..` or symlinks) to `real`, outside the root.
    Outside { real: PathBuf },
    /// The path leads to something that may not be opened: a directory where a file is
    /// wanted, or a FIFO, device, socket.
    NotRegular(Kind),
    /// What was opened is not what the path named when it was checked: the tree changed
    /// while being opened.
    Moved,
    /// Resolving or opening failed (not found, permission denied, ...).
    Io(io::Error),
}

impl fmt::Display for ConfineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfineError::Outside { real } => {
                write!(f, "resolves to {}, outside the directory", real.display())
            }
            ConfineError::NotRegular(kind) => kind.fmt(f),
            ConfineError::Moved => f.write_str("changed while being opened"),
            ConfineError::Io(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ConfineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ConfineError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for ConfineError {
    fn from(error: io::Error) -> Self {
        ConfineError::Io(error)
    }
}

/// Opens `path` (a host path, possibly through symlinks) only if it leads to a regular file,
/// or a directory when `want` allows, inside `root` (a canonical directory).
///
/// The path is resolved and checked against `root`, opened once without blocking, and then
/// the opened handle itself is checked: its type, and that it is still the object at the
/// checked path. A swap of a path component between the check and the open is
/// [`ConfineError::Moved`].
pub(crate) fn open_confined(
    root: &Path,
    path: &Path,
    want: Want,
) -> Result<Confined, ConfineError> {
    let real = path.canonicalize()?;
    if !real.starts_with(root) {
        return Err(ConfineError::Outside { real });
    }
    let file = open_nonblocking(&real)?;
    let is_dir = match Kind::of(file.metadata()?.file_type()) {
        None => false,
        Some(Kind::Directory) if want == Want::FileOrDir => true,
        Some(kind) => return Err(ConfineError::NotRegular(kind)),
    };
    verify(&real, &file)?;
    Ok(Confined { file, real, is_dir })
}

/// Checks that `file` is the object at the canonical path `real`.
fn verify(real: &Path, file: &File) -> Result<(), ConfineError> {
    // The kernel's own name for the handle is exact; without /proc, fall back to the path.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::fd::AsRawFd;
        if let Ok(name) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            return if name == real {
                Ok(())
            } else {
                Err(ConfineError::Moved)
            };
        }
    }
    verify_by_path(real, file)
}

/// The portable check: `real` still has no symlinks and names the same (device, inode) as
/// `file`. A racer that swaps a component and swaps it back between these lookups can still
/// pass it; [`verify`] prefers /proc where it exists.
fn verify_by_path(real: &Path, file: &File) -> Result<(), ConfineError> {
    if real.canonicalize()? != real {
        return Err(ConfineError::Moved);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let (at_path, opened) = (std::fs::metadata(real)?, file.metadata()?);
        if (at_path.dev(), at_path.ino()) != (opened.dev(), opened.ino()) {
            return Err(ConfineError::Moved);
        }
    }
    #[cfg(not(unix))]
    let _ = file;
    Ok(())
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Makes a FIFO at `path`, or says why not and returns false.
    fn mkfifo(path: &Path) -> bool {
        match std::process::Command::new("mkfifo").arg(path).status() {
            Ok(status) if status.success() => true,
            outcome => {
                eprintln!("skipped: cannot run mkfifo ({outcome:?})");
                false
            }
        }
    }

    /// Runs `f` on a thread and fails the test if it has not returned within seconds.
    fn promptly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (send, receive) = mpsc::channel();
        std::thread::spawn(move || send.send(f()));
        receive
            .recv_timeout(Duration::from_secs(10))
            .expect("blocked instead of returning")
    }

    fn refusal_of(result: io::Result<File>) -> String {
        let error = result.expect_err("must be refused");
        assert_eq!(error.kind(), io::ErrorKind::InvalidInput);
        error.to_string()
    }

    #[test]
    fn open_regular_refuses_a_fifo_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("plugin.json");
        if !mkfifo(&fifo) {
            return;
        }
        let message = promptly(move || refusal_of(open_regular(&fifo)));
        assert_eq!(message, "is a FIFO (named pipe)");
    }

    #[test]
    fn open_regular_refuses_devices_and_links_to_them() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        for path in [Path::new("/dev/zero"), &link] {
            assert_eq!(refusal_of(open_regular(path)), "is a character device");
        }
        let error = read_regular(&link, 1 << 20).unwrap_err();
        assert_eq!(error.to_string(), "cannot read: is a character device");
    }

    #[test]
    fn open_regular_refuses_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(refusal_of(open_regular(dir.path())), "is a directory");
    }

    #[test]
    fn read_regular_reads_small_files_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plugin.json");
        std::fs::write(&path, b"{\"name\": \"x\"}").unwrap();
        assert_eq!(read_regular(&path, 1024).unwrap(), b"{\"name\": \"x\"}");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(read_regular(&path, 0).unwrap(), b"");
        assert!(matches!(
            read_regular(&dir.path().join("missing"), 10),
            Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
    }

    #[test]
    fn read_regular_enforces_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("module.wasm");
        std::fs::write(&path, [7u8; 101]).unwrap();
        let error = read_regular(&path, 100).unwrap_err();
        assert!(matches!(error, ReadError::TooLarge { limit: 100 }));
        assert_eq!(error.to_string(), "is larger than 100 bytes");
        assert_eq!(read_regular(&path, 101).unwrap(), [7u8; 101]);
    }

    /// root/{file, sub/, fifo?, in-link -> file, out-link -> ../secret}, and the canonical root.
    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("file"), "f").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(root.join("file"), root.join("in-link")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out-link")).unwrap();
        let root = root.canonicalize().unwrap();
        (dir, root)
    }

    #[test]
    fn open_confined_accepts_files_and_directories_inside() {
        let (dir, root) = tree();
        // Through the non-canonical temp path and a symlink: the canonical path comes back.
        let opened = open_confined(&root, &dir.path().join("root/in-link"), Want::File).unwrap();
        assert_eq!(opened.real, root.join("file"));
        assert!(!opened.is_dir);
        let mut text = String::new();
        (&opened.file).read_to_string(&mut text).unwrap();
        assert_eq!(text, "f");

        let opened = open_confined(&root, &root.join("sub/."), Want::FileOrDir).unwrap();
        assert_eq!(opened.real, root.join("sub"));
        assert!(opened.is_dir);
        assert!(open_confined(&root, &root, Want::FileOrDir).unwrap().is_dir);
    }

    #[test]
    fn open_confined_refuses_escapes_and_what_is_not_wanted() {
        let (dir, root) = tree();
        for escape in [root.join("out-link"), root.join("../secret")] {
            let error = open_confined(&root, &escape, Want::FileOrDir).unwrap_err();
            assert!(
                matches!(&error, ConfineError::Outside { real } if *real == dir.path().canonicalize().unwrap().join("secret")),
                "{error}"
            );
        }
        assert!(matches!(
            open_confined(&root, &root.join("sub"), Want::File),
            Err(ConfineError::NotRegular(Kind::Directory))
        ));
        assert!(matches!(
            open_confined(&root, &root.join("missing"), Want::File),
            Err(ConfineError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
        let fifo = root.join("fifo");
        if mkfifo(&fifo) {
            let result = promptly(move || open_confined(&root, &fifo, Want::FileOrDir));
            let error = result.unwrap_err();
            assert!(matches!(error, ConfineError::NotRegular(Kind::Fifo)));
            assert_eq!(error.to_string(), "is a FIFO (named pipe)");
        }
    }

    #[test]
    fn verification_catches_a_file_swapped_after_opening() {
        let (_dir, root) = tree();
        let real = root.join("file");
        let file = open_regular(&real).unwrap();
        verify(&real, &file).unwrap();
        verify_by_path(&real, &file).unwrap();
        // Another file takes the checked path; the handle is the old one.
        std::fs::write(root.join("other"), "o").unwrap();
        std::fs::rename(root.join("other"), &real).unwrap();
        assert!(matches!(verify(&real, &file), Err(ConfineError::Moved)));
        assert!(matches!(
            verify_by_path(&real, &file),
            Err(ConfineError::Moved)
        ));
    }

    #[test]
    fn verification_catches_a_directory_moved_after_opening() {
        let (_dir, root) = tree();
        let real = root.join("sub");
        let dir = File::open(&real).unwrap();
        std::fs::rename(&real, root.join("moved")).unwrap();
        assert!(matches!(verify(&real, &dir), Err(ConfineError::Moved)));
        assert!(matches!(
            verify_by_path(&real, &dir),
            Err(ConfineError::Io(e)) if e.kind() == io::ErrorKind::NotFound
        ));
    }
}

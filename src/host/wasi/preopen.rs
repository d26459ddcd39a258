//! Read-only preopens: for detection plugins (`permissions.filesystem: true`) the plugin's own
//! directory, seen by the guest as [`GUEST_ROOT`]; for command plugins each directory the host
//! gives, at the guest path it names ([`Preopen`]). Every guest path is resolved here, inside
//! the one preopen its directory descriptor belongs to, and nothing that resolves outside that
//! directory is ever opened: absolute paths, `..` above the root and symlinks leading out (into
//! another preopen included) all fail with `NOTCAPABLE`. Only regular files and directories are
//! opened.

use std::path::{Component, Path, PathBuf};

use super::errno::{self, Errno};
use crate::files::{self, ConfineError, Confined, Kind, Want};

/// The guest path of the preopened plugin directory.
pub(crate) const GUEST_ROOT: &str = "/plugin";
/// Longest guest path accepted, in a call or as a preopen's name.
const MAX_PATH_BYTES: usize = 4096;

/// One read-only preopened directory: where it is on the host, and the name the guest sees
/// (`fd_prestat_dir_name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Preopen {
    /// Canonical host path of a directory.
    pub(crate) host: PathBuf,
    /// The guest path: not empty, at most [`MAX_PATH_BYTES`], no NUL.
    pub(crate) guest: String,
}

impl Preopen {
    /// A detection plugin's own directory (`canonical`, already canonicalised) at
    /// [`GUEST_ROOT`].
    pub(crate) fn plugin_dir(canonical: PathBuf) -> Self {
        Self {
            host: canonical,
            guest: GUEST_ROOT.to_owned(),
        }
    }

    /// `dir` canonicalised and checked to be a directory, seen by the guest at `guest`; or why
    /// not, for a message that names both.
    pub(crate) fn new(dir: &Path, guest: &str) -> Result<Self, String> {
        if guest.is_empty() {
            return Err("the guest path is empty".into());
        }
        if guest.len() > MAX_PATH_BYTES {
            return Err(format!(
                "the guest path is {} bytes long; at most {MAX_PATH_BYTES} are accepted",
                guest.len()
            ));
        }
        if guest.contains('\0') {
            return Err("the guest path contains a NUL byte".into());
        }
        let host = dir
            .canonicalize()
            .map_err(|error| format!("cannot open the directory: {error}"))?;
        let meta = std::fs::metadata(&host)
            .map_err(|error| format!("cannot open the directory: {error}"))?;
        if !meta.is_dir() {
            return Err("not a directory".into());
        }
        Ok(Self {
            host,
            guest: guest.to_owned(),
        })
    }
}

/// Resolves `guest_path` relative to `base` (a directory inside `root`, both canonical host
/// paths) and returns the canonical host path, which is inside `root`.
///
/// It opens nothing, so it is only for metadata lookups (`path_filestat_get`); anything to be
/// read is opened with [`open`], which checks the opened handle instead of a path.
pub(super) fn resolve(root: &Path, base: &Path, guest_path: &[u8]) -> Result<PathBuf, Errno> {
    // Symlinks are followed by the host, then the result must still be inside the root.
    let real = join(root, base, guest_path)?
        .canonicalize()
        .map_err(|e| errno::from_io(&e))?;
    if !real.starts_with(root) {
        return Err(errno::NOTCAPABLE);
    }
    Ok(real)
}

/// Opens `guest_path` relative to `base` (as in [`resolve`]): a regular file, or a directory
/// when `want` allows, that is inside `root`, opened once and checked on the handle.
pub(super) fn open(
    root: &Path,
    base: &Path,
    guest_path: &[u8],
    want: Want,
) -> Result<Confined, Errno> {
    let joined = join(root, base, guest_path)?;
    files::open_confined(root, &joined, want).map_err(|error| match error {
        ConfineError::Outside { .. } | ConfineError::Moved => errno::NOTCAPABLE,
        ConfineError::NotRegular(Kind::Directory) => errno::ISDIR,
        // The object exists and the guest may not open it: host policy, like a file mode
        // denying access. (NOTSUP would suggest retrying another way; NOTCAPABLE means escapes.)
        ConfineError::NotRegular(_) => errno::ACCES,
        ConfineError::Io(e) => errno::from_io(&e),
    })
}

/// The lexical checks shared by [`resolve`] and [`open`]: `guest_path` joined onto `base`,
/// with `..` resolved and never above `root`. Symlinks are not followed yet.
fn join(root: &Path, base: &Path, guest_path: &[u8]) -> Result<PathBuf, Errno> {
    if guest_path.len() > MAX_PATH_BYTES {
        return Err(errno::NAMETOOLONG);
    }
    let text = std::str::from_utf8(guest_path).map_err(|_| errno::INVAL)?;
    if text.contains('\0') {
        return Err(errno::INVAL);
    }
    let mut joined = base.to_path_buf();
    for component in Path::new(text).components() {
        match component {
            Component::Normal(part) => joined.push(part),
            Component::CurDir => {}
            // `..` is resolved lexically and may not climb above the root.
            Component::ParentDir => {
                if joined == root || !joined.pop() {
                    return Err(errno::NOTCAPABLE);
                }
            }
            Component::RootDir | Component::Prefix(_) => return Err(errno::NOTCAPABLE),
        }
    }
    Ok(joined)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Paths that lead out of the `tree()` root.
    const ESCAPES: [&[u8]; 6] = [
        b"../secret",
        b"sub/../../secret",
        b"/etc/passwd",
        b"out-link",
        b"sub/root-link/etc/passwd",
        b"sub/root-link",
    ];

    fn tree() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("plugin");
        std::fs::create_dir_all(root.join("sub")).unwrap();
        std::fs::write(root.join("sigs.txt"), "x").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out-link")).unwrap();
        std::os::unix::fs::symlink(root.join("sigs.txt"), root.join("in-link")).unwrap();
        std::os::unix::fs::symlink("/", root.join("sub/root-link")).unwrap();
        let root = root.canonicalize().unwrap();
        (dir, root)
    }

    #[test]
    fn preopens_are_checked_directories_with_usable_guest_paths() {
        let (dir, root) = tree();
        let preopen = Preopen::new(&dir.path().join("plugin/sub/.."), "/data").unwrap();
        assert_eq!(preopen.host, root);
        assert_eq!(preopen.guest, "/data");
        let refused = |host: &Path, guest: &str| Preopen::new(host, guest).unwrap_err();
        assert!(refused(&root.join("sigs.txt"), "/a").contains("not a directory"));
        assert!(refused(&root.join("missing"), "/a").contains("cannot open the directory"));
        assert!(refused(&root, "").contains("empty"));
        assert!(refused(&root, "a\0b").contains("NUL"));
        assert!(refused(&root, &"a".repeat(MAX_PATH_BYTES + 1)).contains("at most 4096"));
        assert_eq!(Preopen::plugin_dir(root.clone()).guest, GUEST_ROOT);
    }

    #[test]
    fn resolution_stays_in_the_preopen_it_starts_from() {
        // Two preopens side by side: a path from one may not reach into the other, even
        // through a symlink, while each resolves its own files.
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b"] {
            std::fs::create_dir(dir.path().join(name)).unwrap();
            std::fs::write(dir.path().join(name).join("f.txt"), name).unwrap();
        }
        std::os::unix::fs::symlink(dir.path().join("b/f.txt"), dir.path().join("a/to-b")).unwrap();
        let a = dir.path().join("a").canonicalize().unwrap();
        let b = dir.path().join("b").canonicalize().unwrap();
        assert_eq!(resolve(&a, &a, b"f.txt").unwrap(), a.join("f.txt"));
        assert_eq!(resolve(&b, &b, b"f.txt").unwrap(), b.join("f.txt"));
        for escape in [&b"../b/f.txt"[..], b"to-b", b"/b/f.txt"] {
            assert_eq!(resolve(&a, &a, escape), Err(errno::NOTCAPABLE));
            assert_eq!(
                open(&a, &a, escape, Want::File).unwrap_err(),
                errno::NOTCAPABLE
            );
        }
    }

    #[test]
    fn resolves_inside_paths() {
        let (_dir, root) = tree();
        assert_eq!(
            resolve(&root, &root, b"sigs.txt").unwrap(),
            root.join("sigs.txt")
        );
        assert_eq!(
            resolve(&root, &root, b"./sub/../sigs.txt").unwrap(),
            root.join("sigs.txt")
        );
        assert_eq!(
            resolve(&root, &root, b"in-link").unwrap(),
            root.join("sigs.txt")
        );
        assert_eq!(resolve(&root, &root, b"").unwrap(), root);
        assert_eq!(
            resolve(&root, &root.join("sub"), b"../sigs.txt").unwrap(),
            root.join("sigs.txt")
        );
    }

    #[test]
    fn refuses_every_escape() {
        let (_dir, root) = tree();
        for escape in ESCAPES {
            assert_eq!(
                resolve(&root, &root, escape),
                Err(errno::NOTCAPABLE),
                "{}",
                String::from_utf8_lossy(escape)
            );
        }
        assert_eq!(resolve(&root, &root, b"missing"), Err(errno::NOENT));
        assert_eq!(resolve(&root, &root, b"a\0b"), Err(errno::INVAL));
        assert_eq!(
            resolve(&root, &root, &[b'a'; 5000]),
            Err(errno::NAMETOOLONG)
        );
    }

    #[test]
    fn opens_inside_files_and_directories() {
        let (_dir, root) = tree();
        let opened = open(&root, &root, b"in-link", Want::File).unwrap();
        assert_eq!((opened.real, opened.is_dir), (root.join("sigs.txt"), false));
        let opened = open(&root, &root.join("sub"), b"../sigs.txt", Want::File).unwrap();
        assert_eq!(opened.real, root.join("sigs.txt"));
        let opened = open(&root, &root, b"sub", Want::FileOrDir).unwrap();
        assert_eq!((opened.real, opened.is_dir), (root.join("sub"), true));
        assert!(open(&root, &root, b"", Want::FileOrDir).unwrap().is_dir);
        assert_eq!(
            open(&root, &root, b"sub", Want::File).unwrap_err(),
            errno::ISDIR
        );
    }

    #[test]
    fn open_refuses_escapes_and_special_files() {
        let (_dir, root) = tree();
        for escape in ESCAPES {
            assert_eq!(
                open(&root, &root, escape, Want::FileOrDir).unwrap_err(),
                errno::NOTCAPABLE,
                "{}",
                String::from_utf8_lossy(escape)
            );
        }
        let open_err = |path: &[u8]| open(&root, &root, path, Want::File).unwrap_err();
        assert_eq!(open_err(b"missing"), errno::NOENT);
        assert_eq!(open_err(b"a\0b"), errno::INVAL);
        assert_eq!(open_err(&[b'a'; 5000]), errno::NAMETOOLONG);

        let fifo = root.join("fifo");
        match std::process::Command::new("mkfifo").arg(&fifo).status() {
            Ok(status) if status.success() => {
                // Nothing writes to the FIFO: a blocking open would never return.
                let (send, receive) = std::sync::mpsc::channel();
                std::thread::spawn(move || send.send(open(&root, &root, b"fifo", Want::File)));
                let result = receive.recv_timeout(std::time::Duration::from_secs(10));
                assert_eq!(result.expect("open blocked").unwrap_err(), errno::ACCES);
            }
            outcome => eprintln!("FIFO case skipped: cannot run mkfifo ({outcome:?})"),
        }
    }
}

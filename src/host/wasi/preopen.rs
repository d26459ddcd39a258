//! The read-only preopen (`permissions.filesystem: true`): the plugin's own directory, seen by
//! the guest as [`GUEST_ROOT`]. Every guest path is resolved here, and nothing that resolves
//! outside the directory is ever opened: absolute paths, `..` above the root and symlinks
//! leading out all fail with `NOTCAPABLE`. Only regular files and directories are opened.

use std::path::{Component, Path, PathBuf};

use super::errno::{self, Errno};
use crate::files::{self, ConfineError, Confined, Kind, Want};

/// The guest path of the preopened plugin directory.
pub(crate) const GUEST_ROOT: &str = "/plugin";
/// Longest guest path accepted.
const MAX_PATH_BYTES: usize = 4096;

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

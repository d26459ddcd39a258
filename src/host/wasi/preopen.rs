//! The read-only preopen (`permissions.filesystem: true`): the plugin's own directory, seen by
//! the guest as [`GUEST_ROOT`]. Every guest path is resolved here, and nothing that resolves
//! outside the directory is ever opened: absolute paths, `..` above the root and symlinks
//! leading out all fail with `NOTCAPABLE`.

use std::path::{Component, Path, PathBuf};

use super::errno::{self, Errno};

/// The guest path of the preopened plugin directory.
pub const GUEST_ROOT: &str = "/plugin";
/// Longest guest path accepted.
const MAX_PATH_BYTES: usize = 4096;

/// Resolves `guest_path` relative to `base` (a directory inside `root`, both canonical host
/// paths) and returns the canonical host path, which is inside `root`.
pub fn resolve(root: &Path, base: &Path, guest_path: &[u8]) -> Result<PathBuf, Errno> {
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
    // Symlinks are followed by the host, then the result must still be inside the root.
    let real = joined.canonicalize().map_err(|e| errno::from_io(&e))?;
    if !real.starts_with(root) {
        return Err(errno::NOTCAPABLE);
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        for escape in [
            &b"../secret"[..],
            b"sub/../../secret",
            b"/etc/passwd",
            b"out-link",
            b"sub/root-link/etc/passwd",
            b"sub/root-link",
        ] {
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
}

//! Files only Portcullis may read: the data directory, the embedded
//! database and the key-encryption key. Created owner-only; an existing one
//! that others can read is refused with the command that fixes it, since
//! whoever reads the database and the KEK can sign tokens.

use std::io::Write;
use std::path::Path;

use portcullis_core::kek::Kek;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PrivateFileError(pub String);

fn io(path: &Path, e: std::io::Error) -> PrivateFileError {
    PrivateFileError(format!("{}: {e}", path.display()))
}

/// Refuses `path` when its group or others may read or write it.
#[cfg(unix)]
pub fn check(path: &Path, fix: &str) -> Result<(), PrivateFileError> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .map_err(|e| io(path, e))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(PrivateFileError(format!(
            "refusing to start: {} is readable by other users (mode {:o}); it holds signing keys and secrets. Fix it with: chmod {fix} {}",
            path.display(),
            mode & 0o777,
            path.display()
        )));
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn check(_: &Path, _: &str) -> Result<(), PrivateFileError> {
    Ok(())
}

/// Creates the data directory owner-only, or checks an existing one.
pub fn private_dir(path: &Path) -> Result<(), PrivateFileError> {
    if !path.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(path).map_err(|e| io(path, e))?;
    }
    check(path, "700")
}

/// Makes the SQLite database and its journal files owner-only: SQLite
/// creates them under the process umask.
pub fn tighten(paths: &[&Path]) -> Result<(), PrivateFileError> {
    for p in paths.iter().filter(|p| p.exists()) {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| io(p, e))?;
        }
    }
    Ok(())
}

/// Writes a new KEK to `path`, which must not exist, owner-only.
pub fn create_kek(path: &Path) -> Result<Kek, PrivateFileError> {
    let kek = Kek::generate();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| io(path, e))?;
    f.write_all(kek.encode().as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| io(path, e))?;
    Ok(kek)
}

/// Reads the KEK at `path`, checking it is private.
pub fn read_kek(path: &Path) -> Result<Kek, PrivateFileError> {
    check(path, "600")?;
    let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
    Kek::decode(&text).map_err(|e| PrivateFileError(format!("{}: {e}", path.display())))
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn private_files_are_created_owner_only_and_others_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        private_dir(&data).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o700);
        let kek_path = data.join("kek");
        let kek = create_kek(&kek_path).unwrap();
        assert_eq!(mode(&kek_path), 0o600);
        let sealed = kek.seal("k", b"x");
        assert_eq!(
            read_kek(&kek_path).unwrap().open("k", &sealed).unwrap(),
            b"x"
        );
        assert!(create_kek(&kek_path).is_err(), "never overwritten");

        std::fs::set_permissions(&kek_path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = read_kek(&kek_path).unwrap_err().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
        let e = private_dir(&data).unwrap_err().to_string();
        assert!(e.contains("chmod 700"), "{e}");
    }
}

//! The data folder is its owner's only (deployment.md, section 4): folders
//! 0700, files 0600. The database and its `-wal` and `-shm` hold password
//! and session hashes and PAN HMACs, the outbox one-use reset links.
//!
//! Three layers, because no single one covers every file: the process's
//! umask (whatever SQLite, the mailer or a later version creates), the
//! database file created 0600 before SQLite opens it (SQLite gives `-wal`
//! and `-shm` the database's mode, whatever the umask), and a pass over a
//! folder an older version left readable by others.

use std::fs;
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// Files and folders created by this process from now on are readable by
/// their owner only.
pub fn private_umask() {
    rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
}

/// Creates `database` empty with mode 0600 if it does not exist yet, so
/// that SQLite (which copies its mode to `-wal` and `-shm`) never makes it
/// 0644.
pub fn create_private_file(database: &Path) -> io::Result<()> {
    match fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(database)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Takes group and other permissions off every folder and file under
/// `dir` (and `dir` itself), except `skip` (the PAN hash key, which is
/// refused rather than quietly fixed: a key others could read may have
/// leaked); the paths it changed. Symbolic links are neither followed nor
/// changed.
pub fn tighten(dir: &Path, skip: &Path) -> io::Result<Vec<PathBuf>> {
    let mut changed = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        restrict(&folder, &mut changed)?;
        for entry in fs::read_dir(&folder)? {
            let entry = entry?;
            let path = entry.path();
            let kind = entry.file_type()?;
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file() && path != skip {
                restrict(&path, &mut changed)?;
            }
        }
    }
    Ok(changed)
}

/// Clears the group and other bits of `path`, noting it in `changed` when
/// there were any.
fn restrict(path: &Path, changed: &mut Vec<PathBuf>) -> io::Result<()> {
    let mode = fs::symlink_metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(mode & 0o700))?;
        changed.push(path.to_path_buf());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn an_old_readable_folder_is_tightened_but_the_key_is_left_to_be_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = dir.path().join("outbox");
        fs::create_dir(&outbox).unwrap();
        fs::set_permissions(&outbox, fs::Permissions::from_mode(0o755)).unwrap();
        for file in ["mpos.db", "mpos.db-wal", "outbox/a.eml", "pan-hash.key"] {
            let path = dir.path().join(file);
            fs::write(&path, "x").unwrap();
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        }
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let key = dir.path().join("pan-hash.key");
        let mut changed = tighten(dir.path(), &key).unwrap();
        changed.sort();
        assert_eq!(changed.len(), 5, "{changed:?}");
        assert_eq!(mode(dir.path()), 0o700);
        assert_eq!(mode(&outbox), 0o700);
        assert_eq!(mode(&dir.path().join("mpos.db")), 0o600);
        assert_eq!(mode(&dir.path().join("outbox/a.eml")), 0o600);
        assert_eq!(
            mode(&key),
            0o644,
            "the key is refused by secrets, not fixed"
        );
        assert!(
            tighten(dir.path(), &key).unwrap().is_empty(),
            "nothing left"
        );
    }

    #[test]
    fn the_database_file_is_made_private_and_an_existing_one_kept() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("mpos.db");
        create_private_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        fs::write(&db, "kept").unwrap();
        create_private_file(&db).unwrap();
        assert_eq!(fs::read_to_string(&db).unwrap(), "kept");
    }
}

//! Atomic file replacement: every file the workspace writes goes through [`write_atomic`], so a
//! reader (or a crash) sees either the old or the new complete content, never a torn file
//! (spec §9.1.5 lists the truncate-then-write bug this replaces).

use std::fs::File;
use std::io::{self, Write};
use std::path::Path;

/// Replaces `path` with `bytes`: a temporary file in the same directory, write, fsync, rename
/// over `path`, fsync the directory. With `create_parent` the parent directory is created
/// (mode 0755) first. The new file gets mode 0644, as Go's writes did.
///
/// # Errors
/// Any io error from creating the directory, writing, syncing or renaming; the target is left
/// untouched in every error case (the temporary file is removed).
pub fn write_atomic(path: &Path, bytes: &[u8], create_parent: bool) -> io::Result<()> {
    write_atomic_with(path, create_parent, |w| w.write_all(bytes))
}

/// [`write_atomic`] with the content streamed by `fill` through a buffered writer on the
/// temporary file, so the caller need not build the whole file in memory first.
///
/// # Errors
/// As [`write_atomic`], plus any error `fill` returns.
pub fn write_atomic_with(
    path: &Path,
    create_parent: bool,
    fill: impl FnOnce(&mut io::BufWriter<&File>) -> io::Result<()>,
) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if create_parent {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)?;
    {
        let mut w = io::BufWriter::with_capacity(1 << 16, tmp.as_file());
        fill(&mut w)?;
        w.flush()?;
    }
    set_mode_0644(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

#[cfg(unix)]
fn set_mode_0644(f: &std::fs::File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o644))
}

#[cfg(not(unix))]
fn set_mode_0644(_: &std::fs::File) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> io::Result<()> {
    Ok(())
}

/// Prefix of the temporary files [`write_atomic`] creates.
pub const TEMP_PREFIX: &str = ".batch-tmp-";

/// Removes temporary files that a killed run left in `dir` (only names starting with
/// [`TEMP_PREFIX`]; a missing directory is fine). Call it only while holding the run lock, so
/// no other run is writing them. Returns the files removed.
///
/// # Errors
/// Reading the directory or removing a file failed.
pub fn remove_stale_temp_files(dir: &Path) -> io::Result<Vec<std::path::PathBuf>> {
    let entries = match std::fs::read_dir(if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    }) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX)
            && entry.file_type()?.is_file()
        {
            remove_if_exists(&entry.path())?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// Removes a file, treating "already gone" as success.
///
/// # Errors
/// Any other io error.
pub fn remove_if_exists(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streamed_content_has_every_byte() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        let bytes: Vec<u8> = (0..300_007).map(|i| (i % 251) as u8).collect();
        write_atomic_with(&path, false, |w| {
            // Odd-sized writes, larger and smaller than the buffer.
            bytes.chunks(70_001).try_for_each(|c| w.write_all(c))
        })
        .unwrap();
        assert!(std::fs::read(&path).unwrap() == bytes);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file left");
    }

    #[test]
    fn replaces_and_creates_parent() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b/file.json");
        write_atomic(&p, b"one", true).unwrap();
        write_atomic(&p, b"two", false).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        let leftovers: Vec<_> = std::fs::read_dir(p.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn stale_temp_files_are_removed_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".batch-tmp-abc"), "torn").unwrap();
        std::fs::write(dir.path().join("keep.jsonl"), "x").unwrap();
        std::fs::create_dir(dir.path().join(".batch-tmp-dir")).unwrap();
        let removed = remove_stale_temp_files(dir.path()).unwrap();
        assert_eq!(removed, [dir.path().join(".batch-tmp-abc")]);
        assert!(dir.path().join("keep.jsonl").exists());
        assert!(
            dir.path().join(".batch-tmp-dir").exists(),
            "directories are not ours"
        );
        assert!(
            remove_stale_temp_files(&dir.path().join("missing"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn missing_parent_without_create_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("nope/file.json");
        assert!(write_atomic(&p, b"x", false).is_err());
        assert!(!p.exists());
    }
}

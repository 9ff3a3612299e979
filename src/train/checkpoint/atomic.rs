//! Replacing a file atomically: write a temporary file in the same directory, flush it to
//! disk, rename it over the target, then flush the directory entry.

use std::ffi::OsString;
use std::format;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::CheckpointError;

/// Distinguishes the temporary files of concurrent saves within one process.
static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to `path` so that at every instant `path` is either its old content or the
/// complete new one, whatever crash happens in between. On `Err` the temporary file is
/// removed (a crash, which runs no code, can leave one behind: `.NAME.PID.N.tmp`).
pub(crate) fn write(path: &Path, bytes: &[u8]) -> Result<(), CheckpointError> {
    let file_name = path.file_name().ok_or_else(|| {
        CheckpointError::io(
            path,
            io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"),
        )
    })?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let (tmp, mut file) = create_temporary(&dir, file_name)?;
    let written = file.write_all(bytes).and_then(|()| file.sync_all());
    drop(file);
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(CheckpointError::io(tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, path) {
        let _ = fs::remove_file(&tmp);
        return Err(CheckpointError::io(path, e));
    }
    sync_dir(&dir)
}

/// Creates a new temporary file beside the target, never reusing an existing name.
fn create_temporary(
    dir: &Path,
    file_name: &std::ffi::OsStr,
) -> Result<(PathBuf, File), CheckpointError> {
    let mut attempt = 0;
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let mut name = OsString::from(".");
        name.push(file_name);
        name.push(format!(".{}.{n}.tmp", std::process::id()));
        let tmp = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            // A stale file from a crashed process with the same id: try the next name.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < 100 => attempt += 1,
            Err(e) => return Err(CheckpointError::io(tmp, e)),
        }
    }
}

/// Makes the rename durable: on Unix a directory's entries are flushed by syncing the
/// directory itself. Elsewhere the rename is as durable as the platform makes it.
fn sync_dir(dir: &Path) -> Result<(), CheckpointError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CheckpointError::io(dir, e))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

//! `cp`'s side on this machine's files: the sink that writes what comes out of the pod, and
//! the walk that reads what goes into it. Blocking code, run on a thread of its own.
//!
//! Writing is careful with what the stream names: every entry is checked against the tree the
//! stream announced ([`crate::plan::cp::Nesting`]), a file is written to a new temporary name
//! in its directory (`create_new`: never through an existing file or link) and renamed over
//! the final name once its checksum matched, and nothing is written through a symbolic link:
//! a link where a directory goes is an error.

use std::fs::{self, File};
use std::io::{BufWriter, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::CpError;
#[cfg(unix)]
use crate::plan::cp::MODE_BITS;
use crate::session::cp::{Feeder, Sink};

fn io_error(path: &Path, source: std::io::Error) -> CpError {
    CpError::Local {
        path: path.display().to_string(),
        source,
    }
}

/// A name of the stream (`a/b`) as a path below `root`.
#[cfg_attr(unix, allow(clippy::unnecessary_wraps))] // not every name is one elsewhere
fn below(root: &Path, name: &[u8]) -> Result<PathBuf, CpError> {
    if name.is_empty() {
        return Ok(root.to_path_buf());
    }
    #[cfg(unix)]
    let rel = {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(name))
    };
    #[cfg(not(unix))]
    let rel = PathBuf::from(
        String::from_utf8(name.to_vec()).map_err(|_| CpError::Archive {
            detail: format!(
                "{:?} is not UTF-8, which this system's file names need",
                String::from_utf8_lossy(name)
            ),
        })?,
    );
    Ok(root.join(rel))
}

/// Seconds since the epoch as a time.
pub(crate) fn time_of(mtime: i64) -> SystemTime {
    let secs = Duration::from_secs(mtime.unsigned_abs());
    if mtime >= 0 {
        SystemTime::UNIX_EPOCH + secs
    } else {
        SystemTime::UNIX_EPOCH - secs
    }
}

/// A time as seconds since the epoch.
pub(crate) fn seconds_of(t: SystemTime) -> i64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode & MODE_BITS))
}

#[cfg(not(unix))]
fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    // Only "read-only" exists: no write bit for the owner.
    let mut p = fs::metadata(path)?.permissions();
    p.set_readonly(mode & 0o200 == 0);
    fs::set_permissions(path, p)
}

#[cfg(unix)]
fn mode_of(meta: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & MODE_BITS
}

#[cfg(not(unix))]
fn mode_of(meta: &fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

/// A directory the sink is in: whether it made it (only those get the pod's mode and time).
struct Open {
    path: PathBuf,
    made: bool,
    mode: u32,
    mtime: i64,
}

/// A file written to its temporary name, waiting for its checksum.
struct Pending {
    tmp: PathBuf,
    path: PathBuf,
}

/// Writes the copy at `root`.
pub(crate) struct FileSink {
    root: PathBuf,
    run_id: String,
    open: Vec<Open>,
    pending: Option<Pending>,
}

impl FileSink {
    /// Where the copy of `remote` goes for LOCAL `local`: into it when it is a directory
    /// (under the remote's last name, or merged when the remote path ends in `/.`), else at it.
    /// The directory it goes in must be there: checked before anything is asked of the pod.
    pub(crate) fn new(
        local: &Path,
        remote_name: Option<&str>,
        run_id: &str,
    ) -> Result<FileSink, CpError> {
        let root = match (fs::metadata(local), remote_name) {
            (Ok(m), Some(name)) if m.is_dir() => local.join(name),
            _ => local.to_path_buf(),
        };
        if let Some(parent) = root.parent().filter(|p| !p.as_os_str().is_empty()) {
            match fs::metadata(parent) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    return Err(CpError::LocalNotDirectory {
                        path: parent.display().to_string(),
                    });
                }
                Err(e) => return Err(io_error(parent, e)),
            }
        }
        Ok(FileSink {
            root,
            run_id: run_id.to_owned(),
            open: Vec::new(),
            pending: None,
        })
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// A temporary name next to `path`.
    fn tmp_for(&self, path: &Path) -> PathBuf {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        path.with_file_name(format!(".{name}.distroless-debug-{}", self.run_id))
    }

    /// What is at `path` may be replaced by a file or a link: nothing, or not a directory.
    fn replaceable(path: &Path) -> Result<(), CpError> {
        match fs::symlink_metadata(path) {
            Ok(m) if m.is_dir() => Err(CpError::Local {
                path: path.display().to_string(),
                source: std::io::Error::other("is a directory; the copy is a file"),
            }),
            _ => Ok(()),
        }
    }
}

impl Sink for FileSink {
    fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: i64,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), CpError> {
        let path = below(&self.root, name)?;
        Self::replaceable(&path)?;
        let tmp = self.tmp_for(&path);
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_error(&tmp, e))?;
        self.pending = Some(Pending {
            tmp: tmp.clone(),
            path,
        });
        let mut out = BufWriter::with_capacity(256 * 1024, file);
        let copied =
            std::io::copy(&mut content.take(size), &mut out).map_err(|e| io_error(&tmp, e))?;
        if copied != size {
            return Err(io_error(
                &tmp,
                std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the content ended early"),
            ));
        }
        let file = out
            .into_inner()
            .map_err(|e| io_error(&tmp, e.into_error()))?;
        file.set_modified(time_of(mtime))
            .map_err(|e| io_error(&tmp, e))?;
        drop(file);
        set_mode(&tmp, mode).map_err(|e| io_error(&tmp, e))
    }

    fn commit(&mut self) -> Result<(), CpError> {
        let Some(p) = self.pending.take() else {
            return Ok(());
        };
        fs::rename(&p.tmp, &p.path).map_err(|e| {
            let _ = fs::remove_file(&p.tmp);
            io_error(&p.path, e)
        })
    }

    fn discard(&mut self) {
        if let Some(p) = self.pending.take() {
            let _ = fs::remove_file(&p.tmp);
        }
    }

    fn dir(&mut self, name: &[u8], mode: u32, mtime: i64) -> Result<(), CpError> {
        let path = below(&self.root, name)?;
        let made = match fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => false,
            Ok(m) if m.file_type().is_symlink() => {
                return Err(CpError::LocalThroughLink {
                    path: path.display().to_string(),
                });
            }
            Ok(_) => {
                return Err(CpError::LocalNotDirectory {
                    path: path.display().to_string(),
                });
            }
            Err(_) => {
                fs::create_dir(&path).map_err(|e| io_error(&path, e))?;
                true
            }
        };
        self.open.push(Open {
            path,
            made,
            mode,
            mtime,
        });
        Ok(())
    }

    fn dir_end(&mut self) -> Result<(), CpError> {
        let Some(dir) = self.open.pop() else {
            return Ok(());
        };
        if dir.made {
            // Its time once what is in it is written, its mode last (it may take away the
            // write bit).
            File::open(&dir.path)
                .and_then(|f| f.set_modified(time_of(dir.mtime)))
                .map_err(|e| io_error(&dir.path, e))?;
            set_mode(&dir.path, dir.mode).map_err(|e| io_error(&dir.path, e))?;
        }
        Ok(())
    }

    fn link(&mut self, name: &[u8], target: &[u8], _mtime: i64) -> Result<Option<String>, CpError> {
        let path = below(&self.root, name)?;
        Self::replaceable(&path)?;
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            let tmp = self.tmp_for(&path);
            std::os::unix::fs::symlink(std::ffi::OsStr::from_bytes(target), &tmp)
                .map_err(|e| io_error(&tmp, e))?;
            fs::rename(&tmp, &path).map_err(|e| {
                let _ = fs::remove_file(&tmp);
                io_error(&path, e)
            })?;
            Ok(None)
        }
        #[cfg(not(unix))]
        Ok(Some(format!(
            "{}: a symbolic link to {:?}, not copied on this system",
            path.display(),
            String::from_utf8_lossy(target)
        )))
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        self.discard();
    }
}

/// Reads LOCAL for a put: the file or the tree, in the order the script writes it (a
/// directory before what is in it, its mode and time after).
pub(crate) struct Walk {
    root: PathBuf,
}

impl Walk {
    pub(crate) fn new(root: &Path) -> Walk {
        Walk {
            root: root.to_path_buf(),
        }
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// The bytes of every file below the root, for the progress; the root itself followed
    /// when it is a link, links below it not.
    pub(crate) fn total(&self) -> Result<(u64, u64), CpError> {
        fn walk(path: &Path, meta: &fs::Metadata, sum: &mut (u64, u64)) -> std::io::Result<()> {
            if meta.is_file() {
                sum.0 += meta.len();
                sum.1 += 1;
            } else if meta.is_dir() {
                for entry in fs::read_dir(path)? {
                    let entry = entry?;
                    walk(&entry.path(), &fs::symlink_metadata(entry.path())?, sum)?;
                }
            }
            Ok(())
        }
        let meta = fs::metadata(&self.root).map_err(|e| io_error(&self.root, e))?;
        let mut sum = (0, 0);
        walk(&self.root, &meta, &mut sum).map_err(|e| io_error(&self.root, e))?;
        Ok(sum)
    }

    /// Feeds the tree into `feeder`; notes on what it left out.
    pub(crate) fn feed(&self, feeder: &mut Feeder) -> Result<Vec<String>, CpError> {
        let mut notes = Vec::new();
        let meta = fs::metadata(&self.root).map_err(|e| io_error(&self.root, e))?;
        Self::entry(&self.root, &meta, &mut Vec::new(), feeder, &mut notes)?;
        Ok(notes)
    }

    fn entry(
        path: &Path,
        meta: &fs::Metadata,
        name: &mut Vec<u8>,
        feeder: &mut Feeder,
        notes: &mut Vec<String>,
    ) -> Result<(), CpError> {
        let mtime = meta.modified().map_or(0, seconds_of);
        let mode = mode_of(meta);
        if meta.is_file() {
            let mut f = File::open(path).map_err(|e| io_error(path, e))?;
            feeder
                .file(name, mode, mtime, meta.len(), &mut f)
                .map_err(|e| match e {
                    crate::session::cp::FeedError::Read(e) => io_error(path, e),
                    crate::session::cp::FeedError::Stopped(e) => e,
                })?;
        } else if meta.is_dir() {
            feeder.send(&crate::plan::cp::put::dir(name, mode, mtime))?;
            let mut entries: Vec<fs::DirEntry> = fs::read_dir(path)
                .map_err(|e| io_error(path, e))?
                .collect::<Result<_, _>>()
                .map_err(|e| io_error(path, e))?;
            entries.sort_by_key(fs::DirEntry::file_name);
            for entry in entries {
                let child = entry.path();
                let child_meta = fs::symlink_metadata(&child).map_err(|e| io_error(&child, e))?;
                let len = name.len();
                if !name.is_empty() {
                    name.push(b'/');
                }
                name.extend_from_slice(&os_bytes(&entry.file_name())?);
                Self::entry(&child, &child_meta, name, feeder, notes)?;
                name.truncate(len);
            }
            feeder.send(&crate::plan::cp::put::times(name, mode, mtime))?;
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(path).map_err(|e| io_error(path, e))?;
            feeder.send(&crate::plan::cp::put::link(
                name,
                &os_bytes(target.as_os_str())?,
                mtime,
            ))?;
        } else {
            notes.push(format!(
                "{}: not a file, directory or symbolic link; left out",
                path.display()
            ));
        }
        Ok(())
    }
}

#[cfg_attr(unix, allow(clippy::unnecessary_wraps))] // not every name is UTF-8 elsewhere
fn os_bytes(s: &std::ffi::OsStr) -> Result<Vec<u8>, CpError> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        Ok(s.as_bytes().to_vec())
    }
    #[cfg(not(unix))]
    s.to_str()
        .map(|t| t.replace('\\', "/").into_bytes())
        .ok_or_else(|| CpError::Archive {
            detail: format!("{} is not UTF-8", s.display()),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dd-local-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_file_lands_only_when_committed() {
        let dir = temp("commit");
        let mut sink = FileSink::new(&dir.join("out.txt"), Some("in.txt"), "dd-t").unwrap();
        sink.file(b"", 0o640, 1_600_000_000, 5, &mut &b"hello"[..])
            .unwrap();
        assert!(!dir.join("out.txt").exists(), "not before the checksum");
        sink.commit().unwrap();
        assert_eq!(fs::read(dir.join("out.txt")).unwrap(), b"hello");
        let meta = fs::metadata(dir.join("out.txt")).unwrap();
        assert_eq!(seconds_of(meta.modified().unwrap()), 1_600_000_000);
        assert_eq!(mode_of(&meta), if cfg!(unix) { 0o640 } else { 0o644 });

        // Into an existing directory, under the remote's name; a mismatch leaves nothing.
        let mut sink = FileSink::new(&dir, Some("in.txt"), "dd-t").unwrap();
        sink.file(b"", 0o644, 0, 3, &mut &b"abc"[..]).unwrap();
        sink.discard();
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "only out.txt");
        // Its directory must be there.
        assert!(FileSink::new(&dir.join("no/such/x"), None, "dd-t").is_err());
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn nothing_is_written_through_a_link() {
        let dir = temp("links");
        let outside = temp("links-outside");
        std::os::unix::fs::symlink(&outside, dir.join("sub")).unwrap();
        let mut sink = FileSink::new(&dir, None, "dd-t").unwrap();
        sink.dir(b"", 0o755, 0).unwrap();
        let err = sink.dir(b"sub", 0o755, 0).unwrap_err();
        assert!(matches!(err, CpError::LocalThroughLink { .. }), "{err}");
        // A file over a link replaces the link, not what it points to.
        std::os::unix::fs::symlink(outside.join("victim"), dir.join("f")).unwrap();
        sink.file(b"f", 0o600, 0, 2, &mut &b"ok"[..]).unwrap();
        sink.commit().unwrap();
        assert!(!outside.join("victim").exists());
        assert_eq!(fs::read(dir.join("f")).unwrap(), b"ok");
        sink.link(b"l", b"/etc/passwd", 0).unwrap();
        assert_eq!(
            fs::read_link(dir.join("l")).unwrap(),
            Path::new("/etc/passwd")
        );
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&outside);
    }
}

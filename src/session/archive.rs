//! `cp`'s `-`: the copy as a tar archive on stdout (out of the pod), or a tar archive from
//! stdin written into the pod, through the `tar` crate, streamed entry by entry.

use std::io::{BufWriter, Read, Write};

use crate::error::CpError;
use crate::plan::cp::{MODE_BITS, check_name, put};
use crate::session::cp::{FeedError, Feeder, Sink};

fn archive_error(e: &std::io::Error) -> CpError {
    CpError::Archive {
        detail: e.to_string(),
    }
}

/// Writes the copy as a tar archive, its entries under `top` (the remote's last name, or `.`).
pub(crate) struct TarSink<W: Write> {
    builder: tar::Builder<BufWriter<W>>,
    top: Vec<u8>,
}

impl<W: Write> TarSink<W> {
    pub(crate) fn new(out: W, top: Option<&str>) -> Self {
        let mut builder = tar::Builder::new(BufWriter::with_capacity(256 * 1024, out));
        builder.mode(tar::HeaderMode::Complete);
        TarSink {
            builder,
            top: top.unwrap_or(".").as_bytes().to_vec(),
        }
    }

    fn path(&self, name: &[u8]) -> std::path::PathBuf {
        let mut p = self.top.clone();
        if !name.is_empty() {
            p.push(b'/');
            p.extend_from_slice(name);
        }
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStrExt;
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(&p))
        }
        #[cfg(not(unix))]
        std::path::PathBuf::from(String::from_utf8_lossy(&p).into_owned())
    }

    fn header(kind: tar::EntryType, mode: u32, mtime: i64, size: u64) -> tar::Header {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(kind);
        h.set_mode(mode & MODE_BITS);
        h.set_mtime(u64::try_from(mtime).unwrap_or(0));
        h.set_size(size);
        h.set_uid(0);
        h.set_gid(0);
        h
    }
}

impl<W: Write> Sink for TarSink<W> {
    fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: i64,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), CpError> {
        let mut h = Self::header(tar::EntryType::Regular, mode, mtime, size);
        let path = self.path(name);
        self.builder
            .append_data(&mut h, path, content.take(size))
            .map_err(|e| archive_error(&e))
    }

    fn commit(&mut self) -> Result<(), CpError> {
        Ok(())
    }

    fn discard(&mut self) {}

    fn dir(&mut self, name: &[u8], mode: u32, mtime: i64) -> Result<(), CpError> {
        let mut h = Self::header(tar::EntryType::Directory, mode, mtime, 0);
        let path = self.path(name);
        self.builder
            .append_data(&mut h, path, std::io::empty())
            .map_err(|e| archive_error(&e))
    }

    fn dir_end(&mut self) -> Result<(), CpError> {
        Ok(())
    }

    fn link(&mut self, name: &[u8], target: &[u8], mtime: i64) -> Result<Option<String>, CpError> {
        let mut h = Self::header(tar::EntryType::Symlink, 0o777, mtime, 0);
        let path = self.path(name);
        #[cfg(unix)]
        let target = {
            use std::os::unix::ffi::OsStrExt;
            std::path::PathBuf::from(std::ffi::OsStr::from_bytes(target))
        };
        #[cfg(not(unix))]
        let target = std::path::PathBuf::from(String::from_utf8_lossy(target).into_owned());
        self.builder
            .append_link(&mut h, path, target)
            .map_err(|e| archive_error(&e))?;
        Ok(None)
    }

    fn finish(&mut self) -> Result<(), CpError> {
        self.builder.finish().map_err(|e| archive_error(&e))?;
        self.builder
            .get_mut()
            .flush()
            .map_err(|e| archive_error(&e))
    }
}

/// An archive's path as a name of the copy: `./` and a trailing `/` dropped; absolute paths and
/// `..` refused, as `tar` refuses them by default.
fn name_of(path: &[u8]) -> Result<Vec<u8>, CpError> {
    let mut p = path;
    while let Some(rest) = p.strip_prefix(b"./") {
        p = rest;
    }
    while let Some(rest) = p.strip_suffix(b"/") {
        p = rest;
    }
    if p == b"." {
        p = b"";
    }
    let cleaned: Vec<u8> = {
        let mut out = Vec::with_capacity(p.len());
        for part in p
            .split(|&b| b == b'/')
            .filter(|c| !c.is_empty() && *c != b".")
        {
            if !out.is_empty() {
                out.push(b'/');
            }
            out.extend_from_slice(part);
        }
        out
    };
    if path.starts_with(b"/") {
        return Err(CpError::Archive {
            detail: format!(
                "{:?} is an absolute path; cp writes an archive's entries below the destination",
                String::from_utf8_lossy(path)
            ),
        });
    }
    check_name(&cleaned).map_err(|detail| CpError::Archive { detail })?;
    Ok(cleaned)
}

/// Feeds a tar archive read from `input` into `feeder`, below the destination directory (made
/// when it is not there): files, directories (those the archive does not list are made, mode
/// 755) and symbolic links; other entries are left out with a note. Directory modes and times
/// are set at the end, deepest first.
pub(crate) fn feed<R: Read>(input: R, feeder: &mut Feeder) -> Result<Vec<String>, CpError> {
    let mut archive = tar::Archive::new(input);
    let mut notes = Vec::new();
    let mut dirs: Vec<(Vec<u8>, u32, i64)> = Vec::new();
    let mut made: std::collections::BTreeSet<Vec<u8>> = std::collections::BTreeSet::new();
    let now = crate::session::local::seconds_of(std::time::SystemTime::now());
    // The destination: made when it is not there, else written into.
    feeder.send(&put::dir(b"", 0o755, now))?;
    let entries = archive.entries().map_err(|e| archive_error(&e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| archive_error(&e))?;
        let name = name_of(&entry.path_bytes())?;
        let h = entry.header();
        let kind = h.entry_type();
        let mode = h.mode().unwrap_or(0o644);
        let mtime = h
            .mtime()
            .ok()
            .and_then(|m| i64::try_from(m).ok())
            .unwrap_or(0);
        if name.is_empty() {
            // The destination itself: it exists (a put of - needs a directory).
            if kind.is_dir() {
                continue;
            }
            return Err(CpError::Archive {
                detail: "an entry for the destination itself that is not a directory".to_owned(),
            });
        }
        // Parents first, made when the archive skipped them.
        let mut at = 0;
        while let Some(slash) = name[at..].iter().position(|&b| b == b'/') {
            let parent = name[..at + slash].to_vec();
            if made.insert(parent.clone()) {
                feeder.send(&put::dir(&parent, 0o755, now))?;
            }
            at += slash + 1;
        }
        if kind.is_dir() {
            if made.insert(name.clone()) {
                feeder.send(&put::dir(&name, mode, mtime))?;
            }
            dirs.push((name, mode, mtime));
        } else if kind.is_file() {
            let size = entry.size();
            feeder
                .file(&name, mode, mtime, size, &mut entry)
                .map_err(|e| match e {
                    FeedError::Read(e) => archive_error(&e),
                    FeedError::Stopped(e) => e,
                })?;
        } else if kind.is_symlink() {
            let target = entry
                .link_name_bytes()
                .map(std::borrow::Cow::into_owned)
                .unwrap_or_default();
            feeder.send(&put::link(&name, &target, mtime))?;
        } else {
            let what = match kind {
                tar::EntryType::Link => "a hard link",
                tar::EntryType::Fifo => "a FIFO",
                tar::EntryType::Char => "a character device",
                tar::EntryType::Block => "a block device",
                _ => "an entry of another kind",
            };
            notes.push(format!(
                "{}: {what} in the archive; left out (cp writes files, directories and symbolic links)",
                String::from_utf8_lossy(&name)
            ));
        }
    }
    dirs.sort_by(|a, b| b.0.cmp(&a.0));
    for (name, mode, mtime) in dirs {
        feeder.send(&put::times(&name, mode, mtime))?;
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_paths_become_names_below_the_destination() {
        assert_eq!(name_of(b"./a/b").unwrap(), b"a/b");
        assert_eq!(name_of(b"a/b/").unwrap(), b"a/b");
        assert_eq!(name_of(b"./").unwrap(), b"");
        assert_eq!(name_of(b"a//./b").unwrap(), b"a/b");
        assert!(name_of(b"/etc/passwd").is_err());
        assert!(name_of(b"a/../../b").is_err());
        assert!(name_of(b"..").is_err());
    }

    #[test]
    fn a_tar_sink_writes_an_archive_tar_reads_back() {
        let mut out = Vec::new();
        {
            let mut sink = TarSink::new(&mut out, Some("conf"));
            sink.dir(b"", 0o755, 1_600_000_000).unwrap();
            let long = vec![b'n'; 150];
            sink.file(&long, 0o640, 1_600_000_001, 3, &mut &b"abc"[..])
                .unwrap();
            sink.link(b"l", b"/etc/passwd", 0).unwrap();
            sink.finish().unwrap();
        }
        let mut archive = tar::Archive::new(&out[..]);
        let mut seen = Vec::new();
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let mut body = String::new();
            e.read_to_string(&mut body).unwrap();
            seen.push((
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.header().mode().unwrap(),
                body,
            ));
        }
        assert_eq!(seen[0], ("conf".into(), 0o755, String::new()));
        assert_eq!(seen[1].0, format!("conf/{}", "n".repeat(150)));
        assert_eq!((seen[1].1, seen[1].2.as_str()), (0o640, "abc"));
        assert_eq!(seen[2].0, "conf/l");
    }
}

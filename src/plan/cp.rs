//! `cp`'s wire format between the plugin and `sh/cp.sh` in the debug container, and what the
//! plugin makes of the target's mount table and of a transfer's progress. Pure.
//!
//! The toolbox has no program that writes or reads an archive the same way in every layout
//! (not every toolbox has a `tar`, and busybox's lacks GNU's flags), so the
//! script speaks a format of its own that POSIX `sh`, `stat`, `dd` and `sha256sum` can write
//! and read: records, each a line of space-separated fields, then the bytes those fields count
//! (names, link targets, file contents). A name is counted, not delimited, so any byte but NUL
//! may be in it; the line that follows a file's content is its SHA-256 as `sha256sum` prints it.
//!
//! | Record | Direction | Meaning |
//! | --- | --- | --- |
//! | `t SIZE` | get | about how many bytes follow (`du` of a directory), for the progress |
//! | `f MODE MTIME SIZE LEN` NAME CONTENT HASH-LINE | both | a regular file |
//! | `d MODE MTIME LEN` NAME | both | a directory (get: its entries follow, then `e`) |
//! | `e` | get | the end of the directory last opened |
//! | `t MODE MTIME LEN` NAME | put | a directory's mode and time, once its entries are written |
//! | `l MTIME TLEN LEN` NAME TARGET | both | a symbolic link, as written |
//! | `s MODE LEN` NAME | get | skipped: a device, FIFO or socket (MODE: `stat`'s `%f`, hex) |
//! | `u LEN` NAME | get | skipped: it vanished or could not be read |
//! | `r LEN` PATH | put | ready: where the copy goes |
//! | `E KIND [FIELD...] LEN` PATH \[MORE\] | both | the copy stopped (see [`Stop`]) |
//! | `z` | both | the end |
//!
//! MODE is octal permission bits; MTIME seconds since the epoch from the script, `touch -t`'s
//! `CCYYMMDDhhmm.SS` in UTC to it. NAME is relative to the copy's root (empty for the root).

use std::fmt::Write as _;
use std::time::Duration;

use crate::error::{CpError, InPod};
use crate::plan::user::Ids;

/// The longest header line or name the decoder accepts: anything longer is not ours.
const MAX_FIELD: usize = 1 << 20;

/// The permission bits `cp` keeps: rwx for user, group and others; never setuid, setgid or
/// sticky.
pub(crate) const MODE_BITS: u32 = 0o777;

/// What the script's stream says, one record (or part of a file's content) at a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event<'a> {
    Total(u64),
    File {
        name: Vec<u8>,
        mode: u32,
        mtime: i64,
        size: u64,
    },
    /// The next bytes of the current file.
    Data(&'a [u8]),
    /// The file's content ended; the toolbox's SHA-256 of it, lowercase hex.
    FileEnd {
        sha256: String,
    },
    Dir {
        name: Vec<u8>,
        mode: u32,
        mtime: i64,
    },
    DirEnd,
    Link {
        name: Vec<u8>,
        target: Vec<u8>,
        mtime: i64,
    },
    /// Not a file, directory or link: its type bits (`stat`'s `%f`).
    Special {
        name: Vec<u8>,
        mode: u32,
    },
    Unreadable {
        name: Vec<u8>,
    },
    Ready {
        path: Vec<u8>,
    },
    Stopped(Stop),
    End,
}

/// Why the script stopped the copy (an `E` record).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The target's root cannot be read: whose it is and who this container is.
    NoRoot {
        root: String,
        target: Ids,
        own: Ids,
        ptrace: bool,
    },
    Missing(String),
    NotDirectory(String),
    /// More than 40 symbolic links on the way.
    Loop(String),
    /// A directory this container may not list.
    Denied(String),
    /// The directory a put writes in is not writable: by whom, and the target's mount table.
    Unwritable {
        dir: String,
        own: Ids,
        mountinfo: String,
    },
    /// A directory is where a file or link would go.
    IsDirectory(String),
    /// A symbolic link is where a directory would go: nothing is written through it.
    Link(String),
    /// The file written does not have the SHA-256 the plugin sent.
    Checksum(String),
    /// A step of writing failed: `create`, `read`, `chmod`, `chown`, `touch`, `rename`,
    /// `mkdir`, `link`.
    Write {
        step: String,
        path: String,
    },
    /// The toolbox lacks a program the script needs.
    Tool(String),
    /// The input ended early or made no sense.
    Input,
    Other(String),
}

/// The stream is not what the script writes: out of step, or not ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Garbled(pub(crate) String);

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Line,
    /// Reading `need` bytes after a header line (names, link targets, `E` payloads).
    Payload {
        fields: Vec<String>,
        need: usize,
    },
    Content {
        left: u64,
    },
    HashLine,
}

/// Reads the script's stream incrementally, in whatever pieces it arrives; file contents pass
/// through without being copied, everything else is bounded by [`MAX_FIELD`].
#[derive(Debug, Clone)]
pub(crate) struct Decoder {
    state: State,
    buf: Vec<u8>,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder {
            state: State::Line,
            buf: Vec::new(),
        }
    }
}

fn number<T: std::str::FromStr>(fields: &[String], i: usize) -> Result<T, Garbled> {
    fields
        .get(i)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| Garbled(format!("bad field {i} in {:?}", fields.join(" "))))
}

fn octal(fields: &[String], i: usize) -> Result<u32, Garbled> {
    fields
        .get(i)
        .and_then(|f| u32::from_str_radix(f, 8).ok())
        .ok_or_else(|| Garbled(format!("bad mode in {:?}", fields.join(" "))))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

impl Decoder {
    /// The next event from `input`, consuming what it reads; `None` when `input` ran out first
    /// (call again with more).
    pub(crate) fn next<'a>(&mut self, input: &mut &'a [u8]) -> Result<Option<Event<'a>>, Garbled> {
        loop {
            match &mut self.state {
                State::Content { left } => {
                    if *left == 0 {
                        self.state = State::HashLine;
                        continue;
                    }
                    if input.is_empty() {
                        return Ok(None);
                    }
                    let n = usize::try_from(*left)
                        .unwrap_or(usize::MAX)
                        .min(input.len());
                    let (data, rest) = input.split_at(n);
                    *left -= n as u64;
                    *input = rest;
                    return Ok(Some(Event::Data(data)));
                }
                State::HashLine => {
                    let Some(line) = self.line(input)? else {
                        return Ok(None);
                    };
                    self.state = State::Line;
                    let hash = line.split(' ').next().unwrap_or_default();
                    if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
                        return Err(Garbled(format!(
                            "expected a SHA-256 after the file's content, found {line:?}"
                        )));
                    }
                    return Ok(Some(Event::FileEnd {
                        sha256: hash.to_ascii_lowercase(),
                    }));
                }
                State::Line => {
                    let Some(line) = self.line(input)? else {
                        return Ok(None);
                    };
                    let fields: Vec<String> = line.split(' ').map(str::to_owned).collect();
                    if let Some(event) = self.header(fields)? {
                        return Ok(Some(event));
                    }
                }
                State::Payload { need, .. } => {
                    let want = *need - self.buf.len();
                    let n = want.min(input.len());
                    self.buf.extend_from_slice(&input[..n]);
                    *input = &input[n..];
                    if self.buf.len() < *need {
                        return Ok(None);
                    }
                    let State::Payload { fields, .. } =
                        std::mem::replace(&mut self.state, State::Line)
                    else {
                        unreachable!("matched above")
                    };
                    let payload = std::mem::take(&mut self.buf);
                    return self.payload(&fields, payload).map(Some);
                }
            }
        }
    }

    /// A whole line (without its newline) from the buffer and `input`, or `None` for more.
    fn line(&mut self, input: &mut &[u8]) -> Result<Option<String>, Garbled> {
        let Some(at) = input.iter().position(|&b| b == b'\n') else {
            self.buf.extend_from_slice(input);
            *input = &[];
            if self.buf.len() > 512 {
                return Err(Garbled(format!(
                    "a line of more than 512 bytes: {:?}",
                    text(&self.buf[..64])
                )));
            }
            return Ok(None);
        };
        self.buf.extend_from_slice(&input[..at]);
        *input = &input[at + 1..];
        let line = std::mem::take(&mut self.buf);
        if line.len() > 512 {
            return Err(Garbled(format!("a line of {} bytes", line.len())));
        }
        String::from_utf8(line)
            .map(Some)
            .map_err(|e| Garbled(format!("a line that is not text: {e}")))
    }

    /// A header line: an event of its own, or the payload it announces.
    fn header(&mut self, fields: Vec<String>) -> Result<Option<Event<'static>>, Garbled> {
        let count = |n: usize| -> Result<(), Garbled> {
            if fields.len() == n {
                Ok(())
            } else {
                Err(Garbled(format!("unexpected record {:?}", fields.join(" "))))
            }
        };
        let need = match fields[0].as_str() {
            "t" => {
                count(2)?;
                return Ok(Some(Event::Total(number(&fields, 1)?)));
            }
            "e" => {
                count(1)?;
                return Ok(Some(Event::DirEnd));
            }
            "z" => {
                count(1)?;
                return Ok(Some(Event::End));
            }
            "f" => {
                count(5)?;
                number::<usize>(&fields, 4)?
            }
            "d" => {
                count(4)?;
                number::<usize>(&fields, 3)?
            }
            "l" => {
                count(4)?;
                number::<usize>(&fields, 2)?.saturating_add(number(&fields, 3)?)
            }
            "s" => {
                count(3)?;
                number::<usize>(&fields, 2)?
            }
            "u" | "r" => {
                count(2)?;
                number::<usize>(&fields, 1)?
            }
            "E" if fields.len() >= 3 => {
                let mut need = number::<usize>(&fields, fields.len() - 1)?;
                if fields[1] == "unwritable" {
                    need = need.saturating_add(number(&fields, 4)?);
                }
                need
            }
            _ => return Err(Garbled(format!("unexpected record {:?}", fields.join(" ")))),
        };
        if need > MAX_FIELD {
            return Err(Garbled(format!("a name of {need} bytes")));
        }
        self.state = State::Payload { fields, need };
        Ok(None)
    }

    fn payload(&mut self, fields: &[String], payload: Vec<u8>) -> Result<Event<'static>, Garbled> {
        Ok(match fields[0].as_str() {
            "f" => {
                let size = number(fields, 3)?;
                self.state = State::Content { left: size };
                Event::File {
                    name: payload,
                    mode: octal(fields, 1)?,
                    mtime: number(fields, 2)?,
                    size,
                }
            }
            "d" => Event::Dir {
                name: payload,
                mode: octal(fields, 1)?,
                mtime: number(fields, 2)?,
            },
            "l" => {
                let mut name = payload;
                let target = name.split_off(number(fields, 3)?);
                Event::Link {
                    name,
                    target,
                    mtime: number(fields, 1)?,
                }
            }
            "s" => Event::Special {
                name: payload,
                mode: u32::from_str_radix(&fields[1], 16)
                    .map_err(|_| Garbled(format!("bad mode in {:?}", fields.join(" "))))?,
            },
            "u" => Event::Unreadable { name: payload },
            "r" => Event::Ready { path: payload },
            _ => Event::Stopped(stop(fields, &payload)?),
        })
    }
}

/// An `E` record as a [`Stop`].
fn stop(fields: &[String], payload: &[u8]) -> Result<Stop, Garbled> {
    let path_len: usize = number(fields, fields.len() - 1)?;
    let path = text(&payload[..path_len.min(payload.len())]);
    let ids = |u: usize, g: usize| -> Result<Ids, Garbled> {
        Ok(Ids {
            uid: number(fields, u)?,
            gid: number(fields, g)?,
        })
    };
    Ok(match (fields[1].as_str(), fields.len()) {
        ("noroot", 8) => Stop::NoRoot {
            root: path,
            target: ids(2, 3)?,
            own: ids(4, 5)?,
            ptrace: fields[6] == "1",
        },
        ("missing", 3) => Stop::Missing(path),
        ("notdir", 3) => Stop::NotDirectory(path),
        ("loop", 3) => Stop::Loop(path),
        ("denied", 3) => Stop::Denied(path),
        ("unwritable", 6) => Stop::Unwritable {
            dir: path,
            own: ids(2, 3)?,
            mountinfo: text(&payload[path_len.min(payload.len())..]),
        },
        ("isdir", 3) => Stop::IsDirectory(path),
        ("link", 3) => Stop::Link(path),
        ("checksum", 3) => Stop::Checksum(path),
        ("write", 4) => Stop::Write {
            step: fields[2].clone(),
            path,
        },
        ("tool", 4) => Stop::Tool(fields[2].clone()),
        ("input", 3) => Stop::Input,
        _ => Stop::Other(fields[1..].join(" ")),
    })
}

/// The error a [`Stop`] is, in the target container `at`, through debug container `container`
/// of image `image`. Pure.
pub(crate) fn stop_error(stop: Stop, at: &InPod, container: &str, image: &str) -> CpError {
    let at = || at.clone();
    match stop {
        Stop::NoRoot {
            root,
            target,
            own,
            ptrace,
        } => CpError::NoRoot {
            at: at(),
            root,
            target: (target.uid, target.gid),
            own: (own.uid, own.gid),
            ptrace,
        },
        Stop::Missing(path) => CpError::Missing { at: at(), path },
        Stop::NotDirectory(path) => CpError::NotDirectory { at: at(), path },
        Stop::Loop(path) => CpError::Loop { at: at(), path },
        Stop::Denied(path) => CpError::Denied { at: at(), path },
        Stop::Unwritable {
            dir,
            own,
            mountinfo,
        } => {
            let table = mounts(&mountinfo);
            let writable = writable_mounts(&table);
            if mount_of(&table, &dir).is_some_and(|m| m.read_only) {
                CpError::ReadOnly {
                    at: at(),
                    path: dir,
                    writable,
                }
            } else {
                CpError::NotWritable {
                    at: at(),
                    path: dir,
                    own: (own.uid, own.gid),
                    writable,
                }
            }
        }
        Stop::IsDirectory(path) => CpError::IsDirectory { at: at(), path },
        Stop::Link(path) => CpError::ThroughLink { at: at(), path },
        Stop::Checksum(path) => CpError::Checksum {
            path,
            into_pod: true,
        },
        Stop::Write { step, path } => CpError::Write {
            at: at(),
            path,
            step,
        },
        Stop::Tool(tool) => CpError::Tool {
            image: image.to_owned(),
            tool: if tool == "dd-fullblock" {
                "dd iflag=fullblock".to_owned()
            } else {
                tool
            },
        },
        Stop::Input => CpError::Ended {
            container: container.to_owned(),
            why: "the script read an incomplete record".to_owned(),
            stderr: String::new(),
        },
        Stop::Other(what) => CpError::Garbled {
            container: container.to_owned(),
            detail: format!("an unknown stop {what:?}"),
        },
    }
}

/// Records the plugin writes for `put`. Pure.
pub(crate) mod put {
    use super::MODE_BITS;

    /// `touch -t`'s time in UTC (`CCYYMMDDhhmm.SS`) for `mtime` seconds since the epoch,
    /// within the years 1970 to 9999 that every `touch` takes.
    pub(crate) fn touch_time(mtime: i64) -> String {
        let t = k8s_openapi::jiff::Timestamp::from_second(mtime.clamp(0, 253_402_300_799))
            .unwrap_or(k8s_openapi::jiff::Timestamp::UNIX_EPOCH);
        t.strftime("%Y%m%d%H%M.%S").to_string()
    }

    fn with_name(mut header: String, name: &[u8]) -> Vec<u8> {
        header.push('\n');
        let mut out = header.into_bytes();
        out.extend_from_slice(name);
        out
    }

    /// A file's record up to its content; the content and [`hash_line`] follow.
    pub(crate) fn file(name: &[u8], mode: u32, mtime: i64, size: u64) -> Vec<u8> {
        with_name(
            format!(
                "f {:o} {} {size} {}",
                mode & MODE_BITS,
                touch_time(mtime),
                name.len()
            ),
            name,
        )
    }

    /// What follows a file's content: its SHA-256 in hex.
    pub(crate) fn hash_line(sha256_hex: &str) -> Vec<u8> {
        format!("{sha256_hex}\n").into_bytes()
    }

    /// A directory to create (or enter, when it is there).
    pub(crate) fn dir(name: &[u8], mode: u32, mtime: i64) -> Vec<u8> {
        with_name(
            format!(
                "d {:o} {} {}",
                mode & MODE_BITS,
                touch_time(mtime),
                name.len()
            ),
            name,
        )
    }

    /// A directory's mode and time, once what is in it is written.
    pub(crate) fn times(name: &[u8], mode: u32, mtime: i64) -> Vec<u8> {
        with_name(
            format!(
                "t {:o} {} {}",
                mode & MODE_BITS,
                touch_time(mtime),
                name.len()
            ),
            name,
        )
    }

    pub(crate) fn link(name: &[u8], target: &[u8], mtime: i64) -> Vec<u8> {
        let mut out = with_name(
            format!("l {} {} {}", touch_time(mtime), target.len(), name.len()),
            name,
        );
        out.extend_from_slice(target);
        out
    }

    pub(crate) const END: &[u8] = b"z\n";
}

/// Checks that a name of the stream is a path below the copy's root: empty (the root) or
/// components that are neither empty, `.` nor `..`, without NUL. Pure.
pub(crate) fn check_name(name: &[u8]) -> Result<(), String> {
    if name.is_empty() {
        return Ok(());
    }
    if name.contains(&0) {
        return Err("a name with a NUL byte".to_owned());
    }
    for part in name.split(|&b| b == b'/') {
        if part.is_empty() || part == b"." || part == b".." {
            return Err(format!(
                "{:?} is not a path below the copy's root",
                text(name)
            ));
        }
    }
    Ok(())
}

/// The directories a get stream has opened: each entry must be a direct child of the last
/// one, so that a stream can only describe the tree it announced. Pure.
#[derive(Debug, Default)]
pub(crate) struct Nesting {
    open: Vec<Vec<u8>>,
    root_seen: bool,
}

impl Nesting {
    /// Checks the next entry's name (before a directory is entered with [`Nesting::enter`]).
    pub(crate) fn entry(&mut self, name: &[u8]) -> Result<(), String> {
        check_name(name)?;
        if !self.root_seen {
            self.root_seen = true;
            return if name.is_empty() {
                Ok(())
            } else {
                Err(format!("the first entry is {:?}, not the root", text(name)))
            };
        }
        let Some(parent) = self.open.last() else {
            return Err(format!("{:?} after the root ended", text(name)));
        };
        let rest = if parent.is_empty() {
            Some(name)
        } else {
            name.strip_prefix(parent.as_slice())
                .and_then(|r| r.strip_prefix(b"/"))
        };
        match rest {
            Some(r) if !r.is_empty() && !r.contains(&b'/') => Ok(()),
            _ => Err(format!(
                "{:?} is not in the directory {:?}",
                text(name),
                text(parent)
            )),
        }
    }

    pub(crate) fn enter(&mut self, name: &[u8]) {
        self.open.push(name.to_vec());
    }

    /// Leaves the last directory entered; its name, or an error when none is open.
    pub(crate) fn leave(&mut self) -> Result<Vec<u8>, String> {
        self.open
            .pop()
            .ok_or_else(|| "the end of a directory that was not opened".to_owned())
    }

    /// Every directory opened was closed.
    pub(crate) fn closed(&self) -> bool {
        self.root_seen && self.open.is_empty()
    }
}

/// One line of `/proc/PID/mountinfo`: the mount point and whether it is read-only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) point: String,
    pub(crate) fstype: String,
    pub(crate) read_only: bool,
}

/// A mount point as mountinfo escapes it (`\040` for a space, `\011`, `\012`, `\134`).
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b))
        {
            let v = (bytes[i + 1] - b'0') * 64 + (bytes[i + 2] - b'0') * 8 + (bytes[i + 3] - b'0');
            out.push(v);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The mounts of a mount table, in its order (later ones stack on earlier ones). Lines that
/// do not parse are left out. Pure.
pub(crate) fn mounts(mountinfo: &str) -> Vec<Mount> {
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let fields: Vec<&str> = before.split(' ').collect();
            let point = unescape(fields.get(4)?);
            let options = fields.get(5)?;
            let mut after = after.split(' ');
            let fstype = after.next()?.to_owned();
            let super_options = after.nth(1).unwrap_or_default();
            let ro = |opts: &str| opts.split(',').any(|o| o == "ro");
            Some(Mount {
                point,
                fstype,
                read_only: ro(options) || ro(super_options),
            })
        })
        .collect()
}

/// Whether `path` is `point` or below it, by whole components.
fn below(path: &str, point: &str) -> bool {
    point == "/"
        || path == point
        || path
            .strip_prefix(point)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// The mount `path` is on: the longest mount point above it, the later one of equals. Pure.
pub(crate) fn mount_of<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    mounts
        .iter()
        .filter(|m| below(path, &m.point))
        .max_by_key(|m| m.point.len())
        .and_then(|longest| mounts.iter().rev().find(|m| m.point == longest.point))
}

/// File systems that are not for files: the kernel's views and the container's devices.
const NOT_FOR_FILES: &[&str] = &[
    "proc",
    "sysfs",
    "cgroup",
    "cgroup2",
    "devpts",
    "mqueue",
    "debugfs",
    "tracefs",
    "securityfs",
    "bpf",
    "pstore",
    "configfs",
    "fusectl",
];

/// Files the kubelet mounts into every container, one by one.
const KUBELET_FILES: &[&str] = &["/etc/hosts", "/etc/hostname", "/etc/resolv.conf"];

/// The writable mount points a user could copy into, sorted: read-write, holding files, not
/// under `/proc`, `/sys` or `/dev`, not one of the kubelet's single files, and not hidden by a
/// later mount on the same point. Pure.
pub(crate) fn writable_mounts(mounts: &[Mount]) -> Vec<String> {
    let mut out: Vec<String> = mounts
        .iter()
        .enumerate()
        .filter(|(i, m)| !mounts[i + 1..].iter().any(|later| later.point == m.point))
        .map(|(_, m)| m)
        .filter(|m| !m.read_only && !NOT_FOR_FILES.contains(&m.fstype.as_str()))
        .filter(|m| {
            !["/proc", "/sys", "/dev"].iter().any(|p| below(&m.point, p))
                && !KUBELET_FILES.contains(&m.point.as_str())
        })
        .map(|m| m.point.clone())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// `1.5 GiB`, `12.0 MiB`, `512 B`: binary units, one decimal above bytes. Pure.
pub(crate) fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    #[allow(clippy::cast_precision_loss)] // a display, to one decimal
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

#[allow(clippy::cast_precision_loss)] // rates for display
fn rate(done: u64, elapsed: Duration) -> Option<f64> {
    let secs = elapsed.as_secs_f64();
    (secs >= 0.2).then(|| done as f64 / secs)
}

/// `1m05s`, `42s`, `1h02m`. Pure.
fn clock(secs: u64) -> String {
    match secs {
        0..60 => format!("{secs}s"),
        60..3600 => format!("{}m{:02}s", secs / 60, secs % 60),
        _ => format!("{}h{:02}m", secs / 3600, (secs % 3600) / 60),
    }
}

/// The progress line of a transfer: bytes so far (of the total when known: exact for a file,
/// about for a directory), the rate, the time left. Pure.
pub(crate) fn progress(done: u64, total: Option<u64>, elapsed: Duration) -> String {
    let mut line = bytes(done);
    let rate = rate(done, elapsed);
    if let Some(total) = total.filter(|t| *t > 0) {
        let total = total.max(done);
        let _ = write!(
            line,
            " / {} ({:>3}%)",
            bytes(total),
            done.saturating_mul(100) / total
        );
        if let Some(r) = rate.filter(|r| *r > 0.0) {
            #[allow(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                clippy::cast_precision_loss
            )]
            let left = ((total - done) as f64 / r).ceil() as u64;
            let _ = write!(line, "  {}/s  ETA {}", bytes_per_sec(r), clock(left));
            return line;
        }
    }
    if let Some(r) = rate {
        let _ = write!(line, "  {}/s", bytes_per_sec(r));
    }
    line
}

#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn bytes_per_sec(r: f64) -> String {
    bytes(r as u64)
}

/// What a finished copy says: how many files, how many bytes, how long, how fast. Pure.
pub(crate) fn summary(files: u64, total: u64, elapsed: Duration) -> String {
    let mut s = format!(
        "{files} file{}, {}",
        if files == 1 { "" } else { "s" },
        bytes(total)
    );
    let _ = write!(s, " in {:.1}s", elapsed.as_secs_f64());
    if let Some(r) = rate(total, elapsed) {
        let _ = write!(s, " ({}/s)", bytes_per_sec(r));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every event of `stream`, fed in pieces of `piece` bytes, file data joined.
    fn decode(stream: &[u8], piece: usize) -> Result<Vec<Event<'static>>, Garbled> {
        let mut d = Decoder::default();
        let mut out: Vec<Event<'static>> = Vec::new();
        for chunk in stream.chunks(piece.max(1)) {
            let mut input = chunk;
            while let Some(e) = d.next(&mut input)? {
                match (e, out.last_mut()) {
                    (Event::Data(more), Some(Event::Data(_))) => {
                        let Some(Event::Data(prev)) = out.pop() else {
                            unreachable!()
                        };
                        let joined: Vec<u8> = prev.iter().chain(more).copied().collect();
                        out.push(Event::Data(Box::leak(joined.into_boxed_slice())));
                    }
                    (Event::Data(d), _) => {
                        out.push(Event::Data(Box::leak(d.to_vec().into_boxed_slice())));
                    }
                    (e, _) => out.push(owned(e)),
                }
            }
        }
        Ok(out)
    }

    fn owned(e: Event<'_>) -> Event<'static> {
        match e {
            Event::Data(d) => Event::Data(Box::leak(d.to_vec().into_boxed_slice())),
            Event::Total(t) => Event::Total(t),
            Event::File {
                name,
                mode,
                mtime,
                size,
            } => Event::File {
                name,
                mode,
                mtime,
                size,
            },
            Event::FileEnd { sha256 } => Event::FileEnd { sha256 },
            Event::Dir { name, mode, mtime } => Event::Dir { name, mode, mtime },
            Event::DirEnd => Event::DirEnd,
            Event::Link {
                name,
                target,
                mtime,
            } => Event::Link {
                name,
                target,
                mtime,
            },
            Event::Special { name, mode } => Event::Special { name, mode },
            Event::Unreadable { name } => Event::Unreadable { name },
            Event::Ready { path } => Event::Ready { path },
            Event::Stopped(s) => Event::Stopped(s),
            Event::End => Event::End,
        }
    }

    const HASH: &str = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";

    /// What `sh/cp.sh get` wrote for a small tree (names with a space and a newline, a link
    /// out of the tree, a FIFO), as the script prints it.
    fn tree_stream() -> Vec<u8> {
        let mut s = Vec::new();
        s.extend_from_slice(b"t 12288\nd 755 1700000000 0\n");
        s.extend_from_slice(b"f 640 1700000001 6 5\na.txthello\n");
        s.extend_from_slice(format!("{HASH}  -\n").as_bytes());
        s.extend_from_slice(b"l 1700000002 11 3\nabs/etc/passwd");
        s.extend_from_slice(b"s 11a4 4\nfifo");
        s.extend_from_slice(b"d 700 1700000003 8\nnew\nline");
        s.extend_from_slice(b"u 15\nnew\nline/secret");
        s.extend_from_slice(b"e\ne\nz\n");
        s
    }

    #[test]
    fn a_tree_decodes_the_same_in_any_pieces() {
        let stream = tree_stream();
        let whole = decode(&stream, stream.len()).unwrap();
        assert_eq!(
            whole,
            vec![
                Event::Total(12288),
                Event::Dir {
                    name: vec![],
                    mode: 0o755,
                    mtime: 1_700_000_000
                },
                Event::File {
                    name: b"a.txt".to_vec(),
                    mode: 0o640,
                    mtime: 1_700_000_001,
                    size: 6
                },
                Event::Data(b"hello\n"),
                Event::FileEnd {
                    sha256: HASH.to_owned()
                },
                Event::Link {
                    name: b"abs".to_vec(),
                    target: b"/etc/passwd".to_vec(),
                    mtime: 1_700_000_002
                },
                Event::Special {
                    name: b"fifo".to_vec(),
                    mode: 0x11a4
                },
                Event::Dir {
                    name: b"new\nline".to_vec(),
                    mode: 0o700,
                    mtime: 1_700_000_003
                },
                Event::Unreadable {
                    name: b"new\nline/secret".to_vec()
                },
                Event::DirEnd,
                Event::DirEnd,
                Event::End,
            ]
        );
        for piece in [1, 2, 3, 7, 64] {
            assert_eq!(decode(&stream, piece).unwrap(), whole, "pieces of {piece}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(300))]

        /// Any bytes, in any pieces: events or a refusal, never a panic, and what the decoder
        /// holds stays bounded.
        #[test]
        fn any_bytes_in_any_pieces(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048), piece in 1usize..64) {
            let mut d = Decoder::default();
            'outer: for chunk in bytes.chunks(piece) {
                let mut input = chunk;
                loop {
                    match d.next(&mut input) {
                        Ok(Some(_)) => {}
                        Ok(None) => break,
                        Err(_) => break 'outer,
                    }
                }
                proptest::prop_assert!(d.buf.len() <= MAX_FIELD);
            }
        }

        /// The tree's stream cut anywhere decodes to the same events.
        #[test]
        fn the_tree_cut_anywhere(cuts in proptest::collection::vec(1usize..40, 1..20)) {
            let stream = tree_stream();
            let whole = decode(&stream, stream.len()).unwrap();
            let mut d = Decoder::default();
            let mut got = Vec::new();
            let mut rest = &stream[..];
            for c in cuts.iter().cycle() {
                if rest.is_empty() {
                    break;
                }
                let (mut chunk, tail) = rest.split_at((*c).min(rest.len()));
                rest = tail;
                while let Some(e) = d.next(&mut chunk).unwrap() {
                    got.push(owned(e));
                }
            }
            let data: Vec<u8> = got.iter().filter_map(|e| match e { Event::Data(d) => Some(d.to_vec()), _ => None }).flatten().collect();
            proptest::prop_assert_eq!(data, b"hello\n".to_vec());
            let others: Vec<&Event<'_>> = got.iter().filter(|e| !matches!(e, Event::Data(_))).collect();
            let want: Vec<&Event<'_>> = whole.iter().filter(|e| !matches!(e, Event::Data(_))).collect();
            proptest::prop_assert_eq!(others, want);
        }
    }

    #[test]
    fn content_that_looks_like_records_stays_content() {
        let body = b"z\nE missing 1\n/f 1 2 3 4\n";
        let mut s = format!("f 644 1 {} 1\nx", body.len()).into_bytes();
        s.extend_from_slice(body);
        s.extend_from_slice(format!("{HASH}  -\nz\n").as_bytes());
        let events = decode(&s, 5).unwrap();
        assert_eq!(events[1], Event::Data(body));
        assert_eq!(events[3], Event::End);
    }

    #[test]
    fn a_file_that_shrank_puts_the_stream_out_of_step() {
        // Four bytes announced, two sent: the hash line is read as content and what follows
        // is no SHA-256.
        let s = format!("f 644 1 4 1\nxab{HASH}  -\nz\n");
        let err = decode(s.as_bytes(), 3).unwrap_err();
        assert!(err.0.contains("expected a SHA-256"), "{err:?}");
    }

    #[test]
    fn garbage_is_refused_not_buffered() {
        assert!(decode(b"hello world\n", 4).is_err());
        assert!(decode(&[b'x'; 600], 100).is_err());
        assert!(decode(b"f 644 1 4 99999999999\n", 100).is_err());
        assert!(decode(b"f 9z4 1 0 1\nx", 100).is_err());
        assert!(decode(b"d 755 1\n", 100).is_err());
    }

    #[test]
    fn stops_carry_their_facts() {
        let one = |s: &[u8]| match decode(s, 3).unwrap().pop() {
            Some(Event::Stopped(stop)) => stop,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            one(b"E missing 9\n/etc/nope"),
            Stop::Missing("/etc/nope".into())
        );
        assert_eq!(
            one(b"E noroot 65532 65532 0 0 0 12\n/proc/1/root"),
            Stop::NoRoot {
                root: "/proc/1/root".into(),
                target: Ids {
                    uid: 65532,
                    gid: 65532
                },
                own: Ids { uid: 0, gid: 0 },
                ptrace: false
            }
        );
        assert_eq!(one(b"E tool sha256sum 0\n"), Stop::Tool("sha256sum".into()));
        assert_eq!(
            one(b"E write rename 4\n/a b"),
            Stop::Write {
                step: "rename".into(),
                path: "/a b".into()
            }
        );
        let mi = "1 0 0:1 / / ro - overlay overlay rw\n";
        let rec = format!("E unwritable 65532 65532 {} 4\n/etc{mi}", mi.len());
        assert_eq!(
            one(rec.as_bytes()),
            Stop::Unwritable {
                dir: "/etc".into(),
                own: Ids {
                    uid: 65532,
                    gid: 65532
                },
                mountinfo: mi.into()
            }
        );
        assert_eq!(one(b"E input 0\n"), Stop::Input);
        assert_eq!(one(b"E later 1 0\n"), Stop::Other("later 1 0".into()));
    }

    #[test]
    fn put_records_are_what_the_script_reads() {
        assert_eq!(put::touch_time(0), "197001010000.00");
        assert_eq!(put::touch_time(1_577_934_245), "202001020304.05");
        assert_eq!(put::touch_time(-5), "197001010000.00");
        assert_eq!(
            put::file(b"a b", 0o4755, 1_577_934_245, 12),
            b"f 755 202001020304.05 12 3\na b"
        );
        assert_eq!(put::dir(b"", 0o700, 0), b"d 700 197001010000.00 0\n");
        assert_eq!(put::times(b"d", 0o755, 0), b"t 755 197001010000.00 1\nd");
        assert_eq!(put::link(b"l", b"../x", 0), b"l 197001010000.00 4 1\nl../x");
        assert_eq!(put::hash_line(HASH), format!("{HASH}\n").into_bytes());
        // The replies of put.
        let events = decode(b"r 8\n/tmp/a bz\n", 2).unwrap();
        assert_eq!(
            events,
            vec![
                Event::Ready {
                    path: b"/tmp/a b".to_vec()
                },
                Event::End
            ]
        );
    }

    #[test]
    fn names_stay_below_the_root_and_entries_in_their_directory() {
        assert!(check_name(b"").is_ok());
        assert!(check_name(b"a/b c/d\ne").is_ok());
        for bad in [
            &b"/a"[..],
            b"a/",
            b"a//b",
            b"..",
            b"a/../b",
            b"./a",
            b"a\0b",
        ] {
            assert!(check_name(bad).is_err(), "{bad:?}");
        }
        let mut n = Nesting::default();
        assert!(n.entry(b"a").is_err(), "the root comes first");
        let mut n = Nesting::default();
        n.entry(b"").unwrap();
        n.enter(b"");
        n.entry(b"a").unwrap();
        n.enter(b"a");
        n.entry(b"a/b").unwrap();
        assert!(n.entry(b"b").is_err(), "b is not in a");
        assert!(n.entry(b"a/b/c").is_err(), "c is not directly in a");
        assert!(n.entry(b"ab/c").is_err());
        assert_eq!(n.leave().unwrap(), b"a");
        n.entry(b"b").unwrap();
        assert!(!n.closed());
        n.leave().unwrap();
        assert!(n.closed());
        assert!(n.entry(b"c").is_err(), "after the root ended");
        assert!(n.leave().is_err());
    }

    const MOUNTINFO: &str = "\
1263 1200 0:123 / / ro,relatime master:1 - overlay overlay ro,lowerdir=/l
1264 1263 0:125 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw
1265 1263 0:126 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755
1266 1265 0:127 / /dev/pts rw,nosuid,noexec,relatime - devpts devpts rw,gid=5,mode=620
1267 1263 0:128 / /sys ro,nosuid,nodev,noexec,relatime - sysfs sysfs ro
1268 1263 254:0 /var/lib/kubelet/pods/u/volumes/kubernetes.io~empty-dir/data /data rw,relatime - ext4 /dev/vda rw
1269 1263 254:0 /var/lib/kubelet/pods/u/etc-hosts /etc/hosts rw,relatime - ext4 /dev/vda rw
1270 1263 254:0 /var/lib/kubelet/pods/u/volumes/kubernetes.io~configmap/c /etc/app ro,relatime - ext4 /dev/vda rw
1271 1263 0:130 / /tmp\\040dir rw,relatime - tmpfs tmpfs rw
1272 1265 0:131 / /dev/termination-log rw - ext4 /dev/vda rw
1273 1263 0:132 / /cache rw - tmpfs tmpfs rw
1274 1263 0:133 / /cache ro - tmpfs tmpfs ro
garbage
";

    #[test]
    fn the_mount_table_tells_read_only_from_writable() {
        let m = mounts(MOUNTINFO);
        assert_eq!(m.len(), 12);
        assert!(mount_of(&m, "/etc/target").unwrap().read_only);
        assert_eq!(mount_of(&m, "/etc/target").unwrap().point, "/");
        assert_eq!(mount_of(&m, "/data/x/y").unwrap().point, "/data");
        assert!(!mount_of(&m, "/data").unwrap().read_only);
        assert_eq!(mount_of(&m, "/datax").unwrap().point, "/");
        assert!(mount_of(&m, "/etc/app/c.yaml").unwrap().read_only);
        // The later mount on the same point is the one in effect.
        assert!(mount_of(&m, "/cache/x").unwrap().read_only);
        assert_eq!(writable_mounts(&m), ["/data", "/tmp dir"]);
    }

    #[test]
    fn a_write_refused_says_read_only_or_denied_and_where_to_write() {
        let at = InPod {
            pod: "api".into(),
            container: "app".into(),
        };
        let own = Ids {
            uid: 65532,
            gid: 65532,
        };
        let unwritable = |dir: &str| Stop::Unwritable {
            dir: dir.into(),
            own,
            mountinfo: MOUNTINFO.into(),
        };
        let e = stop_error(unwritable("/etc"), &at, "debugger-x", "toolbox:1");
        assert_eq!(
            e.to_string(),
            "cannot write to /etc in container \"app\" of pod \"api\": it is on a read-only file system"
        );
        assert_eq!(
            e.hint().unwrap(),
            "the writable mounts of container \"app\": /data, /tmp dir; copy into one of them (pod/api:/data/)"
        );
        let e = stop_error(unwritable("/data/locked"), &at, "debugger-x", "toolbox:1");
        assert!(
            e.to_string()
                .contains("permission denied to the debug container (UID 65532, GID 65532)"),
            "{e}"
        );
        let none = Stop::Unwritable {
            dir: "/".into(),
            own,
            mountinfo: "1 0 0:1 / / ro - overlay overlay ro\n".into(),
        };
        assert!(
            stop_error(none, &at, "d", "i")
                .hint()
                .unwrap()
                .contains("no writable mount")
        );
        let e = stop_error(Stop::Tool("dd-fullblock".into()), &at, "d", "img:1");
        assert_eq!(
            e.to_string(),
            "the toolbox image img:1 has no 'dd iflag=fullblock', which cp needs"
        );
        let e = stop_error(
            Stop::NoRoot {
                root: "/proc/1/root".into(),
                target: Ids { uid: 0, gid: 0 },
                own,
                ptrace: false,
            },
            &at,
            "d",
            "i",
        );
        assert!(e.to_string().contains("reading /proc/1/root needs the target's UID and GID or CAP_SYS_PTRACE, and the debug container (UID 65532, GID 65532) has neither (the target runs as UID 0, GID 0)"), "{e}");
    }

    #[test]
    fn progress_and_summary_read_well() {
        assert_eq!(bytes(0), "0 B");
        assert_eq!(bytes(1023), "1023 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(1 << 30), "1.0 GiB");
        let s = Duration::from_secs;
        assert_eq!(
            progress(256 << 20, Some(1 << 30), s(4)),
            "256.0 MiB / 1.0 GiB ( 25%)  64.0 MiB/s  ETA 12s"
        );
        assert_eq!(progress(100, None, s(1)), "100 B  100 B/s");
        assert_eq!(progress(0, Some(10), Duration::ZERO), "0 B / 10 B (  0%)");
        // A total that was an estimate never shows more than 100%.
        assert_eq!(
            progress(20, Some(10), s(2)),
            "20 B / 20 B (100%)  10 B/s  ETA 0s"
        );
        assert_eq!(clock(65), "1m05s");
        assert_eq!(clock(3720), "1h02m");
        assert_eq!(
            summary(1, 1 << 30, s(8)),
            "1 file, 1.0 GiB in 8.0s (128.0 MiB/s)"
        );
        assert_eq!(summary(3, 10, Duration::ZERO), "3 files, 10 B in 0.0s");
    }
}

//! `cp` through exec: the copy script (`sh/cp.sh`) in the debug container, its records
//! ([`crate::plan::cp`]) decoded into local files or a tar archive (get), or local files or
//! a tar archive encoded into records (put).
//!
//! Memory stays constant whatever the size: the exec's streams are read in pieces, and what
//! reads or writes local files runs on a thread of its own behind a bounded channel (the
//! SHA-256 of what arrived is computed there too, beside the network). A get holds the exec's
//! stdin as its lease, so the copy ends in the container when this client is gone; a put's
//! stdin carries the records, and their end without the final record ends it.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Status;
use kube::api::{AttachParams, AttachedProcess};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::api;
use crate::connect::Cluster;
use crate::error::{CpError, Error, InPod};
use crate::output::Printer;
use crate::plan::cp::{Decoder, Event, Nesting, put, stop_error};
use crate::plan::scripts::{CpOp, cp_command};

/// How much of each exec stream may be in flight: enough for throughput, bounded.
const STREAM_BUFFER: usize = 1 << 20;

/// Pieces of a file between the network and the thread that writes it (each at most
/// [`PIECE`] bytes): a few MiB at most in memory.
const PIECES: usize = 16;
const PIECE: usize = 256 * 1024;

/// How long the exit status may take after the copy's last record.
const STATUS_WAIT: Duration = Duration::from_secs(10);

/// How often the progress line is redrawn.
const TICK: Duration = Duration::from_millis(250);

/// Where a copy runs and what it copies.
#[derive(Debug, Clone)]
pub(crate) struct Job<'a> {
    pub(crate) pod: &'a str,
    /// The debug container.
    pub(crate) container: &'a str,
    pub(crate) image: &'a str,
    /// The target container, for messages.
    pub(crate) at: InPod,
    pub(crate) target_runtime_id: Option<&'a str>,
    /// The run's ID (temporary names in the pod and here).
    pub(crate) run_id: &'a str,
    /// The path in the target.
    pub(crate) remote: &'a str,
}

/// What a finished copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Done {
    pub(crate) files: u64,
    pub(crate) bytes: u64,
    pub(crate) elapsed: Duration,
    /// Where a put went in the pod (the path the script resolved), or empty.
    pub(crate) remote_dest: String,
    /// Entries left out, said as warnings.
    pub(crate) notes: Vec<String>,
}

/// What a get writes: files and directories in place, each file only once its checksum
/// matched.
pub(crate) trait Sink {
    /// Writes a file from `content` (exactly `size` bytes), not yet in place.
    fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: i64,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), CpError>;
    /// The checksum matched: the file goes in place.
    fn commit(&mut self) -> Result<(), CpError>;
    /// It did not: the file is thrown away.
    fn discard(&mut self);
    fn dir(&mut self, name: &[u8], mode: u32, mtime: i64) -> Result<(), CpError>;
    /// The directory last opened is complete.
    fn dir_end(&mut self) -> Result<(), CpError>;
    /// A symbolic link; a note when it could not be made here.
    fn link(&mut self, name: &[u8], target: &[u8], mtime: i64) -> Result<Option<String>, CpError>;
    fn finish(&mut self) -> Result<(), CpError> {
        Ok(())
    }
}

/// What the network side hands the writing thread.
enum Item {
    File {
        name: Vec<u8>,
        mode: u32,
        mtime: i64,
        size: u64,
    },
    Data(Vec<u8>),
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
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        use std::fmt::Write as _;
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A file's content as it comes through the channel, hashed as it is read.
struct Content<'a> {
    rx: &'a mut mpsc::Receiver<Item>,
    piece: Vec<u8>,
    at: usize,
    hash: &'a mut ring::digest::Context,
}

impl Read for Content<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.piece.len() {
            match self.rx.blocking_recv() {
                Some(Item::Data(d)) => {
                    self.hash.update(&d);
                    self.piece = d;
                    self.at = 0;
                }
                _ => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the copy stopped in the middle of a file",
                    ));
                }
            }
        }
        let n = buf.len().min(self.piece.len() - self.at);
        buf[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// The writing thread: every item into `sink`, each file's SHA-256 compared with the pod's.
fn write_all(
    mut sink: Box<dyn Sink>,
    mut rx: mpsc::Receiver<Item>,
) -> Result<Vec<String>, CpError> {
    let mut notes = Vec::new();
    while let Some(item) = rx.blocking_recv() {
        match item {
            Item::File {
                name,
                mode,
                mtime,
                size,
            } => {
                let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
                let mut content = Content {
                    rx: &mut rx,
                    piece: Vec::new(),
                    at: 0,
                    hash: &mut hash,
                };
                let written = sink.file(&name, mode, mtime, size, &mut content);
                // What the network side sent after the content: its checksum.
                let leftover = content.at < content.piece.len();
                let theirs = match rx.blocking_recv() {
                    Some(Item::FileEnd { sha256 }) if !leftover => Some(sha256),
                    _ => None,
                };
                if let Err(e) = written {
                    sink.discard();
                    return Err(e);
                }
                if theirs.as_deref() != Some(hex(hash.finish().as_ref()).as_str()) {
                    sink.discard();
                    return Err(CpError::Checksum {
                        path: shown(&name),
                        into_pod: false,
                    });
                }
                sink.commit()?;
            }
            Item::Dir { name, mode, mtime } => sink.dir(&name, mode, mtime)?,
            Item::DirEnd => sink.dir_end()?,
            Item::Link {
                name,
                target,
                mtime,
            } => notes.extend(sink.link(&name, &target, mtime)?),
            Item::Data(_) | Item::FileEnd { .. } => {
                return Err(CpError::Archive {
                    detail: "content outside a file".to_owned(),
                });
            }
        }
    }
    sink.finish()?;
    Ok(notes)
}

/// A name of the copy as messages show it (`.` for the root).
fn shown(name: &[u8]) -> String {
    if name.is_empty() {
        ".".to_owned()
    } else {
        String::from_utf8_lossy(name).into_owned()
    }
}

/// The exec's streams: stdin (a lease or the records), stdout (the records or replies),
/// stderr (read for the message of a failure).
fn params(container: &str) -> AttachParams {
    AttachParams {
        container: Some(container.to_owned()),
        stdin: true,
        stdout: true,
        stderr: true,
        tty: false,
        max_stdin_buf_size: Some(STREAM_BUFFER),
        max_stdout_buf_size: Some(STREAM_BUFFER),
        max_stderr_buf_size: Some(64 * 1024),
    }
}

/// The first 4 KiB of a stream, read to its end (the copy script writes nothing on stderr; a
/// shell or a program of the toolbox may, when it fails).
fn collect(r: Option<impl AsyncRead + Unpin + Send + 'static>) -> tokio::task::JoinHandle<String> {
    tokio::spawn(async move {
        let Some(mut r) = r else {
            return String::new();
        };
        let mut kept = Vec::new();
        let mut buf = [0u8; 4096];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let room = 4096usize.saturating_sub(kept.len());
            kept.extend_from_slice(&buf[..n.min(room)]);
        }
        String::from_utf8_lossy(&kept).trim().to_owned()
    })
}

/// The progress line, redrawn on a terminal.
struct Meter<'a> {
    printer: &'a Printer,
    started: Instant,
    total: Option<u64>,
}

impl Meter<'_> {
    fn show(&self, done: u64) {
        self.printer.progress(&crate::plan::cp::progress(
            done,
            self.total,
            self.started.elapsed(),
        ));
    }
}

/// The exec's status as far as it came: not yet, or its exit code (or why there is none).
enum Exit {
    Running,
    Ended(Result<i32, String>),
}

impl Exit {
    fn running(&self) -> bool {
        matches!(self, Exit::Running)
    }
}

/// Out of the pod: the script's stream into `sink`.
pub(crate) async fn get(
    cluster: &Cluster,
    job: &Job<'_>,
    sink: Box<dyn Sink + Send>,
    printer: &Printer,
) -> Result<Done, Error> {
    let argv = cp_command(CpOp::Get, job.run_id, job.target_runtime_id, job.remote, "");
    let mut process = api::exec::exec(cluster, job.pod, argv, &params(job.container)).await?;
    // Held, never written: the script's lease.
    let lease = process.stdin();
    let stderr = collect(process.stderr());
    let (tx, rx) = mpsc::channel::<Item>(PIECES);
    let writer = std::thread::Builder::new()
        .name("cp-write".to_owned())
        .spawn(move || write_all(sink, rx))
        .map_err(|source| Error::Io {
            context: "cannot start the thread that writes the copy",
            source,
        })?;
    let read = pump_get(&mut process, job, &tx, printer).await;
    drop(tx);
    printer.progress_done();
    let written = tokio::task::spawn_blocking(move || writer.join())
        .await
        .ok()
        .and_then(Result::ok);
    drop(lease);
    process.abort();
    let mut done = match read {
        Ok(done) => done,
        // The writer's own failure explains why the network side could not go on.
        Err(e) => {
            return Err(match written {
                Some(Err(w)) => {
                    stderr.abort();
                    w.into()
                }
                _ => ended_with(e, stderr).await,
            });
        }
    };
    stderr.abort();
    match written {
        Some(Ok(notes)) => done.notes.extend(notes),
        Some(Err(e)) => return Err(e.into()),
        None => {
            return Err(Error::Internal(
                "the thread that writes the copy failed".into(),
            ));
        }
    }
    Ok(done)
}

/// What the exec wrote on stderr, as far as it arrives within [`crate::session::streams::DRAIN`]
/// (after an abrupt end a stream can stay pending).
async fn stderr_of(task: tokio::task::JoinHandle<String>) -> String {
    let mut task = AbortOnDrop(task);
    tokio::time::timeout(crate::session::streams::DRAIN, &mut task.0)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or_default()
}

/// An early end says what the toolbox said on stderr, if anything; every other error is
/// the script's own account, and stderr is not waited for.
async fn ended_with(e: Error, stderr: tokio::task::JoinHandle<String>) -> Error {
    match e {
        Error::Cp(CpError::Ended { container, why, .. }) => Error::Cp(CpError::Ended {
            container,
            why,
            stderr: stderr_of(stderr).await,
        }),
        e => {
            stderr.abort();
            e
        }
    }
}

/// Reads the get stream until its end record and the exec's status.
async fn pump_get(
    process: &mut AttachedProcess,
    job: &Job<'_>,
    tx: &mpsc::Sender<Item>,
    printer: &Printer,
) -> Result<Done, Error> {
    let Some(mut stdout) = process.stdout() else {
        return Err(Error::Internal("the exec has no stdout".into()));
    };
    let status = process.take_status();
    let mut status = std::pin::pin!(async move {
        match status {
            Some(s) => s.await,
            None => None,
        }
    });
    let garbled = |detail: String| {
        Error::Cp(CpError::Garbled {
            container: job.container.to_owned(),
            detail,
        })
    };
    let mut meter = Meter {
        printer,
        started: Instant::now(),
        total: None,
    };
    let mut tick = tokio::time::interval(TICK);
    let mut decoder = Decoder::default();
    let mut nesting = Nesting::default();
    let mut buf = vec![0u8; PIECE];
    let (mut files, mut bytes, mut at_end, mut skipped) = (0u64, 0u64, false, (0u64, None));
    let mut notes = Vec::new();
    let mut exited = Exit::Running;
    let mut drain = None;
    loop {
        let n = tokio::select! {
            r = stdout.read(&mut buf) => r.unwrap_or(0),
            s = &mut status, if exited.running() => {
                exited = Exit::Ended(crate::session::exec::exit_code_of(s.as_ref()));
                drain = Some(tokio::time::Instant::now() + crate::session::streams::DRAIN);
                continue;
            }
            () = async { tokio::time::sleep_until(drain.unwrap_or_else(tokio::time::Instant::now)).await }, if drain.is_some() => 0,
            _ = tick.tick() => {
                meter.show(bytes);
                continue;
            }
        };
        if n == 0 {
            break;
        }
        let mut input = &buf[..n];
        while let Some(event) = decoder.next(&mut input).map_err(|g| garbled(g.0))? {
            let sent = match event {
                Event::Total(t) => {
                    meter.total = Some(t);
                    Ok(())
                }
                Event::File {
                    name,
                    mode,
                    mtime,
                    size,
                } => {
                    nesting.entry(&name).map_err(&garbled)?;
                    if name.is_empty() {
                        meter.total = Some(size);
                    }
                    files += 1;
                    tx.send(Item::File {
                        name,
                        mode,
                        mtime,
                        size,
                    })
                    .await
                }
                Event::Data(d) => {
                    bytes += d.len() as u64;
                    tx.send(Item::Data(d.to_vec())).await
                }
                Event::FileEnd { sha256 } => tx.send(Item::FileEnd { sha256 }).await,
                Event::Dir { name, mode, mtime } => {
                    nesting.entry(&name).map_err(&garbled)?;
                    nesting.enter(&name);
                    tx.send(Item::Dir { name, mode, mtime }).await
                }
                Event::DirEnd => {
                    nesting.leave().map_err(&garbled)?;
                    tx.send(Item::DirEnd).await
                }
                Event::Link {
                    name,
                    target,
                    mtime,
                } => {
                    nesting.entry(&name).map_err(&garbled)?;
                    tx.send(Item::Link {
                        name,
                        target,
                        mtime,
                    })
                    .await
                }
                Event::Special { name, mode } => {
                    nesting.entry(&name).map_err(&garbled)?;
                    notes.push(format!(
                        "{}: {}; left out",
                        shown(&name),
                        special_kind(mode)
                    ));
                    Ok(())
                }
                Event::Unreadable { name } => {
                    nesting.entry(&name).map_err(&garbled)?;
                    if name.is_empty() {
                        return Err(Error::Cp(CpError::Denied {
                            at: job.at.clone(),
                            path: job.remote.to_owned(),
                        }));
                    }
                    notes.push(format!(
                        "{}: cannot be read by the debug container; left out",
                        shown(&name)
                    ));
                    skipped.0 += 1;
                    skipped.1.get_or_insert_with(|| shown(&name));
                    Ok(())
                }
                Event::Stopped(stop) => {
                    return Err(Error::Cp(stop_error(
                        stop,
                        &job.at,
                        job.container,
                        job.image,
                    )));
                }
                Event::End => {
                    if !nesting.closed() {
                        return Err(garbled("the end before every directory ended".into()));
                    }
                    at_end = true;
                    Ok(())
                }
                Event::Ready { .. } => return Err(garbled("a reply of put in a get".into())),
            };
            if sent.is_err() {
                // The writing thread stopped: its error says why.
                return Err(ended(job.container, "the writing side stopped".to_owned()));
            }
        }
        if at_end {
            break;
        }
    }
    if !at_end {
        return Err(ended(
            job.container,
            match exited {
                Exit::Ended(code) => end_of(code.clone()),
                Exit::Running => "the connection ended before the copy's last record".to_owned(),
            },
        ));
    }
    check_exit(job.container, exited, &mut status).await?;
    if let (count @ 1.., Some(first)) = skipped {
        return Err(Error::Cp(CpError::Incomplete { count, first }));
    }
    meter.show(bytes);
    Ok(Done {
        files,
        bytes,
        elapsed: meter.started.elapsed(),
        remote_dest: String::new(),
        notes,
    })
}

/// An early end, and why.
fn ended(container: &str, why: String) -> Error {
    Error::Cp(CpError::Ended {
        container: container.to_owned(),
        why,
        stderr: String::new(),
    })
}

/// How the exec ended, in words.
fn end_of(code: Result<i32, String>) -> String {
    match code {
        Ok(code) => format!("the script ended with exit code {code}"),
        Err(why) => why,
    }
}

/// After the last record: the script's exit code must be 0. Its status may be slow to come
/// back on a busy node; every record already arrived and was checked, so a status that has not
/// come within [`STATUS_WAIT`] does not fail the copy.
async fn check_exit(
    container: &str,
    exited: Exit,
    status: &mut (impl std::future::Future<Output = Option<Status>> + Unpin),
) -> Result<(), Error> {
    let code = match exited {
        Exit::Ended(code) => code,
        Exit::Running => {
            let Ok(s) = tokio::time::timeout(STATUS_WAIT, status).await else {
                tracing::debug!("no exit status within {STATUS_WAIT:?} after the copy's end");
                return Ok(());
            };
            crate::session::exec::exit_code_of(s.as_ref())
        }
    };
    match code {
        Ok(0) => Ok(()),
        code => Err(ended(container, end_of(code))),
    }
}

/// What a skipped entry is, from its type bits.
fn special_kind(mode: u32) -> &'static str {
    match mode & 0o170_000 {
        0o010_000 => "a FIFO",
        0o140_000 => "a socket",
        0o020_000 => "a character device",
        0o060_000 => "a block device",
        _ => "not a file, directory or symbolic link",
    }
}

/// Why feeding stopped: the local side could not be read, or the network side is gone.
#[derive(Debug)]
pub(crate) enum FeedError {
    Read(std::io::Error),
    Stopped(CpError),
}

/// Encodes a put: records into a bounded channel towards the exec's stdin, each file's
/// content followed by its SHA-256, the bytes counted for the progress.
pub(crate) struct Feeder {
    tx: mpsc::Sender<Vec<u8>>,
    sent: Arc<AtomicU64>,
    files: u64,
}

impl Feeder {
    fn gone() -> CpError {
        CpError::Ended {
            container: String::new(),
            why: "the sending side stopped".to_owned(),
            stderr: String::new(),
        }
    }

    /// Sends a record as it is.
    pub(crate) fn send(&mut self, bytes: &[u8]) -> Result<(), CpError> {
        self.tx
            .blocking_send(bytes.to_vec())
            .map_err(|_| Self::gone())
    }

    /// Sends a file's record, exactly `size` bytes of `content`, and their SHA-256.
    pub(crate) fn file(
        &mut self,
        name: &[u8],
        mode: u32,
        mtime: i64,
        size: u64,
        content: &mut dyn Read,
    ) -> Result<(), FeedError> {
        self.send(&put::file(name, mode, mtime, size))
            .map_err(FeedError::Stopped)?;
        let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
        let mut left = size;
        while left > 0 {
            let mut piece = vec![0u8; usize::try_from(left).unwrap_or(PIECE).min(PIECE)];
            let n = content.read(&mut piece).map_err(FeedError::Read)?;
            if n == 0 {
                return Err(FeedError::Read(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file shrank while it was read",
                )));
            }
            piece.truncate(n);
            hash.update(&piece);
            left -= n as u64;
            self.tx
                .blocking_send(piece)
                .map_err(|_| FeedError::Stopped(Self::gone()))?;
            self.sent.fetch_add(n as u64, Ordering::Relaxed);
        }
        self.files += 1;
        self.send(&put::hash_line(&hex(hash.finish().as_ref())))
            .map_err(FeedError::Stopped)
    }
}

/// What feeds a put: the walk of a local path or a tar archive on stdin, run on a thread.
pub(crate) type Source = Box<dyn FnOnce(&mut Feeder) -> Result<Vec<String>, CpError> + Send>;

/// Into the pod: `source`'s records into the script, which writes them at the job's path
/// (`name` when that is a directory). `total`: the bytes to send, when known.
pub(crate) async fn put(
    cluster: &Cluster,
    job: &Job<'_>,
    name: &str,
    total: Option<u64>,
    source: Source,
    printer: &Printer,
) -> Result<Done, Error> {
    let argv = cp_command(
        CpOp::Put,
        job.run_id,
        job.target_runtime_id,
        job.remote,
        name,
    );
    let mut process = api::exec::exec(cluster, job.pod, argv, &params(job.container)).await?;
    let stderr = collect(process.stderr());
    let result = pump_put(&mut process, job, total, source, printer).await;
    printer.progress_done();
    process.abort();
    match result {
        Ok(done) => {
            stderr.abort();
            Ok(done)
        }
        Err(e) => Err(ended_with(e, stderr).await),
    }
}

async fn pump_put(
    process: &mut AttachedProcess,
    job: &Job<'_>,
    total: Option<u64>,
    source: Source,
    printer: &Printer,
) -> Result<Done, Error> {
    let (Some(mut stdout), Some(mut stdin)) = (process.stdout(), process.stdin()) else {
        return Err(Error::Internal("the exec has no stdin or stdout".into()));
    };
    let status = process.take_status();
    let mut status = std::pin::pin!(async move {
        match status {
            Some(s) => s.await,
            None => None,
        }
    });
    let garbled = |detail: String| {
        Error::Cp(CpError::Garbled {
            container: job.container.to_owned(),
            detail,
        })
    };
    let gone = |exited: &Exit| match exited {
        Exit::Ended(code) => ended(job.container, end_of(code.clone())),
        Exit::Running => ended(
            job.container,
            "the connection ended before the script's last record".to_owned(),
        ),
    };
    let mut decoder = Decoder::default();
    let mut buf = vec![0u8; 4096];
    // The script's first answer: where the copy goes, or why it cannot.
    let mut exited = Exit::Running;
    let dest = loop {
        let n = tokio::select! {
            r = stdout.read(&mut buf) => r.unwrap_or(0),
            s = &mut status, if exited.running() => {
                // What the script wrote before it ended may still be on its way.
                exited = Exit::Ended(crate::session::exec::exit_code_of(s.as_ref()));
                continue;
            }
            () = tokio::time::sleep(crate::session::streams::DRAIN), if !exited.running() => 0,
        };
        if n == 0 {
            return Err(gone(&exited));
        }
        let mut input = &buf[..n];
        match decoder.next(&mut input).map_err(|g| garbled(g.0))? {
            Some(Event::Ready { path }) if input.is_empty() => {
                break String::from_utf8_lossy(&path).into_owned();
            }
            Some(Event::Stopped(stop)) => {
                return Err(Error::Cp(stop_error(
                    stop,
                    &job.at,
                    job.container,
                    job.image,
                )));
            }
            Some(e) => return Err(garbled(format!("{e:?} before the put was ready"))),
            None => {}
        }
    };

    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(PIECES);
    let sent = Arc::new(AtomicU64::new(0));
    let mut feeder = Feeder {
        tx,
        sent: sent.clone(),
        files: 0,
    };
    let reader = std::thread::Builder::new()
        .name("cp-read".to_owned())
        .spawn(move || {
            let notes = source(&mut feeder)?;
            feeder.send(put::END)?;
            Ok::<_, CpError>((notes, feeder.files))
        })
        .map_err(|source| Error::Io {
            context: "cannot start the thread that reads the copy",
            source,
        })?;
    let mut reader = Some(reader);
    // stdin: the records; the writer comes back once they are all sent, and is held open
    // until the end (closing it would cut the replies short on servers that only speak
    // v4.channel.k8s.io).
    let feed = tokio::spawn(async move {
        while let Some(piece) = rx.recv().await {
            if stdin.write_all(&piece).await.is_err() || stdin.flush().await.is_err() {
                return None;
            }
        }
        Some(stdin)
    });
    let mut feed = AbortOnDrop(feed);
    let mut held = None;
    let mut fed = false;
    let meter = Meter {
        printer,
        started: Instant::now(),
        total,
    };
    let mut tick = tokio::time::interval(TICK);
    let mut finished = false;
    let mut read = None;
    loop {
        let n = tokio::select! {
            r = stdout.read(&mut buf) => r.unwrap_or(0),
            s = &mut status, if exited.running() => {
                exited = Exit::Ended(crate::session::exec::exit_code_of(s.as_ref()));
                if finished { break; }
                continue;
            }
            w = &mut feed.0, if !fed => {
                fed = true;
                held = w.ok().flatten();
                // Every record is sent, or the reading thread stopped: which one it was.
                let thread = reader.take();
                let joined =
                    tokio::task::spawn_blocking(move || thread.and_then(reader_join)).await;
                match joined.ok().flatten() {
                    Some(Ok(r)) => read = Some(r),
                    Some(Err(e)) if !matches!(e, CpError::Ended { .. }) => return Err(e.into()),
                    _ => {}
                }
                if held.is_none() && read.is_none() {
                    break;
                }
                continue;
            }
            _ = tick.tick() => {
                meter.show(sent.load(Ordering::Relaxed));
                continue;
            }
        };
        if n == 0 {
            break;
        }
        let mut input = &buf[..n];
        while let Some(event) = decoder.next(&mut input).map_err(|g| garbled(g.0))? {
            match event {
                Event::End => finished = true,
                Event::Stopped(stop) => {
                    return Err(Error::Cp(stop_error(
                        stop,
                        &job.at,
                        job.container,
                        job.image,
                    )));
                }
                e => return Err(garbled(format!("{e:?} during a put"))),
            }
        }
        if finished && !exited.running() {
            break;
        }
    }
    drop(held);
    let Some((notes, files)) = read.filter(|_| finished) else {
        return Err(gone(&exited));
    };
    check_exit(job.container, exited, &mut status).await?;
    let bytes = sent.load(Ordering::Relaxed);
    meter.show(bytes);
    Ok(Done {
        files,
        bytes,
        elapsed: meter.started.elapsed(),
        remote_dest: dest,
        notes,
    })
}

type Fed = Result<(Vec<String>, u64), CpError>;

/// The reading thread's result, `None` if it panicked.
fn reader_join(reader: std::thread::JoinHandle<Fed>) -> Option<Fed> {
    reader.join().ok()
}

/// A task aborted when its handle is dropped.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink that records what it was told.
    #[derive(Default)]
    struct Record(std::sync::Arc<std::sync::Mutex<Vec<String>>>);

    impl Sink for Record {
        fn file(
            &mut self,
            name: &[u8],
            _: u32,
            _: i64,
            size: u64,
            content: &mut dyn Read,
        ) -> Result<(), CpError> {
            let mut body = Vec::new();
            content
                .take(size)
                .read_to_end(&mut body)
                .map_err(|source| CpError::Local {
                    path: shown(name),
                    source,
                })?;
            self.0.lock().unwrap().push(format!(
                "file {} {}",
                shown(name),
                String::from_utf8_lossy(&body)
            ));
            Ok(())
        }
        fn commit(&mut self) -> Result<(), CpError> {
            self.0.lock().unwrap().push("commit".into());
            Ok(())
        }
        fn discard(&mut self) {
            self.0.lock().unwrap().push("discard".into());
        }
        fn dir(&mut self, name: &[u8], _: u32, _: i64) -> Result<(), CpError> {
            self.0.lock().unwrap().push(format!("dir {}", shown(name)));
            Ok(())
        }
        fn dir_end(&mut self) -> Result<(), CpError> {
            self.0.lock().unwrap().push("end".into());
            Ok(())
        }
        fn link(&mut self, name: &[u8], _: &[u8], _: i64) -> Result<Option<String>, CpError> {
            self.0.lock().unwrap().push(format!("link {}", shown(name)));
            Ok(None)
        }
    }

    fn sha(data: &[u8]) -> String {
        hex(ring::digest::digest(&ring::digest::SHA256, data).as_ref())
    }

    fn run(items: Vec<Item>) -> (Result<Vec<String>, CpError>, Vec<String>) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel(64);
        for i in items {
            tx.try_send(i).ok().unwrap();
        }
        drop(tx);
        let r = write_all(Box::new(Record(seen.clone())), rx);
        let seen = seen.lock().unwrap().clone();
        (r, seen)
    }

    fn file(name: &str, size: u64) -> Item {
        Item::File {
            name: name.into(),
            mode: 0o644,
            mtime: 0,
            size,
        }
    }

    #[test]
    fn a_file_goes_in_place_only_when_its_checksum_matches() {
        let (r, seen) = run(vec![
            Item::Dir {
                name: vec![],
                mode: 0o755,
                mtime: 0,
            },
            file("a", 5),
            Item::Data(b"he".to_vec()),
            Item::Data(b"llo".to_vec()),
            Item::FileEnd {
                sha256: sha(b"hello"),
            },
            Item::DirEnd,
        ]);
        assert!(r.is_ok());
        assert_eq!(seen, ["dir .", "file a hello", "commit", "end"]);

        let (r, seen) = run(vec![
            file("", 3),
            Item::Data(b"abc".to_vec()),
            Item::FileEnd {
                sha256: sha(b"abd"),
            },
        ]);
        assert!(
            matches!(
                r,
                Err(CpError::Checksum {
                    into_pod: false,
                    ..
                })
            ),
            "{r:?}"
        );
        assert_eq!(seen, ["file . abc", "discard"]);

        // The stream stopped in the middle of a file: nothing goes in place.
        let (r, seen) = run(vec![file("", 10), Item::Data(b"abc".to_vec())]);
        assert!(r.is_err());
        assert_eq!(seen.last().map(String::as_str), Some("discard"));
    }

    #[test]
    fn a_feeder_sends_the_content_and_its_checksum() {
        let (tx, mut rx) = mpsc::channel(64);
        let mut feeder = Feeder {
            tx,
            sent: Arc::new(AtomicU64::new(0)),
            files: 0,
        };
        feeder.file(b"x", 0o600, 0, 5, &mut &b"hello"[..]).unwrap();
        assert!(matches!(
            feeder.file(b"y", 0o600, 0, 9, &mut &b"short"[..]),
            Err(FeedError::Read(_))
        ));
        drop(feeder);
        let mut all = Vec::new();
        while let Ok(p) = rx.try_recv() {
            all.extend(p);
        }
        let want = format!("f 600 197001010000.00 5 1\nxhello{}\n", sha(b"hello"));
        assert!(String::from_utf8_lossy(&all).starts_with(&want));
    }
}

//! `cp`'s errors: what stopped a copy, in the pod or on this machine, and what to do about it.
//! Each one the copy script reports comes as a structured record ([`crate::error::Error::Cp`]
//! is built from it by `plan::cp`), never from a program's message.

/// Where in the pod: the pod and the target container, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InPod {
    pub(crate) pod: String,
    pub(crate) container: String,
}

impl std::fmt::Display for InPod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "container {:?} of pod {:?}", self.container, self.pod)
    }
}

/// A UID and GID pair, as messages show them.
pub(crate) fn ids(uid: i64, gid: i64) -> String {
    format!("UID {uid}, GID {gid}")
}

/// What stopped a copy.
#[derive(Debug, thiserror::Error)]
pub enum CpError {
    #[error("no such file or directory in {at}: {path}")]
    Missing { at: InPod, path: String },

    #[error("not a directory in {at}: {path}")]
    NotDirectory { at: InPod, path: String },

    #[error("too many levels of symbolic links in {at}: {path}")]
    Loop { at: InPod, path: String },

    #[error("permission denied in {at}: {path} cannot be listed by the debug container")]
    Denied { at: InPod, path: String },

    /// The target's root (`/proc/PID/root`) cannot be read: whose the target is, who the debug
    /// container is, whether it has CAP_SYS_PTRACE.
    #[error(
        "cannot read the files of {at}: {}",
        if *ptrace || (own == target) {
            format!("{root} is denied to the debug container")
        } else {
            format!(
                "reading {root} needs the target's UID and GID or CAP_SYS_PTRACE, and the debug container ({}) has neither (the target runs as {})",
                ids(own.0, own.1),
                ids(target.0, target.1)
            )
        }
    )]
    NoRoot {
        at: InPod,
        root: String,
        target: (i64, i64),
        own: (i64, i64),
        ptrace: bool,
    },

    #[error("cannot write to {path} in {at}: it is on a read-only file system")]
    ReadOnly {
        at: InPod,
        path: String,
        writable: Vec<String>,
    },

    #[error(
        "cannot write to {path} in {at}: permission denied to the debug container ({})",
        ids(own.0, own.1)
    )]
    NotWritable {
        at: InPod,
        path: String,
        own: (i64, i64),
        writable: Vec<String>,
    },

    #[error("{path} in {at} is a directory, where the copy would put a file or a link")]
    IsDirectory { at: InPod, path: String },

    #[error(
        "{path} in {at} is a symbolic link where the copy needs a directory: cp writes nothing through a link"
    )]
    ThroughLink { at: InPod, path: String },

    #[error(
        "checksum mismatch for {path}: the SHA-256 of what {} differs from {}; {}",
        if *into_pod { "the debug container wrote" } else { "arrived" },
        if *into_pod { "what was sent" } else { "the file's in the pod (did it change while it was copied?)" },
        if *into_pod { "the file was not put in place" } else { "nothing was written in its place" }
    )]
    Checksum { path: String, into_pod: bool },

    #[error(
        "cannot write {path} in {at}: the step '{step}' failed (a full or read-only file system, or a permission)"
    )]
    Write {
        at: InPod,
        path: String,
        step: String,
    },

    #[error("the toolbox image {image} has no '{tool}', which cp needs")]
    Tool { image: String, tool: String },

    #[error("the copy's stream from debug container {container:?} is out of step: {detail}")]
    Garbled { container: String, detail: String },

    #[error(
        "the copy in debug container {container:?} ended before it was complete: {why}{}",
        if stderr.is_empty() { String::new() } else { format!(" ({stderr})") }
    )]
    Ended {
        container: String,
        why: String,
        stderr: String,
    },

    #[error("{path}: {source}")]
    Local {
        path: String,
        #[source]
        source: std::io::Error,
    },

    #[error("{path} is not a directory, and the copy is a directory")]
    LocalNotDirectory { path: String },

    #[error(
        "{path} is a symbolic link where the copy needs a directory: cp writes nothing through a link"
    )]
    LocalThroughLink { path: String },

    #[error("the archive on stdin: {detail}")]
    Archive { detail: String },

    #[error(
        "{count} entr{} could not be read and {} left out (the first: {first}); the rest was copied",
        if *count == 1 { "y" } else { "ies" },
        if *count == 1 { "was" } else { "were" }
    )]
    Incomplete { count: u64, first: String },
}

impl CpError {
    /// What the user can do about it.
    pub(crate) fn hint(&self) -> Option<String> {
        let writable_hint = |at: &InPod, writable: &[String]| {
            if writable.is_empty() {
                format!(
                    "container {:?} has no writable mount: a pod gets one from a volume (an emptyDir) mounted into it",
                    at.container
                )
            } else {
                format!(
                    "the writable mounts of container {:?}: {}; copy into one of them (pod/{}:{}/)",
                    at.container,
                    writable.join(", "),
                    at.pod,
                    writable[0].trim_end_matches('/')
                )
            }
        };
        Some(match self {
            CpError::Missing { at, .. } | CpError::NotDirectory { at, .. } => format!(
                "paths are absolute, as the target sees them; list a directory with: kubectl distroless-debug pod/{}/{} -- ls -la \"$TARGET_ROOT/DIR\"",
                at.pod, at.container
            ),
            CpError::NoRoot {
                target, ptrace: false, own, ..
            } if own != target => format!(
                "in a pod that allows root, the default profile (general) has CAP_SYS_PTRACE; or give the debug container the target's user: --custom '{{\"securityContext\":{{\"runAsUser\":{},\"runAsGroup\":{}}}}}'",
                target.0, target.1
            ),
            CpError::ReadOnly { at, writable, .. }
            | CpError::NotWritable { at, writable, .. } => writable_hint(at, writable),
            CpError::Checksum { .. } | CpError::Garbled { .. } => {
                "copy it again; a file that grows or shrinks while it is copied (a log) is best copied once it stopped changing".to_owned()
            }
            CpError::Tool { .. } => {
                "cp needs a toolbox with busybox or coreutils (stat, dd with iflag=fullblock, sha256sum, readlink, du, touch, ...): choose one with --image".to_owned()
            }
            CpError::Ended { .. } => {
                "check the network and the API server, and copy again; a partial file is never put in place".to_owned()
            }
            CpError::Incomplete { .. } => {
                "the debug container runs as the target's user when the pod must run as non-root: what that user cannot read, cp cannot copy".to_owned()
            }
            _ => return None,
        })
    }
}

//! `cp SRC DEST`: which side is in a pod (`TARGET:PATH`) and which on this machine (a path,
//! or `-` for a tar archive on stdout or stdin). Pure.

use std::path::PathBuf;

use crate::cli::target::{TargetRef, parse_target};

/// This machine's side of a copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Local {
    Path(PathBuf),
    /// `-`: a tar archive on stdout (out of the pod) or stdin (into it).
    Stdio,
}

/// Which way a copy goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Out of the pod.
    Get,
    /// Into the pod.
    Put,
}

/// A validated `cp`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cp {
    pub target: TargetRef,
    /// The absolute path in the target container, as it sees it.
    pub remote: String,
    pub local: Local,
    pub direction: Direction,
}

/// `TARGET:PATH` when the text before the first `:` is a TARGET; `None` for a local path
/// (`./a:b`, `/x:y` and `C:\x` are local: their first part is no TARGET).
fn remote(arg: &str) -> Option<Result<(TargetRef, String), String>> {
    let (target, path) = arg.split_once(':')?;
    let target = parse_target(target).ok()?;
    if path.is_empty() {
        return Some(Err(format!(
            "{arg:?}: the path in the pod is empty (TARGET:/PATH)"
        )));
    }
    if !path.starts_with('/') {
        return Some(Err(format!(
            "{arg:?}: the path in the pod must be absolute, as the target sees it (TARGET:/PATH)"
        )));
    }
    Some(Ok((target, path.to_owned())))
}

fn local(arg: &str) -> Result<Local, String> {
    match arg {
        "" => Err("the local path is empty".to_owned()),
        "-" => Ok(Local::Stdio),
        path => Ok(Local::Path(PathBuf::from(path))),
    }
}

/// Parses the two words after `cp`.
pub fn parse_cp(words: &[String]) -> Result<Cp, String> {
    let [src, dest] = words else {
        return Err(
            "cp takes a source and a destination: cp TARGET:/PATH LOCAL, or cp LOCAL TARGET:/PATH"
                .to_owned(),
        );
    };
    match (remote(src), remote(dest)) {
        (Some(_), Some(_)) => Err(
            "cp copies between a pod and this machine, not between two pods: copy through a local file"
                .to_owned(),
        ),
        (None, None) => {
            // A word that meant to name a pod says why it does not.
            let why = [src, dest]
                .iter()
                .filter_map(|w| w.split_once(':'))
                .find(|(t, _)| !t.is_empty() && !t.starts_with(['.', '/', '~']) && t.len() > 1)
                .and_then(|(t, _)| parse_target(t).err())
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            Err(format!(
                "cp needs one side in a pod, written TARGET:/PATH (pod/NAME:/PATH, pod/NAME/CONTAINER:/PATH, deploy/NAME:/PATH){why}; a local path with ':' is written ./PATH"
            ))
        }
        (Some(r), None) => {
            let (target, remote) = r?;
            Ok(Cp {
                target,
                remote,
                local: local(dest)?,
                direction: Direction::Get,
            })
        }
        (None, Some(r)) => {
            let (target, remote) = r?;
            Ok(Cp {
                target,
                remote,
                local: local(src)?,
                direction: Direction::Put,
            })
        }
    }
}

/// The name a copy takes inside an existing directory: the last component of `path`; `None`
/// for `/` and a path ending in `.` or `..` (`dir/.` copies what is in `dir`). Pure.
pub(crate) fn last_component(path: &str) -> Option<&str> {
    path.trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::target::Kind;

    fn words(a: &str, b: &str) -> Vec<String> {
        vec![a.to_owned(), b.to_owned()]
    }

    #[test]
    fn one_side_in_a_pod() {
        let c = parse_cp(&words("pod/api/app:/etc/app.yaml", "./out")).unwrap();
        assert_eq!(c.target.name, "api");
        assert_eq!(c.target.container.as_deref(), Some("app"));
        assert_eq!(c.remote, "/etc/app.yaml");
        assert_eq!(c.local, Local::Path("./out".into()));
        assert_eq!(c.direction, Direction::Get);

        let c = parse_cp(&words("heap.hprof", "deploy/api:/tmp/a:b")).unwrap();
        assert_eq!(c.target.kind, Kind::Deployment);
        assert_eq!(c.remote, "/tmp/a:b");
        assert_eq!(c.direction, Direction::Put);

        let c = parse_cp(&words("api:/data", "-")).unwrap();
        assert_eq!(c.local, Local::Stdio);
        let c = parse_cp(&words("-", "api:/data")).unwrap();
        assert_eq!((c.local, c.direction), (Local::Stdio, Direction::Put));

        // Local paths with a ':' whose first part is no TARGET.
        for local in ["./a:b", "/tmp/x:y", "C:\\x", "Up:x"] {
            let c = parse_cp(&words("api:/x", local)).unwrap();
            assert_eq!(c.local, Local::Path(local.into()), "{local}");
        }
    }

    #[test]
    fn what_is_refused() {
        for (a, b, want) in [
            ("api:/a", "web:/b", "not between two pods"),
            ("./a", "./b", "one side in a pod"),
            ("api:", "./b", "path in the pod is empty"),
            ("api:etc/x", "./b", "must be absolute"),
            ("api:/x", "", "local path is empty"),
        ] {
            let err = parse_cp(&words(a, b)).unwrap_err();
            assert!(err.contains(want), "{a} {b}: {err}");
        }
        assert!(
            parse_cp(&["api:/x".to_owned()])
                .unwrap_err()
                .contains("a source and a destination")
        );
    }

    #[test]
    fn the_name_a_copy_takes_in_a_directory() {
        assert_eq!(last_component("/etc/app.yaml"), Some("app.yaml"));
        assert_eq!(last_component("/var/log/"), Some("log"));
        assert_eq!(last_component("dir/."), None);
        assert_eq!(last_component("a/.."), None);
        assert_eq!(last_component("/"), None);
        assert_eq!(last_component("heap.hprof"), Some("heap.hprof"));
    }
}

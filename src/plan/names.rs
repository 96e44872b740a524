//! Names: generated debug container names and session IDs. Pure (the randomness is injected).

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::error::Error;

/// Prefix of generated debug container names.
pub(crate) const NAME_PREFIX: &str = "debugger-";

/// Letters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// A fresh name: `requested` if free, else `debugger-xxxxx` not used by any container of the
/// pod. `random` returns indexes into the alphabet (injected so tests are deterministic).
pub(crate) fn container_name(
    pod: &Pod,
    requested: Option<&str>,
    mut random: impl FnMut(usize) -> usize,
) -> Result<String, Error> {
    let taken = all_container_names(pod);
    let pod_name = pod.name_any();
    if let Some(name) = requested {
        if taken.iter().any(|t| t == name) {
            return Err(Error::NameTaken {
                pod: pod_name,
                name: name.to_owned(),
            });
        }
        return Ok(name.to_owned());
    }
    for _ in 0..32 {
        let suffix: String = (0..5)
            .map(|_| char::from(ALPHABET[random(ALPHABET.len()) % ALPHABET.len()]))
            .collect();
        let name = format!("{NAME_PREFIX}{suffix}");
        if !taken.contains(&name) {
            return Ok(name);
        }
    }
    Err(Error::NameTaken {
        pod: pod_name,
        name: format!("{NAME_PREFIX}*"),
    })
}

/// Names of containers, init containers and ephemeral containers: one namespace for names.
pub(crate) fn all_container_names(pod: &Pod) -> Vec<String> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .map(|c| c.name.clone())
        .chain(
            spec.init_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .chain(
            spec.ephemeral_containers
                .iter()
                .flatten()
                .map(|c| c.name.clone()),
        )
        .collect()
}

/// A name for a pod of ours: `BASE-KIND-xxxxx`, `BASE` cut so that the whole is at most 63
/// characters (a pod's host name is its name, and a host name label is at most 63), without
/// a `-` or `.` left at the cut. `random` as in [`container_name`]. Pure.
pub(crate) fn pod_name(base: &str, kind: &str, mut random: impl FnMut(usize) -> usize) -> String {
    let suffix: String = (0..5)
        .map(|_| char::from(ALPHABET[random(ALPHABET.len()) % ALPHABET.len()]))
        .collect();
    let room = 63 - kind.len() - suffix.len() - 2;
    let cut: String = base.chars().take(room).collect();
    let cut = cut.trim_end_matches(['-', '.']);
    if cut.is_empty() {
        format!("{kind}-{suffix}")
    } else {
        format!("{cut}-{kind}-{suffix}")
    }
}

/// A session ID: `dd-` and 12 letters and digits (the session script finds the session by it
/// with a plain grep pattern). `random` as in [`container_name`].
pub(crate) fn session_id(mut random: impl FnMut(usize) -> usize) -> String {
    let suffix: String = (0..12)
        .map(|_| char::from(ALPHABET[random(ALPHABET.len()) % ALPHABET.len()]))
        .collect();
    format!("dd-{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::target::fixtures::pod;

    #[test]
    fn names_are_unique_across_all_container_lists() {
        let p = pod("api")
            .container("app")
            .init_container("debugger-bbbbb")
            .ephemeral("debugger-ccccc")
            .build();
        // A generator that first yields taken names.
        let mut seq = [0usize, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2].into_iter();
        let name = container_name(&p, None, |_| seq.next().unwrap_or(3)).unwrap();
        assert_eq!(name, "debugger-ddddd");
        assert_eq!(container_name(&p, Some("mine"), |_| 0).unwrap(), "mine");
        let err = container_name(&p, Some("debugger-ccccc"), |_| 0).unwrap_err();
        assert!(matches!(err, Error::NameTaken { .. }));
        let err = container_name(&p, Some("app"), |_| 0).unwrap_err();
        assert!(err.to_string().contains("already exists"));
        // Pod names: at most 63 characters, no separator left at the cut.
        assert_eq!(pod_name("api-7f9c", "copy", |_| 0), "api-7f9c-copy-bbbbb");
        let long = format!("{}-x", "a".repeat(52));
        let n = pod_name(&long, "copy", |_| 1);
        assert_eq!(n, format!("{}-copy-ccccc", "a".repeat(52)));
        assert!(n.len() <= 63);
        assert_eq!(pod_name("", "node", |_| 0), "node-bbbbb");
        // A generator stuck on a taken name gives up instead of looping forever.
        assert!(
            container_name(&p, None, |_| 0).is_err_and(|e| e.to_string().contains("debugger-*"))
        );
    }
}

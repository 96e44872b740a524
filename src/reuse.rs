//! Debug containers made by this tool, read back from a pod: for reuse and for `list`. Pure.
//!
//! Ephemeral containers carry no labels or annotations, so ours are recognised by the
//! environment the plugin writes on them (`DISTROLESS_DEBUG_VERSION` and friends, a prefix
//! `--env` refuses). The environment is also the audit record: the pod spec is append-only, so
//! it cannot be rewritten afterwards.
//!
//! Reuse: a running container kept for reuse (`DISTROLESS_DEBUG_KEEPALIVE=1`) whose spec is
//! the one we would create now — same image, target, profile (security context), command
//! (entry script version), `--env` and `--custom` fields; audit fields and name aside — and
//! whose time to live leaves at least [`REUSE_MARGIN`]. One that is still starting
//! ([`find_starting`]) is waited for rather than duplicated.

use std::time::Duration;

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};
use k8s_openapi::jiff::Timestamp;
use serde_json::Value;

use crate::spec::{AUDIT_ENV, KEEPALIVE_ENV};
use crate::wait::ephemeral_status;

/// A kept container is reused only if it has at least this long to live.
pub const REUSE_MARGIN: Duration = Duration::from_secs(30);

/// The variable that marks a container as made by this tool.
pub const VERSION_ENV: &str = "DISTROLESS_DEBUG_VERSION";

/// One of our debug containers, from the pod spec and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub name: String,
    pub image: String,
    pub target: Option<String>,
    pub profile: Option<String>,
    pub version: Option<String>,
    pub by: Option<String>,
    pub at: Option<String>,
    pub reason: Option<String>,
    pub ttl_seconds: Option<u64>,
    pub keep_alive: bool,
    pub state: State,
    /// When the container started running (from its status), RFC 3339.
    pub started_at: Option<String>,
}

/// Where one debug container stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    Waiting(String),
    Running,
    Terminated { exit_code: i32 },
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Waiting(r) => write!(f, "Waiting({r})"),
            State::Running => f.write_str("Running"),
            State::Terminated { exit_code } => write!(f, "Terminated({exit_code})"),
        }
    }
}

fn env_value(c: &EphemeralContainer, key: &str) -> Option<String> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == key)
        .and_then(|e| e.value.clone())
}

/// Our debug containers in `pod`, in spec order.
pub fn records(pod: &Pod) -> Vec<Record> {
    let Some(list) = pod
        .spec
        .as_ref()
        .and_then(|s| s.ephemeral_containers.as_ref())
    else {
        return Vec::new();
    };
    list.iter()
        .filter(|c| env_value(c, VERSION_ENV).is_some())
        .map(|c| {
            let status = ephemeral_status(pod, &c.name);
            let st = status.and_then(|s| s.state.as_ref());
            let state = match st {
                Some(s) if s.running.is_some() => State::Running,
                Some(s) if s.terminated.is_some() => State::Terminated {
                    exit_code: s.terminated.as_ref().map_or(0, |t| t.exit_code),
                },
                Some(s) => State::Waiting(
                    s.waiting
                        .as_ref()
                        .and_then(|w| w.reason.clone())
                        .unwrap_or_else(|| "Unknown".to_owned()),
                ),
                None => State::Waiting("NoStatus".to_owned()),
            };
            let started_at = st
                .and_then(|s| s.running.as_ref())
                .and_then(|r| r.started_at.as_ref())
                .map(|t| t.0.to_string());
            Record {
                name: c.name.clone(),
                image: c.image.clone().unwrap_or_default(),
                target: c.target_container_name.clone(),
                profile: env_value(c, "DISTROLESS_DEBUG_PROFILE"),
                version: env_value(c, VERSION_ENV),
                by: env_value(c, "DISTROLESS_DEBUG_BY"),
                at: env_value(c, "DISTROLESS_DEBUG_AT"),
                reason: env_value(c, "DISTROLESS_DEBUG_REASON"),
                ttl_seconds: env_value(c, "DISTROLESS_DEBUG_TTL").and_then(|v| v.parse().ok()),
                keep_alive: env_value(c, KEEPALIVE_ENV).as_deref() == Some("1"),
                state,
                started_at,
            }
        })
        .collect()
}

fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// How long a running container has left before its TTL ends it: counted from when it started
/// running (the entry script's clock starts then), else from the audit time. `None` when it
/// has no TTL or is not running.
pub fn ttl_left(r: &Record, now: Timestamp) -> Option<Duration> {
    if r.state != State::Running {
        return None;
    }
    let ttl = r.ttl_seconds?;
    let start = r
        .started_at
        .as_deref()
        .or(r.at.as_deref())
        .and_then(parse_time)?;
    let elapsed = now.duration_since(start).as_secs().max(0);
    let elapsed = u64::try_from(elapsed).unwrap_or(0);
    Some(Duration::from_secs(ttl.saturating_sub(elapsed)))
}

/// Age since the audit time.
pub fn age(r: &Record, now: Timestamp) -> Option<Duration> {
    let at = r.at.as_deref().and_then(parse_time)?;
    let secs = u64::try_from(now.duration_since(at).as_secs()).unwrap_or(0);
    Some(Duration::from_secs(secs))
}

/// The fields that make two debug containers interchangeable: everything we set that shapes
/// what runs, minus the name, the audit variables and server-side defaults.
fn fingerprint(c: &EphemeralContainer) -> Value {
    let mut env: Vec<(String, Option<String>)> = c
        .env
        .iter()
        .flatten()
        .filter(|e| !AUDIT_ENV.contains(&e.name.as_str()))
        .map(|e| {
            (
                e.name.clone(),
                e.value.clone().or_else(|| {
                    e.value_from
                        .as_ref()
                        .and_then(|v| serde_json::to_string(v).ok())
                }),
            )
        })
        .collect();
    env.sort();
    serde_json::json!({
        "image": c.image,
        "target": c.target_container_name,
        "command": c.command,
        "args": c.args,
        "env": env,
        "envFrom": c.env_from,
        "securityContext": c.security_context,
        "volumeMounts": c.volume_mounts,
        "workingDir": c.working_dir,
    })
}

/// Our kept containers in `pod` with the spec of `wanted`, the most recently added first;
/// `name`: only a container of that name (`-c NAME`).
fn kept_like(pod: &Pod, wanted: &EphemeralContainer, name: Option<&str>) -> Vec<Record> {
    let want = fingerprint(wanted);
    let Some(spec) = pod
        .spec
        .as_ref()
        .and_then(|s| s.ephemeral_containers.as_ref())
    else {
        return Vec::new();
    };
    let same = |r: &Record| {
        spec.iter()
            .find(|c| c.name == r.name)
            .is_some_and(|c| fingerprint(c) == want)
    };
    records(pod)
        .into_iter()
        .rev()
        .filter(|r| r.keep_alive && name.is_none_or(|n| n == r.name) && same(r))
        .collect()
}

/// The kept container of `pod` to run in instead of adding `wanted`, if any (the most recently
/// started first). `name`: only a container of that name qualifies (`-c NAME`).
pub fn find_reusable(
    pod: &Pod,
    wanted: &EphemeralContainer,
    name: Option<&str>,
    now: Timestamp,
) -> Option<String> {
    kept_like(pod, wanted, name)
        .into_iter()
        .find(|r| ttl_left(r, now).is_some_and(|left| left >= REUSE_MARGIN))
        .map(|r| r.name)
}

/// A kept container younger than this whose status does not say Running yet is taken to be
/// starting: the kubelet reports Running only at its next relist, up to a second after the
/// start, and a script's next command often comes sooner.
pub const STARTING_WINDOW: Duration = Duration::from_secs(120);

/// The kept container of `pod` that is still starting and would be reused once it runs (same
/// spec as `wanted`, added less than [`STARTING_WINDOW`] ago, no status yet or
/// `ContainerCreating`), the most recent first. The caller waits for it instead of adding
/// another.
pub fn find_starting(
    pod: &Pod,
    wanted: &EphemeralContainer,
    name: Option<&str>,
    now: Timestamp,
) -> Option<String> {
    kept_like(pod, wanted, name)
        .into_iter()
        .filter(|r| matches!(&r.state, State::Waiting(w) if w == "NoStatus" || w == "ContainerCreating"))
        .find(|r| age(r, now).is_some_and(|a| a < STARTING_WINDOW))
        .map(|r| r.name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::fixtures::pod;
    use k8s_openapi::api::core::v1::{
        ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStatus, EnvVar,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

    fn env(pairs: &[(&str, &str)]) -> Vec<EnvVar> {
        pairs
            .iter()
            .map(|(k, v)| EnvVar {
                name: (*k).into(),
                value: Some((*v).into()),
                value_from: None,
            })
            .collect()
    }

    fn ours(name: &str, image: &str, at: &str) -> EphemeralContainer {
        EphemeralContainer {
            name: name.into(),
            image: Some(image.into()),
            target_container_name: Some("app".into()),
            command: Some(vec!["sh".into(), "-c".into()]),
            args: Some(vec!["script".into(), "distroless-debug".into()]),
            env: Some(env(&[
                ("DISTROLESS_DEBUG_TARGET", "app"),
                (KEEPALIVE_ENV, "1"),
                ("DISTROLESS_DEBUG_PROFILE", "general"),
                (VERSION_ENV, "0.1.0"),
                ("DISTROLESS_DEBUG_AT", at),
                ("DISTROLESS_DEBUG_BY", "alice"),
                ("DISTROLESS_DEBUG_TTL", "3600"),
            ])),
            ..EphemeralContainer::default()
        }
    }

    fn with(containers: Vec<EphemeralContainer>, running_since: &[(&str, &str)]) -> Pod {
        let mut p = pod("api").container("app").build();
        p.spec.as_mut().unwrap().ephemeral_containers = Some(containers);
        p.status.as_mut().unwrap().ephemeral_container_statuses = Some(
            running_since
                .iter()
                .map(|(n, t)| ContainerStatus {
                    name: (*n).into(),
                    state: Some(if t.is_empty() {
                        ContainerState {
                            terminated: Some(ContainerStateTerminated {
                                exit_code: 0,
                                ..Default::default()
                            }),
                            ..Default::default()
                        }
                    } else {
                        ContainerState {
                            running: Some(ContainerStateRunning {
                                started_at: Some(Time(t.parse().unwrap())),
                            }),
                            ..Default::default()
                        }
                    }),
                    ..Default::default()
                })
                .collect(),
        );
        p
    }

    fn now() -> Timestamp {
        "2026-01-02T03:10:00Z".parse().unwrap()
    }

    #[test]
    fn a_running_kept_container_with_the_same_spec_is_reused() {
        let existing = ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:00:00Z");
        let p = with(
            vec![existing.clone()],
            &[("debugger-aaaaa", "2026-01-02T03:00:05Z")],
        );
        // Another user and time, same everything else.
        let mut wanted = ours("debugger-new", "toolbox:1", "2026-01-02T03:10:00Z");
        wanted.env.as_mut().unwrap()[5].value = Some("bob".into());
        assert_eq!(
            find_reusable(&p, &wanted, None, now()).as_deref(),
            Some("debugger-aaaaa")
        );
        assert_eq!(
            find_reusable(&p, &wanted, Some("debugger-aaaaa"), now()).as_deref(),
            Some("debugger-aaaaa")
        );
        assert_eq!(find_reusable(&p, &wanted, Some("other"), now()), None);
    }

    #[test]
    fn a_kept_container_still_starting_is_waited_for_not_duplicated() {
        let wanted = ours("x", "toolbox:1", "t");
        // Added 30 s before `now`, no status yet.
        let p = with(
            vec![ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:09:30Z")],
            &[],
        );
        assert_eq!(find_reusable(&p, &wanted, None, now()), None);
        assert_eq!(
            find_starting(&p, &wanted, None, now()).as_deref(),
            Some("debugger-aaaaa")
        );
        assert_eq!(find_starting(&p, &wanted, Some("other"), now()), None);
        // ContainerCreating counts as starting.
        let mut creating = p.clone();
        creating
            .status
            .as_mut()
            .unwrap()
            .ephemeral_container_statuses = Some(vec![ContainerStatus {
            name: "debugger-aaaaa".into(),
            state: Some(ContainerState {
                waiting: Some(k8s_openapi::api::core::v1::ContainerStateWaiting {
                    reason: Some("ContainerCreating".into()),
                    message: None,
                }),
                ..Default::default()
            }),
            ..Default::default()
        }]);
        assert!(find_starting(&creating, &wanted, None, now()).is_some());
        // A failing one is not: a fresh container will say why.
        let mut failing = creating.clone();
        failing
            .status
            .as_mut()
            .unwrap()
            .ephemeral_container_statuses
            .as_mut()
            .unwrap()[0]
            .state
            .as_mut()
            .unwrap()
            .waiting
            .as_mut()
            .unwrap()
            .reason = Some("ImagePullBackOff".into());
        assert_eq!(find_starting(&failing, &wanted, None, now()), None);
        // Too old to be starting, another spec, running or ended: not starting.
        let old = with(
            vec![ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:07:00Z")],
            &[],
        );
        assert_eq!(find_starting(&old, &wanted, None, now()), None);
        assert_eq!(
            find_starting(&p, &ours("x", "toolbox:2", "t"), None, now()),
            None
        );
        let running = with(
            vec![ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:09:30Z")],
            &[("debugger-aaaaa", "2026-01-02T03:09:31Z")],
        );
        assert_eq!(find_starting(&running, &wanted, None, now()), None);
    }

    #[test]
    fn differences_that_matter_prevent_reuse() {
        let existing = ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:00:00Z");
        let p = with(
            vec![existing],
            &[("debugger-aaaaa", "2026-01-02T03:00:05Z")],
        );
        let other_image = ours("x", "toolbox:2", "t");
        let mut other_target = ours("x", "toolbox:1", "t");
        other_target.target_container_name = Some("side".into());
        let mut other_profile = ours("x", "toolbox:1", "t");
        other_profile.env.as_mut().unwrap()[2].value = Some("netadmin".into());
        let mut other_script = ours("x", "toolbox:1", "t");
        other_script.args = Some(vec!["script v2".into()]);
        for wanted in [other_image, other_target, other_profile, other_script] {
            assert_eq!(find_reusable(&p, &wanted, None, now()), None, "{wanted:?}");
        }
    }

    #[test]
    fn ended_session_bound_or_nearly_expired_containers_are_not_reused() {
        let wanted = ours("x", "toolbox:1", "t");
        let ended = with(
            vec![ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:00:00Z")],
            &[("debugger-aaaaa", "")],
        );
        assert_eq!(find_reusable(&ended, &wanted, None, now()), None);

        let mut session = ours("debugger-bbbbb", "toolbox:1", "2026-01-02T03:00:00Z");
        session.env.as_mut().unwrap().remove(1);
        let p = with(vec![session], &[("debugger-bbbbb", "2026-01-02T03:00:05Z")]);
        assert_eq!(find_reusable(&p, &wanted, None, now()), None);

        // Started 59m40s ago with a TTL of 1h: 20s left, under the margin.
        let p = with(
            vec![ours("debugger-ccccc", "toolbox:1", "2026-01-02T02:10:00Z")],
            &[("debugger-ccccc", "2026-01-02T02:10:20Z")],
        );
        let r = &records(&p)[0];
        assert_eq!(ttl_left(r, now()), Some(Duration::from_secs(20)));
        assert_eq!(find_reusable(&p, &wanted, None, now()), None);
    }

    #[test]
    fn records_read_the_audit_fields_and_skip_foreign_containers() {
        let mut foreign = ours("kubectl-debug-x", "busybox", "t");
        foreign.env = None;
        let p = with(
            vec![
                foreign,
                ours("debugger-aaaaa", "toolbox:1", "2026-01-02T03:00:00Z"),
            ],
            &[("debugger-aaaaa", "2026-01-02T03:00:05Z")],
        );
        let r = records(&p);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].by.as_deref(), Some("alice"));
        assert_eq!(r[0].profile.as_deref(), Some("general"));
        assert_eq!(r[0].ttl_seconds, Some(3600));
        assert!(r[0].keep_alive);
        assert_eq!(r[0].state, State::Running);
        assert_eq!(age(&r[0], now()), Some(Duration::from_secs(600)));
        assert_eq!(ttl_left(&r[0], now()), Some(Duration::from_secs(3005)));
    }
}

//! Debug containers made by this tool, read back from a pod: for reuse and for `list`. Pure.
//!
//! Ephemeral containers carry no labels or annotations, so ours are recognised by the
//! environment the plugin writes on them (`DISTROLESS_DEBUG_VERSION` and friends, a prefix
//! `--env` refuses). The environment is also the audit record: the pod spec is append-only, so
//! it cannot be rewritten afterwards.
//!
//! Reuse keeps that record true: a running container kept for reuse
//! (`DISTROLESS_DEBUG_KEEPALIVE=1`) is reused only for the same request — the same spec hash
//! (image, target, profile, `--env`, `--custom`, script version: `plan::container::spec_hash`), the same
//! user and the same `--reason` — and only while its time to live left is between
//! [`REUSE_MARGIN`] and the `--ttl` asked for, so a reused container never outlives what the user
//! asked. One that is still starting ([`Reuse::Starting`]) is waited for rather than
//! duplicated.
//!
//! Most of this file is its table tests: every reuse rule and every `list` field.

use std::time::Duration;

use k8s_openapi::api::core::v1::{EphemeralContainer, Pod};
use k8s_openapi::jiff::Timestamp;

use crate::plan::env::{KEEPALIVE_ENV, PROBE_ENV, SPEC_ENV, VERSION_ENV};

use crate::plan::progress::ephemeral_status;

/// A kept container is reused only if it has at least this long to live.
pub(crate) const REUSE_MARGIN: Duration = Duration::from_secs(30);

/// One of our debug containers, from the pod spec and status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) target: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) version: Option<String>,
    pub(crate) by: Option<String>,
    pub(crate) at: Option<String>,
    pub(crate) reason: Option<String>,
    pub(crate) ttl_seconds: Option<u64>,
    pub(crate) keep_alive: bool,
    /// A probe container (it read the target's user and ended).
    pub(crate) probe: bool,
    /// Its [`SPEC_ENV`].
    pub(crate) spec: Option<String>,
    pub(crate) state: State,
    /// When the container started running (from its status), RFC 3339; for a pod of ours,
    /// when the pod started (its deadline counts from then).
    pub(crate) started_at: Option<String>,
    /// A pod of ours (a copy, a node pod) rather than an ephemeral container.
    pub(crate) made: Option<Made>,
    /// The copied pod, for a copy.
    pub(crate) copy_of: Option<String>,
}

/// What a pod of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Made {
    /// A copy of a pod, its target held (`--copy`).
    Copy,
    /// A pod on a node with the host's namespaces (`node/NAME`).
    Node,
}

impl Made {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Made::Copy => "copy",
            Made::Node => "node",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Made> {
        match s {
            "copy" => Some(Made::Copy),
            "node" => Some(Made::Node),
            _ => None,
        }
    }
}

/// Where one debug container stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum State {
    Waiting(String),
    Running,
    Terminated {
        exit_code: i32,
    },
    /// A pod of ours being deleted.
    Deleting,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            State::Waiting(r) => write!(f, "Waiting({r})"),
            State::Running => f.write_str("Running"),
            State::Terminated { exit_code } => write!(f, "Terminated({exit_code})"),
            State::Deleting => f.write_str("Deleting"),
        }
    }
}

/// The value of variable `key` as the container sees it: the plugin doubles every `$` it writes
/// there (`spec::kubelet_literal`), and the kubelet halves them.
fn env_value(c: &EphemeralContainer, key: &str) -> Option<String> {
    c.env
        .iter()
        .flatten()
        .find(|e| e.name == key)
        .and_then(|e| e.value.as_deref())
        .map(|v| v.replace("$$", "$"))
}

/// Our debug containers in `pod`, in spec order.
pub(crate) fn records(pod: &Pod) -> Vec<Record> {
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
                probe: env_value(c, PROBE_ENV).is_some(),
                spec: env_value(c, SPEC_ENV),
                state,
                started_at,
                made: None,
                copy_of: None,
            }
        })
        .collect()
}

fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse().ok()
}

/// How long a running container has left before its TTL ends it: counted from when it started
/// running (the keep-alive's clock starts then), else from the audit time. `None` when it
/// has no TTL or is not running.
pub(crate) fn ttl_left(r: &Record, now: Timestamp) -> Option<Duration> {
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
pub(crate) fn age(r: &Record, now: Timestamp) -> Option<Duration> {
    let at = r.at.as_deref().and_then(parse_time)?;
    let secs = u64::try_from(now.duration_since(at).as_secs()).unwrap_or(0);
    Some(Duration::from_secs(secs))
}

/// What a kept container must match to be reused.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request<'a> {
    /// `spec::spec_hash` of the container this request would add.
    pub(crate) spec: &'a str,
    pub(crate) by: Option<&'a str>,
    pub(crate) reason: Option<&'a str>,
    /// `--ttl`: a reused container must not live longer than this from now.
    pub(crate) ttl: Duration,
    /// `-c NAME`: only a container of that name.
    pub(crate) name: Option<&'a str>,
}

/// What reuse found in a pod.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reuse {
    /// A running container to exec into.
    Running(String),
    /// One that is starting: wait for it instead of adding another.
    Starting(String),
    /// None; `skipped` says why the containers that nearly qualified did not (for stderr).
    None { skipped: Vec<String> },
}

/// A kept container younger than this whose status does not say Running yet is taken to be
/// starting: the kubelet reports Running only at its next relist, up to a second after the
/// start, and a script's next command often comes sooner.
pub(crate) const STARTING_WINDOW: Duration = Duration::from_secs(120);

fn is_starting(r: &Record, now: Timestamp) -> bool {
    matches!(&r.state, State::Waiting(w) if w == "NoStatus" || w == "ContainerCreating")
        && age(r, now).is_some_and(|a| a < STARTING_WINDOW)
}

/// Why kept container `r` does not serve `req`, or `None` if it does (running or starting).
/// Pure.
pub(crate) fn why_not(r: &Record, req: &Request<'_>, now: Timestamp) -> Option<String> {
    if r.probe {
        return Some("it is a probe container".to_owned());
    }
    if !r.keep_alive {
        return Some("it was not kept for reuse (it ends with its session)".to_owned());
    }
    if r.spec.as_deref() != Some(req.spec) {
        return Some(
            "it was made for another request (image, profile, target, --env, --custom or plugin version)"
                .to_owned(),
        );
    }
    if r.by.as_deref() != req.by {
        return Some(format!(
            "it was added by {}, and a kept container is reused only by the user who added it",
            r.by.as_deref().unwrap_or("an unknown user")
        ));
    }
    if r.reason.as_deref() != req.reason {
        return Some(format!(
            "it was added for reason {:?}, and a kept container is reused only for its own reason",
            r.reason.as_deref().unwrap_or("")
        ));
    }
    let left = if is_starting(r, now) {
        // Not running yet: its whole time to live is ahead of it.
        r.ttl_seconds.map(Duration::from_secs)
    } else {
        ttl_left(r, now)
    };
    let Some(left) = left else {
        return Some(format!("it is {}", r.state));
    };
    if left < REUSE_MARGIN {
        return Some(format!("it ends in {}", crate::error::fmt_duration(left)));
    }
    if left > req.ttl {
        return Some(format!(
            "it lives {} more, longer than --ttl {}",
            crate::error::fmt_duration(left),
            crate::error::fmt_duration(req.ttl)
        ));
    }
    None
}

/// The kept container of `pod` to use for `req`: the most recently added running one, else the
/// most recent one still starting. Pure.
pub(crate) fn find(pod: &Pod, req: &Request<'_>, now: Timestamp) -> Reuse {
    let mut skipped = Vec::new();
    let mut starting = None;
    for r in records(pod).into_iter().rev() {
        if req.name.is_some_and(|n| n != r.name) || r.probe {
            continue;
        }
        match why_not(&r, req, now) {
            None if is_starting(&r, now) => {
                starting.get_or_insert(r.name);
            }
            None => return Reuse::Running(r.name),
            // Only say why for containers that nearly matched: running or starting ones of the
            // same request shape, or the one named with -c.
            Some(why)
                if req.name.is_some()
                    || ((r.state == State::Running || is_starting(&r, now))
                        && r.keep_alive
                        && r.spec.as_deref() == Some(req.spec)) =>
            {
                skipped.push(format!("not reusing {}: {why}", r.name));
            }
            Some(_) => {}
        }
    }
    match starting {
        Some(name) => Reuse::Starting(name),
        None => Reuse::None { skipped },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::target::fixtures::pod;
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

    fn ours(name: &str, spec: &str, at: &str) -> EphemeralContainer {
        EphemeralContainer {
            name: name.into(),
            image: Some("toolbox:1".into()),
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
                (SPEC_ENV, spec),
            ])),
            ..EphemeralContainer::default()
        }
    }

    fn set_env(c: &mut EphemeralContainer, key: &str, value: Option<&str>) {
        let env = c.env.as_mut().unwrap();
        env.retain(|e| e.name != key);
        if let Some(v) = value {
            env.push(EnvVar {
                name: key.into(),
                value: Some(v.into()),
                value_from: None,
            });
        }
    }

    fn request(name: Option<&'static str>) -> Request<'static> {
        Request {
            spec: "s1",
            by: Some("alice"),
            reason: None,
            ttl: Duration::from_secs(3600),
            name,
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
    fn a_running_kept_container_of_the_same_request_user_and_reason_is_reused() {
        let p = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:00:00Z")],
            &[("debugger-aaaaa", "2026-01-02T03:00:05Z")],
        );
        assert_eq!(
            find(&p, &request(None), now()),
            Reuse::Running("debugger-aaaaa".into())
        );
        assert_eq!(
            find(&p, &request(Some("debugger-aaaaa")), now()),
            Reuse::Running("debugger-aaaaa".into())
        );
        assert_eq!(
            find(&p, &request(Some("other")), now()),
            Reuse::None { skipped: vec![] }
        );
    }

    #[test]
    fn another_user_or_reason_gets_a_container_of_its_own_and_is_told_why() {
        let p = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:00:00Z")],
            &[("debugger-aaaaa", "2026-01-02T03:00:05Z")],
        );
        let mut bob = request(None);
        bob.by = Some("bob");
        let Reuse::None { skipped } = find(&p, &bob, now()) else {
            panic!("reused another user's container")
        };
        assert_eq!(
            skipped,
            [
                "not reusing debugger-aaaaa: it was added by alice, and a kept container is reused only by the user who added it"
            ]
        );
        let mut incident = request(None);
        incident.reason = Some("INC-9999");
        let Reuse::None { skipped } = find(&p, &incident, now()) else {
            panic!("reused a container made for another reason")
        };
        assert!(
            skipped[0].contains("reused only for its own reason"),
            "{skipped:?}"
        );
        // The reason as the container sees it: `$` doubled in the spec, halved by the kubelet.
        let mut with_dollar = ours("debugger-bbbbb", "s1", "2026-01-02T03:00:00Z");
        set_env(
            &mut with_dollar,
            "DISTROLESS_DEBUG_REASON",
            Some("INC $$(HOME)"),
        );
        let p = with(
            vec![with_dollar],
            &[("debugger-bbbbb", "2026-01-02T03:00:05Z")],
        );
        assert_eq!(records(&p)[0].reason.as_deref(), Some("INC $(HOME)"));
        let mut same = request(None);
        same.reason = Some("INC $(HOME)");
        assert_eq!(
            find(&p, &same, now()),
            Reuse::Running("debugger-bbbbb".into())
        );
    }

    #[test]
    fn a_kept_container_still_starting_is_waited_for_not_duplicated() {
        // Added 30 s before `now`, no status yet.
        let p = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:09:30Z")],
            &[],
        );
        assert_eq!(
            find(&p, &request(None), now()),
            Reuse::Starting("debugger-aaaaa".into())
        );
        assert_eq!(
            find(&p, &request(Some("other")), now()),
            Reuse::None { skipped: vec![] }
        );
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
        assert!(matches!(
            find(&creating, &request(None), now()),
            Reuse::Starting(_)
        ));
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
        assert!(matches!(
            find(&failing, &request(None), now()),
            Reuse::None { .. }
        ));
        // Too old to be starting, or another request: not starting.
        let old = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:07:00Z")],
            &[],
        );
        assert!(matches!(
            find(&old, &request(None), now()),
            Reuse::None { .. }
        ));
        let mut other = request(None);
        other.spec = "s2";
        assert!(matches!(find(&p, &other, now()), Reuse::None { .. }));
    }

    #[test]
    fn another_request_ended_session_bound_or_expiring_containers_are_not_reused() {
        // Another spec: --custom, image, profile, target or plugin version.
        let p = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:00:00Z")],
            &[("debugger-aaaaa", "2026-01-02T03:00:05Z")],
        );
        let mut other = request(None);
        other.spec = "s2";
        assert_eq!(find(&p, &other, now()), Reuse::None { skipped: vec![] });
        // Named with -c: why it does not serve is said.
        let mut named = other;
        named.name = Some("debugger-aaaaa");
        let Reuse::None { skipped } = find(&p, &named, now()) else {
            panic!()
        };
        assert!(
            skipped[0].contains("made for another request"),
            "{skipped:?}"
        );

        let ended = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:00:00Z")],
            &[("debugger-aaaaa", "")],
        );
        assert!(matches!(
            find(&ended, &request(None), now()),
            Reuse::None { .. }
        ));

        let mut session = ours("debugger-bbbbb", "s1", "2026-01-02T03:00:00Z");
        set_env(&mut session, KEEPALIVE_ENV, None);
        let p = with(vec![session], &[("debugger-bbbbb", "2026-01-02T03:00:05Z")]);
        assert!(matches!(
            find(&p, &request(None), now()),
            Reuse::None { .. }
        ));

        // Started 59m40s ago with a TTL of 1h: 20s left, under the margin.
        let p = with(
            vec![ours("debugger-ccccc", "s1", "2026-01-02T02:10:00Z")],
            &[("debugger-ccccc", "2026-01-02T02:10:20Z")],
        );
        let r = &records(&p)[0];
        assert_eq!(ttl_left(r, now()), Some(Duration::from_secs(20)));
        assert!(matches!(
            find(&p, &request(None), now()),
            Reuse::None { .. }
        ));
    }

    #[test]
    fn a_reused_container_never_outlives_the_ttl_asked_for() {
        // 59m55s left.
        let p = with(
            vec![ours("debugger-aaaaa", "s1", "2026-01-02T03:09:55Z")],
            &[("debugger-aaaaa", "2026-01-02T03:10:05Z")],
        );
        let mut short = request(None);
        short.ttl = Duration::from_secs(600);
        let Reuse::None { skipped } = find(&p, &short, now()) else {
            panic!("reused a container that lives longer than --ttl")
        };
        assert!(skipped[0].contains("longer than --ttl 10m"), "{skipped:?}");
        assert!(matches!(find(&p, &request(None), now()), Reuse::Running(_)));
        // One still starting has its whole TTL ahead of it.
        let starting = with(
            vec![ours("debugger-bbbbb", "s1", "2026-01-02T03:09:55Z")],
            &[],
        );
        assert!(matches!(find(&starting, &short, now()), Reuse::None { .. }));
        assert!(matches!(
            find(&starting, &request(None), now()),
            Reuse::Starting(_)
        ));
    }

    #[test]
    fn records_read_the_audit_fields_and_skip_foreign_containers() {
        let mut foreign = ours("kubectl-debug-x", "s1", "t");
        foreign.env = None;
        let p = with(
            vec![
                foreign,
                ours("debugger-aaaaa", "s1", "2026-01-02T03:00:00Z"),
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

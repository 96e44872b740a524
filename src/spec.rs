//! `&Pod` + options → the `EphemeralContainer` to add. Pure, so every field is unit-tested.
//!
//! Order of construction: base (name, image, command, stdin/tty, env) → profile's
//! `securityContext` → non-root handling → `--custom` merged on top (it may not change name,
//! image, command or args) → the non-root check again, since `--custom` may have set a UID.
//!
//! Non-root decision: a pod whose `securityContext.runAsNonRoot` is true (or a profile or
//! `--custom` that sets it on the container) gets a debug container with an explicit
//! `runAsUser`: the target container's `runAsUser` if set, else the pod's (inherited, so not
//! repeated), else 65532, the conventional non-root UID of distroless images. The same UID as
//! the target is what lets a non-root debug container read `/proc/PID/root` of the target
//! (kubernetes#105846). The choice is returned as a note for stderr.

use k8s_openapi::api::core::v1::{EnvVar, EphemeralContainer, Pod, SecurityContext};
use serde_json::Value;

use crate::error::Error;
use crate::options::{DebugContainer, Session};

/// The debug container's entry script as written, with its comments (see
/// docs/entry-script.md).
pub const ENTRY_SCRIPT_SOURCE: &str = include_str!("entry.sh");

/// The entry script as it goes into the container spec and exec commands: without its comment
/// lines, which are 40% of it. Every debug container stays in the pod spec for the pod's life,
/// and every exec sends the script in its URL, so each byte counts many times.
pub fn entry_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| strip_comment_lines(ENTRY_SCRIPT_SOURCE));
    &SCRIPT
}

/// The main process of a kept container, as written (see `keepalive.sh`).
pub const KEEPALIVE_SCRIPT_SOURCE: &str = include_str!("keepalive.sh");

/// The keep-alive script as it goes into the container spec: under 1 KB, where the entry script
/// is 8 KB. A kept container runs commands and shells through exec, which sends the entry
/// script with each; only the keep-alive stays in the pod spec.
pub fn keep_alive_script() -> &'static str {
    static SCRIPT: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| strip_comment_lines(KEEPALIVE_SCRIPT_SOURCE));
    &SCRIPT
}

/// `script` without the lines whose first non-blank character is `#`, except the first line
/// (the script's title), and without blank lines. Pure. For `entry.sh` only: it has no
/// multi-line string with such a line.
pub fn strip_comment_lines(script: &str) -> String {
    let mut out = String::with_capacity(script.len());
    for (i, line) in script.lines().enumerate() {
        let code = line.trim_start();
        if i > 0 && (code.is_empty() || code.starts_with('#')) {
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// UID used for a must-run-as-non-root pod when the target's UID is unknown.
pub const FALLBACK_UID: i64 = 65532;

/// Prefix of generated debug container names.
pub const NAME_PREFIX: &str = "debugger-";

/// Letters Kubernetes uses for generated name suffixes (no vowels, no look-alikes).
const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The audit record and lifetime written into the container's environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Who started it (kubeconfig user or impersonated user), if known.
    pub by: Option<String>,
    /// When, RFC 3339.
    pub at: String,
    pub reason: Option<String>,
    /// Seconds before the container ends by itself; `None`: no limit.
    pub ttl_seconds: Option<u64>,
}

/// A partial container spec from `--custom`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom(serde_json::Map<String, Value>);

/// Fields `--custom` may not set.
const CUSTOM_REFUSED: &[&str] = &["name", "image", "command", "args", "targetContainerName"];

impl Custom {
    /// Parses JSON or YAML text (JSON is YAML, but its errors read better as JSON).
    pub fn parse(text: &str) -> Result<Custom, String> {
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?
        } else {
            serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?
        };
        let Value::Object(map) = value else {
            return Err("expected an object (a partial container spec)".to_owned());
        };
        if let Some(bad) = CUSTOM_REFUSED.iter().find(|k| map.contains_key(**k)) {
            return Err(format!(
                "may not set {bad:?} (use --image, -c/--container or -- COMMAND instead)"
            ));
        }
        // Unknown fields would be dropped silently by the typed struct: refuse them.
        let probe: EphemeralContainer = serde_json::from_value(Value::Object(
            map.clone()
                .into_iter()
                .chain([("name".to_owned(), Value::String("x".into()))])
                .collect(),
        ))
        .map_err(|e| format!("not a valid container spec: {e}"))?;
        let known = serde_json::to_value(&probe).unwrap_or(Value::Null);
        for key in map.keys() {
            let kept = known.get(key).is_some() || map.get(key) == Some(&Value::Null);
            if !kept {
                return Err(format!("unknown or empty container field {key:?}"));
            }
        }
        Ok(Custom(map))
    }
}

/// A fresh name: `requested` if free, else `debugger-xxxxx` not used by any container of the
/// pod. `random` returns indexes into the alphabet (injected so tests are deterministic).
pub fn container_name(
    pod: &Pod,
    requested: Option<&str>,
    mut random: impl FnMut(usize) -> usize,
) -> Result<String, Error> {
    let taken = all_container_names(pod);
    let pod_name = pod.metadata.name.clone().unwrap_or_default();
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
pub fn all_container_names(pod: &Pod) -> Vec<String> {
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

/// How the entry script waits for the client (see `entry.sh`).
pub fn handshake(session: &Session) -> &'static str {
    if session.tty {
        "tty"
    } else {
        // Command mode without -i still opens stdin, only for the one-byte handshake, so
        // that output written before the attach connects is not lost.
        "stdin"
    }
}

/// Environment variable that marks a container kept for reuse (see [`Mode::KeepAlive`]).
pub const KEEPALIVE_ENV: &str = "DISTROLESS_DEBUG_KEEPALIVE";

/// `$0` of the entry script when it runs through exec in a kept container.
pub const EXEC_ARGV0: &str = "distroless-debug-exec";

/// Audit variables: they differ between two otherwise identical containers.
pub const AUDIT_ENV: &[&str] = &[
    "DISTROLESS_DEBUG_AT",
    "DISTROLESS_DEBUG_BY",
    "DISTROLESS_DEBUG_REASON",
    "DISTROLESS_DEBUG_TTL",
];

/// What the container's main process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The session itself (shell or command), attached to; the container ends with it.
    Session,
    /// A keep-alive process that sleeps until the TTL; commands and shells run through exec,
    /// so later runs can reuse the container.
    KeepAlive,
}

/// Everything needed to build the container.
pub struct Input<'a> {
    pub pod: &'a Pod,
    pub target_container: &'a str,
    pub name: &'a str,
    pub container: &'a DebugContainer,
    pub session: &'a Session,
    pub custom: Option<&'a Custom>,
    pub audit: &'a Audit,
    pub mode: Mode,
}

/// The exec command that runs `command` (or a shell, when empty) in a kept container, with
/// `TARGET_PID`/`TARGET_ROOT` set up by the entry script.
pub fn exec_command(command: &[String]) -> Vec<String> {
    let mut argv = vec![
        "sh".to_owned(),
        "-c".to_owned(),
        entry_script().to_owned(),
        EXEC_ARGV0.to_owned(),
    ];
    argv.extend(command.iter().cloned());
    argv
}

/// The debug container, and notes for stderr (non-root decisions).
pub fn build(input: &Input<'_>) -> Result<(EphemeralContainer, Vec<String>), Error> {
    let dc = input.container;
    let mut env: Vec<EnvVar> = dc.env.iter().map(|(k, v)| env_var(k, v)).collect();
    let keep = input.mode == Mode::KeepAlive;
    env.push(env_var("DISTROLESS_DEBUG_TARGET", input.target_container));
    if keep {
        env.push(env_var(KEEPALIVE_ENV, "1"));
    } else {
        env.push(env_var(
            "DISTROLESS_DEBUG_HANDSHAKE",
            handshake(input.session),
        ));
    }
    env.push(env_var("DISTROLESS_DEBUG_PROFILE", dc.profile.name()));
    env.push(env_var(
        "DISTROLESS_DEBUG_VERSION",
        env!("CARGO_PKG_VERSION"),
    ));
    env.push(env_var("DISTROLESS_DEBUG_AT", &input.audit.at));
    if let Some(by) = &input.audit.by {
        env.push(env_var("DISTROLESS_DEBUG_BY", by));
    }
    if let Some(reason) = &input.audit.reason {
        env.push(env_var("DISTROLESS_DEBUG_REASON", reason));
    }
    if let Some(ttl) = input.audit.ttl_seconds {
        env.push(env_var("DISTROLESS_DEBUG_TTL", &ttl.to_string()));
    }

    let mut args = if keep {
        vec![
            keep_alive_script().to_owned(),
            "distroless-debug".to_owned(),
        ]
    } else {
        vec![entry_script().to_owned(), "distroless-debug".to_owned()]
    };
    if !keep {
        args.extend(input.session.command.iter().cloned());
    }

    let mut c = EphemeralContainer {
        name: input.name.to_owned(),
        image: Some(dc.image.clone()),
        image_pull_policy: dc.pull_policy.clone(),
        command: Some(vec!["sh".to_owned(), "-c".to_owned()]),
        args: Some(args),
        target_container_name: Some(input.target_container.to_owned()),
        // A session's stdin is always open: for the shell, for -i, and for the one-byte
        // handshake. A kept container has no stdin or TTY of its own: exec brings them.
        stdin: Some(!keep),
        stdin_once: Some(!keep),
        tty: Some(!keep && input.session.tty),
        env: Some(env),
        security_context: dc.profile.security_context(),
        termination_message_policy: Some("FallbackToLogsOnError".to_owned()),
        ..EphemeralContainer::default()
    };

    if let Some(custom) = input.custom {
        let mut v = serde_json::to_value(&c).map_err(|e| Error::Usage(e.to_string()))?;
        merge(&mut v, &Value::Object(custom.0.clone()));
        c = serde_json::from_value(v).map_err(|e| Error::Custom {
            path: String::new(),
            reason: format!("merged container is invalid: {e}"),
        })?;
    }

    let mut notes = Vec::new();
    apply_non_root(&mut c, input.pod, input.target_container, &mut notes);
    Ok((c, notes))
}

fn env_var(name: &str, value: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: Some(value.to_owned()),
        value_from: None,
    }
}

/// Gives a non-root UID to a debug container that must not run as root. See module docs.
fn apply_non_root(c: &mut EphemeralContainer, pod: &Pod, target: &str, notes: &mut Vec<String>) {
    let spec = pod.spec.as_ref();
    let pod_sc = spec.and_then(|s| s.security_context.as_ref());
    let own = c.security_context.as_ref();
    let must = own.and_then(|s| s.run_as_non_root).unwrap_or(false)
        || (own.and_then(|s| s.run_as_non_root).is_none()
            && pod_sc.and_then(|s| s.run_as_non_root) == Some(true));
    if !must || own.and_then(|s| s.run_as_user).is_some() {
        return;
    }
    let target_sc = spec
        .and_then(|s| s.containers.iter().find(|c| c.name == target))
        .and_then(|c| c.security_context.as_ref());
    if let Some(uid) = target_sc.and_then(|s| s.run_as_user) {
        let sc = c
            .security_context
            .get_or_insert_with(SecurityContext::default);
        sc.run_as_user = Some(uid);
        if let Some(gid) = target_sc.and_then(|s| s.run_as_group) {
            sc.run_as_group = Some(gid);
        }
        notes.push(format!(
            "the pod must run as non-root: the debug container runs as UID {uid}, the target container's"
        ));
    } else if let Some(uid) = pod_sc.and_then(|s| s.run_as_user) {
        notes.push(format!(
            "the pod must run as non-root: the debug container runs as UID {uid}, from the pod's securityContext"
        ));
    } else {
        let sc = c
            .security_context
            .get_or_insert_with(SecurityContext::default);
        sc.run_as_user = Some(FALLBACK_UID);
        notes.push(format!(
            "the pod must run as non-root and the target's UID is not in its spec: the debug container runs as UID {FALLBACK_UID}; if the target runs as another UID, set it with --custom '{{\"securityContext\":{{\"runAsUser\":UID}}}}'"
        ));
    }
    notes.push(
        "as non-root, capabilities of the profile do not apply and the shell cannot chroot into the target; its files are under $TARGET_ROOT".to_owned(),
    );
}

/// Merges `patch` into `base` like a strategic merge patch does for container fields: objects
/// merge key by key, `null` deletes, `env` merges by `name` and `volumeMounts` by `mountPath`,
/// other lists are replaced.
pub fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    b.remove(k);
                    continue;
                }
                let key = match k.as_str() {
                    "env" | "envFrom" => Some("name"),
                    "volumeMounts" => Some("mountPath"),
                    "volumeDevices" => Some("devicePath"),
                    _ => None,
                };
                match (b.get_mut(k), key, pv) {
                    (Some(Value::Array(bl)), Some(key), Value::Array(pl)) => {
                        for item in pl {
                            let id = item.get(key);
                            match bl.iter_mut().find(|x| id.is_some() && x.get(key) == id) {
                                Some(existing) => merge(existing, item),
                                None => bl.push(item.clone()),
                            }
                        }
                    }
                    (Some(bv @ Value::Object(_)), _, Value::Object(_)) => merge(bv, pv),
                    _ => {
                        b.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Profile;
    use crate::target::fixtures::pod;
    use k8s_openapi::api::core::v1::PodSecurityContext;
    use serde_json::json;

    fn dc(profile: Profile) -> DebugContainer {
        DebugContainer {
            name: None,
            image: "toolbox:1".into(),
            pull_policy: None,
            profile,
            custom: None,
            env: vec![("FOO".into(), "bar".into())],
        }
    }

    fn shell(tty: bool) -> Session {
        Session {
            command: vec![],
            stdin: true,
            tty,
        }
    }

    fn audit() -> Audit {
        Audit {
            by: Some("alice".into()),
            at: "2026-01-02T03:04:05Z".into(),
            reason: None,
            ttl_seconds: None,
        }
    }

    fn build_for(
        p: &Pod,
        d: &DebugContainer,
        s: &Session,
        custom: Option<&Custom>,
    ) -> (Value, Vec<String>) {
        let a = audit();
        let (c, notes) = build(&Input {
            pod: p,
            target_container: "app",
            name: "debugger-abcde",
            container: d,
            session: s,
            custom,
            audit: &a,
            mode: Mode::Session,
        })
        .unwrap();
        (serde_json::to_value(c).unwrap(), notes)
    }

    #[test]
    fn keep_alive_container_has_no_command_stdin_or_tty() {
        let p = pod("api").container("app").build();
        let s = Session {
            command: vec!["ss".into(), "-tlnp".into()],
            stdin: true,
            tty: true,
        };
        let mut a = audit();
        a.reason = Some("INC-42".into());
        a.ttl_seconds = Some(600);
        let (c, _) = build(&Input {
            pod: &p,
            target_container: "app",
            name: "debugger-abcde",
            container: &dc(Profile::General),
            session: &s,
            custom: None,
            audit: &a,
            mode: Mode::KeepAlive,
        })
        .unwrap();
        let c = serde_json::to_value(c).unwrap();
        // The small keep-alive script in the spec; the entry script comes with each exec.
        assert_eq!(c["args"][0], keep_alive_script());
        assert!(
            keep_alive_script().len() < 1024,
            "{}",
            keep_alive_script().len()
        );
        assert_eq!(c["args"].as_array().unwrap().len(), 2);
        assert_eq!(
            (c["stdin"].clone(), c["stdinOnce"].clone(), c["tty"].clone()),
            (json!(false), json!(false), json!(false))
        );
        let env = c["env"].as_array().unwrap();
        assert!(env.contains(&json!({"name": KEEPALIVE_ENV, "value": "1"})));
        assert!(env.contains(&json!({"name": "DISTROLESS_DEBUG_REASON", "value": "INC-42"})));
        assert!(env.contains(&json!({"name": "DISTROLESS_DEBUG_TTL", "value": "600"})));
        assert!(
            !env.iter()
                .any(|e| e["name"] == "DISTROLESS_DEBUG_HANDSHAKE")
        );
        assert_eq!(
            exec_command(&["cat".into()]),
            ["sh", "-c", entry_script(), EXEC_ARGV0, "cat"]
        );
    }

    #[test]
    fn comment_lines_stay_out_of_the_spec() {
        let script =
            "# title\n# about it\n\nx=1 # trailing kept\n  # indented comment\n  echo \"#$x\"\n";
        assert_eq!(
            strip_comment_lines(script),
            "# title\nx=1 # trailing kept\n  echo \"#$x\"\n"
        );
        let stripped = entry_script();
        assert!(
            stripped.len() * 10 < ENTRY_SCRIPT_SOURCE.len() * 7,
            "{}",
            stripped.len()
        );
        assert!(stripped.starts_with("# distroless-debug entry script"));
        // Still valid scripts for the shell that runs them.
        for script in [stripped, keep_alive_script()] {
            let check = std::process::Command::new("sh")
                .args(["-n", "-c", script])
                .status()
                .expect("sh");
            assert!(check.success());
        }
    }

    #[test]
    fn interactive_shell_container() {
        let p = pod("api").container("app").build();
        let (c, notes) = build_for(&p, &dc(Profile::General), &shell(true), None);
        assert!(notes.is_empty());
        assert_eq!(c["name"], "debugger-abcde");
        assert_eq!(c["image"], "toolbox:1");
        assert_eq!(c["targetContainerName"], "app");
        assert_eq!(c["command"], json!(["sh", "-c"]));
        assert_eq!(c["args"][0], entry_script());
        assert_eq!(c["args"][1], "distroless-debug");
        assert_eq!(c["args"].as_array().unwrap().len(), 2);
        assert_eq!(
            (c["stdin"].clone(), c["stdinOnce"].clone(), c["tty"].clone()),
            (json!(true), json!(true), json!(true))
        );
        assert_eq!(
            c["securityContext"],
            json!({"capabilities": {"add": ["SYS_PTRACE"]}})
        );
        assert!(c.get("imagePullPolicy").is_none());
        let env: Vec<(String, String)> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["name"].as_str().unwrap().into(),
                    e["value"].as_str().unwrap().into(),
                )
            })
            .collect();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("FOO"), Some("bar"));
        assert_eq!(get("DISTROLESS_DEBUG_TARGET"), Some("app"));
        assert_eq!(get("DISTROLESS_DEBUG_HANDSHAKE"), Some("tty"));
        assert_eq!(get("DISTROLESS_DEBUG_PROFILE"), Some("general"));
        assert_eq!(get("DISTROLESS_DEBUG_BY"), Some("alice"));
        assert_eq!(get("DISTROLESS_DEBUG_AT"), Some("2026-01-02T03:04:05Z"));
        assert_eq!(
            get("DISTROLESS_DEBUG_VERSION"),
            Some(env!("CARGO_PKG_VERSION"))
        );
        assert_eq!(get("DISTROLESS_DEBUG_REASON"), None);
    }

    #[test]
    fn command_mode_passes_argv_and_uses_stdin_handshake() {
        let p = pod("api").container("app").build();
        let s = Session {
            command: vec!["ss".into(), "-tlnp".into()],
            stdin: false,
            tty: false,
        };
        let mut d = dc(Profile::Netadmin);
        d.pull_policy = Some("IfNotPresent".into());
        let (c, _) = build_for(&p, &d, &s, None);
        assert_eq!(
            c["args"].as_array().unwrap()[1..],
            [json!("distroless-debug"), json!("ss"), json!("-tlnp")]
        );
        assert_eq!(c["tty"], false);
        assert_eq!(c["stdin"], true);
        assert_eq!(c["imagePullPolicy"], "IfNotPresent");
        assert!(
            c["env"]
                .as_array()
                .unwrap()
                .contains(&json!({"name": "DISTROLESS_DEBUG_HANDSHAKE", "value": "stdin"}))
        );
        assert_eq!(
            c["securityContext"],
            json!({"capabilities": {"add": ["NET_ADMIN", "NET_RAW"]}})
        );
    }

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
        // A generator stuck on a taken name gives up instead of looping forever.
        assert!(
            container_name(&p, None, |_| 0).is_err_and(|e| e.to_string().contains("debugger-*"))
        );
    }

    #[test]
    fn non_root_pod_gets_the_target_uid() {
        let p = pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_non_root: Some(true),
                ..Default::default()
            })
            .container_security(
                "app",
                SecurityContext {
                    run_as_user: Some(1001),
                    run_as_group: Some(2002),
                    ..Default::default()
                },
            )
            .build();
        let (c, notes) = build_for(&p, &dc(Profile::General), &shell(true), None);
        assert_eq!(c["securityContext"]["runAsUser"], 1001);
        assert_eq!(c["securityContext"]["runAsGroup"], 2002);
        assert!(notes[0].contains("UID 1001, the target container's"));
    }

    #[test]
    fn non_root_pod_with_pod_uid_inherits_it() {
        let p = pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_non_root: Some(true),
                run_as_user: Some(4000),
                ..Default::default()
            })
            .build();
        let (c, notes) = build_for(&p, &dc(Profile::Baseline), &shell(true), None);
        assert!(c.get("securityContext").is_none());
        assert!(notes[0].contains("UID 4000, from the pod's securityContext"));
    }

    #[test]
    fn non_root_without_known_uid_falls_back_to_65532() {
        let p = pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_non_root: Some(true),
                ..Default::default()
            })
            .build();
        let (c, notes) = build_for(&p, &dc(Profile::General), &shell(true), None);
        assert_eq!(c["securityContext"]["runAsUser"], 65532);
        assert_eq!(
            c["securityContext"]["capabilities"]["add"],
            json!(["SYS_PTRACE"])
        );
        assert!(notes[0].contains("65532"));
        assert_eq!(notes.len(), 2);
    }

    #[test]
    fn restricted_profile_on_a_root_pod_still_gets_a_uid() {
        let p = pod("api").container("app").build();
        let (c, notes) = build_for(&p, &dc(Profile::Restricted), &shell(true), None);
        assert_eq!(c["securityContext"]["runAsNonRoot"], true);
        assert_eq!(c["securityContext"]["runAsUser"], 65532);
        assert!(!notes.is_empty());
    }

    #[test]
    fn root_pod_keeps_root() {
        let p = pod("api").container("app").build();
        let (c, notes) = build_for(&p, &dc(Profile::Sysadmin), &shell(false), None);
        assert_eq!(c["securityContext"], json!({"privileged": true}));
        assert!(notes.is_empty());
    }

    #[test]
    fn custom_merges_on_top() {
        let p = pod("api").container("app").build();
        let custom = Custom::parse(
            "securityContext:\n  runAsUser: 1000\n  capabilities:\n    add: [NET_ADMIN]\nenv:\n- name: FOO\n  value: baz\n- name: NEW\n  value: x\nworkingDir: /tmp\n",
        )
        .unwrap();
        let (c, notes) = build_for(&p, &dc(Profile::General), &shell(true), Some(&custom));
        assert_eq!(
            c["securityContext"],
            json!({"runAsUser": 1000, "capabilities": {"add": ["NET_ADMIN"]}})
        );
        assert_eq!(c["workingDir"], "/tmp");
        let env = c["env"].as_array().unwrap();
        assert!(env.contains(&json!({"name": "FOO", "value": "baz"})));
        assert!(env.contains(&json!({"name": "NEW", "value": "x"})));
        assert_eq!(env.iter().filter(|e| e["name"] == "FOO").count(), 1);
        assert!(notes.is_empty());
    }

    #[test]
    fn custom_uid_wins_over_non_root_handling() {
        let p = pod("api")
            .container("app")
            .pod_security(PodSecurityContext {
                run_as_non_root: Some(true),
                ..Default::default()
            })
            .build();
        let custom = Custom::parse(r#"{"securityContext": {"runAsUser": 7}}"#).unwrap();
        let (c, notes) = build_for(&p, &dc(Profile::Baseline), &shell(true), Some(&custom));
        assert_eq!(c["securityContext"]["runAsUser"], 7);
        assert!(notes.is_empty());
    }

    #[test]
    fn custom_refusals() {
        for (text, want) in [
            (r#"{"name": "x"}"#, "may not set \"name\""),
            ("image: busybox", "may not set \"image\""),
            ("command: [sh]", "may not set \"command\""),
            ("args: [x]", "may not set \"args\""),
            ("[1, 2]", "expected an object"),
            ("{not json", "invalid JSON"),
            ("securityContext: [", "invalid YAML"),
            ("colour: red", "unknown or empty container field \"colour\""),
            (
                "securityContext: {runAsUser: abc}",
                "not a valid container spec",
            ),
        ] {
            let err = Custom::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn merge_semantics() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "volumeMounts": [{"mountPath": "/x", "name": "v"}]});
        merge(
            &mut base,
            &json!({"a": {"b": null, "d": 4}, "l": [3], "volumeMounts": [{"mountPath": "/x", "readOnly": true}, {"mountPath": "/y", "name": "w"}]}),
        );
        assert_eq!(
            base,
            json!({"a": {"c": 2, "d": 4}, "l": [3], "volumeMounts": [{"mountPath": "/x", "name": "v", "readOnly": true}, {"mountPath": "/y", "name": "w"}]})
        );
    }
}

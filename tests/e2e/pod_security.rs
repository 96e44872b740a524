//! Pod Security × profiles on the real cluster: three namespaces enforcing `privileged`,
//! `baseline` and `restricted`, a restricted-compliant target in each, and every profile run
//! with `-- id -u`. Each combination either works (the UID comes back, exit code 0) or is
//! refused by the API server, and the plugin names the level, the broken rules and a profile
//! that passes (exit code 1, nothing added to the pod).
//!
//! The observed table is written to `target/pod-security-table.md` (or under
//! `CARGO_TARGET_DIR`) and must be, byte for byte, the table in docs/security.md between its
//! `pod-security-table` markers: the documentation cannot drift from what the cluster does.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::harness::{Namespace, cluster, plugin_env, run_plugin, text};

const LEVELS: [&str; 3] = ["privileged", "baseline", "restricted"];
const PROFILES: [&str; 5] = ["general", "baseline", "restricted", "netadmin", "sysadmin"];

const BEGIN: &str = "<!-- pod-security-table: begin (written by tests/e2e/pod_security.rs) -->\n";
const END: &str = "<!-- pod-security-table: end -->\n";

/// What one plugin run showed, as a table cell.
fn observe(level: &str, profile: &str, ns: &str) -> String {
    let out = run_plugin(
        &[
            "-n",
            ns,
            "pod/app",
            "--profile",
            profile,
            "--new",
            "--",
            "id",
            "-u",
        ],
        &plugin_env(),
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    let what = format!("level {level}, profile {profile}:\nstdout:\n{stdout}\nstderr:\n{stderr}");
    if out.status.code() == Some(0) {
        let uid = stdout.trim();
        assert!(uid.parse::<u32>().is_ok(), "a UID on stdout; {what}");
        return format!("works (UID {uid})");
    }
    assert_eq!(out.status.code(), Some(1), "{what}");
    let head = format!(
        "error: Pod Security level \"{level}\" in namespace \"{ns}\" refused the debug container (profile {profile}): "
    );
    let rules = stderr
        .lines()
        .find_map(|l| l.strip_prefix(&head))
        .unwrap_or_else(|| panic!("names the level, the profile and the rules; {what}"));
    let hint = format!("hint: the namespace enforces Pod Security level \"{level}\"; --profile ");
    let passing = stderr
        .lines()
        .find_map(|l| l.strip_prefix(&hint))
        .and_then(|l| l.strip_suffix(" passes it"))
        .unwrap_or_else(|| panic!("names a profile that passes; {what}"));
    assert!(PROFILES.contains(&passing), "{what}");
    format!("refused: {rules} → `--profile {passing}`")
}

fn table(cells: &[Vec<String>]) -> String {
    let mut t = String::from("| Level ↓ / profile → |");
    for p in PROFILES {
        let _ = write!(t, " `{p}` |");
    }
    t.push_str("\n| --- |");
    for _ in PROFILES {
        t.push_str(" --- |");
    }
    t.push('\n');
    for (level, row) in LEVELS.iter().zip(cells) {
        let _ = write!(t, "| `{level}` |");
        for cell in row {
            let _ = write!(t, " {cell} |");
        }
        t.push('\n');
    }
    t
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"),
        PathBuf::from,
    )
}

#[test]
fn pod_security_levels_by_profile() {
    let namespaces: Vec<Namespace> = LEVELS
        .iter()
        .map(|l| Namespace::new(&format!("pss-{l}"), Some(l)))
        .collect();
    let c = cluster();
    for ns in &namespaces {
        c.apply(&crate::harness::target_pod_yaml(
            &ns.name,
            "app",
            &c.target_image,
            "",
        ));
    }
    for ns in &namespaces {
        c.wait_ready(&ns.name, "app");
    }

    // Every combination at once: one thread per run.
    let cells: Vec<Vec<String>> = std::thread::scope(|s| {
        let handles: Vec<Vec<_>> = LEVELS
            .iter()
            .zip(&namespaces)
            .map(|(level, ns)| {
                PROFILES
                    .iter()
                    .map(|profile| s.spawn(move || observe(level, profile, &ns.name)))
                    .collect()
            })
            .collect();
        handles
            .into_iter()
            .map(|row| row.into_iter().map(|h| h.join().expect("a run")).collect())
            .collect()
    });

    // A refused container was never added; every one that worked was.
    for ((level, ns), row) in LEVELS.iter().zip(&namespaces).zip(&cells) {
        let worked = row.iter().filter(|c| c.starts_with("works")).count();
        let added = c.pod_json(&ns.name, "app")["spec"]["ephemeralContainers"]
            .as_array()
            .map_or(0, Vec::len);
        assert_eq!(added, worked, "level {level}: containers in the pod spec");
    }
    // The levels are nested: what works in a stricter level works in a looser one.
    for p in 0..PROFILES.len() {
        for l in 1..LEVELS.len() {
            if cells[l][p].starts_with("works") {
                assert!(cells[l - 1][p].starts_with("works"), "{cells:?}");
            }
        }
    }
    assert!(cells[0].iter().all(|c| c.starts_with("works")), "{cells:?}");
    assert!(
        cells[2][2].starts_with("works"),
        "restricted passes restricted"
    );

    let observed = table(&cells);
    let dir = target_dir();
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join("pod-security-table.md");
    std::fs::write(&file, &observed).expect("write the observed table");

    let doc =
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/security.md"))
            .expect("docs/security.md");
    let documented = doc
        .split_once(BEGIN)
        .and_then(|(_, rest)| rest.split_once(END))
        .map(|(t, _)| t)
        .expect("docs/security.md has the pod-security-table markers");
    assert_eq!(
        documented,
        observed,
        "docs/security.md must show the observed table (copy it from {})",
        file.display()
    );
}

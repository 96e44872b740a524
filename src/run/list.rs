//! `kubectl distroless-debug list [TARGET | -l SELECTOR | -A]`: the debug containers made by
//! this tool, read from pod specs (their environment is the audit record; see `reuse`).
//! One GET for a pod, one LIST otherwise. Table or `-o json`.

use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use serde_json::{Value, json};

use crate::cli::options::Pods;
use crate::connect::Cluster;
use crate::error::{Error, fmt_duration};
use crate::model::Output;
use crate::output::Printer;
use crate::plan::records::{Record, age, records, ttl_left};

/// One row: a debug container in a pod.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) namespace: String,
    pub(crate) pod: String,
    pub(crate) record: Record,
}

/// The rows of one pod, in spec order: its debug containers, or, for a pod of ours (a copy, a
/// node pod), its toolbox. Pure.
pub(crate) fn rows_of(pod: &Pod) -> Vec<Row> {
    let namespace = pod.namespace().unwrap_or_default();
    let name = pod.name_any();
    records(pod)
        .into_iter()
        .chain(crate::plan::ours::record(pod))
        .map(|record| Row {
            namespace: namespace.clone(),
            pod: name.clone(),
            record,
        })
        .collect()
}

/// Rows in namespace, pod, spec order. Pure.
pub(crate) fn sorted(mut rows: Vec<Row>) -> Vec<Row> {
    rows.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
    rows
}

fn secs(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(d.as_secs()))
}

/// The `-o json` document. Pure.
pub(crate) fn document(rows: &[Row], now: Timestamp) -> Value {
    json!({
        "apiVersion": "distroless-debug/v1",
        "kind": "DebugContainerList",
        "items": rows.iter().map(|r| json!({
            "namespace": r.namespace,
            "pod": r.pod,
            "name": r.record.name,
            "image": r.record.image,
            "target": r.record.target,
            "profile": r.record.profile,
            "state": r.record.state.to_string(),
            "mode": mode(&r.record),
            "copyOf": r.record.copy_of,
            "keepAlive": r.record.keep_alive,
            "probe": r.record.probe,
            "startedAt": r.record.at,
            "ageSeconds": secs(age(&r.record, now)),
            "ttlSeconds": r.record.ttl_seconds,
            "ttlLeftSeconds": secs(ttl_left(&r.record, now)),
            "by": r.record.by,
            "reason": r.record.reason,
            "version": r.record.version,
        })).collect::<Vec<_>>(),
    })
}

/// What a row is: a pod of ours (`copy`, `node`), or an ephemeral container (`probe`,
/// `keep-alive`, `session`). Pure.
fn mode(rec: &Record) -> &'static str {
    match rec.made {
        Some(made) => made.name(),
        None if rec.probe => "probe",
        None if rec.keep_alive => "keep-alive",
        None => "session",
    }
}

/// The table, kubectl style (columns padded, `<none>` for missing values). Pure.
pub(crate) fn table(rows: &[Row], now: Timestamp, with_namespace: bool) -> String {
    let dash = |s: Option<&str>| s.filter(|s| !s.is_empty()).unwrap_or("<none>").to_owned();
    let mut lines: Vec<Vec<String>> = vec![
        [
            "NAMESPACE",
            "POD",
            "NAME",
            "IMAGE",
            "PROFILE",
            "MODE",
            "STATE",
            "AGE",
            "TTL-LEFT",
            "BY",
            "REASON",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect(),
    ];
    for r in rows {
        let rec = &r.record;
        lines.push(vec![
            r.namespace.clone(),
            r.pod.clone(),
            rec.name.clone(),
            rec.image.clone(),
            dash(rec.profile.as_deref()),
            mode(rec).to_owned(),
            rec.state.to_string(),
            age(rec, now).map_or_else(|| "<unknown>".to_owned(), fmt_duration),
            ttl_left(rec, now).map_or_else(|| "-".to_owned(), fmt_duration),
            dash(rec.by.as_deref()),
            dash(rec.reason.as_deref()),
        ]);
    }
    if !with_namespace {
        for l in &mut lines {
            l.remove(0);
        }
    }
    let cols = lines[0].len();
    let widths: Vec<usize> = (0..cols)
        .map(|i| {
            lines
                .iter()
                .map(|l| l[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for l in &lines {
        let mut line = String::new();
        for (i, cell) in l.iter().enumerate() {
            if i + 1 == cols {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}   ", w = widths[i]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The rows of the pods to read: a TARGET's (every pod of a workload), the selector's or the
/// namespace's. Each LIST page is reduced to its rows as it arrives.
async fn read_rows(cluster: &Cluster, pods: &Pods) -> Result<Vec<Row>, Error> {
    let mut all = Vec::new();
    for found in crate::run::resolve::resolve(cluster, pods, false, |p| rows_of(&p)).await {
        all.extend(found.pods?.into_iter().flatten());
    }
    Ok(sorted(all))
}

/// Prints the debug containers; exit code 0 (also when there are none).
pub(crate) async fn run(
    cluster: &Cluster,
    which: &Pods,
    output: Output,
    printer: &Printer,
) -> Result<u8, Error> {
    let rows = read_rows(cluster, which).await?;
    let now = Timestamp::now();
    match output {
        Output::Json => {
            let mut text = serde_json::to_string_pretty(&document(&rows, now)).unwrap_or_default();
            text.push('\n');
            printer.data(text.as_bytes());
        }
        Output::Jsonl => {
            if let Value::Array(items) = &document(&rows, now)["items"] {
                for item in items {
                    printer.data(format!("{item}\n").as_bytes());
                }
            }
        }
        Output::Text => {
            if rows.is_empty() {
                printer.status("No debug containers found.");
            } else {
                printer.data(table(&rows, now, which.all_namespaces()).as_bytes());
            }
        }
    }
    Ok(0)
}

/// `list --gc` as `options` ask for it (the entry point the fake API server's tests use).
pub async fn collect(
    cluster: &Cluster,
    options: &crate::cli::options::Options,
    printer: &Printer,
) -> Result<u8, Error> {
    match &options.run {
        crate::cli::options::Run::Gc(pods) => gc(cluster, pods, options.output, printer).await,
        other => Err(Error::Internal(format!("not list --gc: {other:?}"))),
    }
}

/// What `--gc` deleted, or could not.
#[derive(Debug, Clone)]
pub(crate) struct Collected {
    pub(crate) namespace: String,
    pub(crate) pod: String,
    pub(crate) mode: &'static str,
    pub(crate) why: String,
    pub(crate) error: Option<String>,
}

/// `list --gc`: one LIST of our pods (by their label, with `-l` added; `-A` across
/// namespaces), and a DELETE of each one that is done ([`crate::plan::ours::done`]): its time
/// to live passed, its session ended, it ended. Says what it deleted and why (stdout), and how
/// many live ones it left (stderr). Exit code 0, or 1 when a deletion failed.
pub(crate) async fn gc(
    cluster: &Cluster,
    which: &Pods,
    output: Output,
    printer: &Printer,
) -> Result<u8, Error> {
    let (selector, all_namespaces) = match which {
        Pods::Selector {
            selector,
            all_namespaces,
        } => (
            format!("{},{selector}", crate::plan::ours::selector()),
            *all_namespaces,
        ),
        Pods::All { all_namespaces } => (crate::plan::ours::selector(), *all_namespaces),
        Pods::Targets { .. } => {
            return Err(Error::Usage(
                "list --gc takes no TARGET: it looks at every pod of ours in the namespace (-l narrows it)".to_owned(),
            ));
        }
    };
    let now = Timestamp::now();
    let found = crate::api::pods::list_pods(cluster, Some(&selector), all_namespaces, |p| {
        let done = crate::plan::ours::done(&p, now);
        (
            p.namespace().unwrap_or_default(),
            p.name_any(),
            crate::plan::ours::made(&p).map_or("", crate::plan::ours::Made::name),
            done,
            p.metadata.deletion_timestamp.is_some(),
        )
    })
    .await?;
    // Pods already being deleted are neither collected nor live.
    let live = found.iter().filter(|f| f.3.is_none() && !f.4).count();
    let deletions = found
        .into_iter()
        .filter_map(|(namespace, pod, mode, done, _)| done.map(|why| (namespace, pod, mode, why)))
        .map(|(namespace, pod, mode, why)| async move {
            let error = crate::api::pods::delete_pod(cluster, Some(&namespace), &pod)
                .await
                .err()
                .map(|e| e.to_string());
            Collected {
                namespace,
                pod,
                mode,
                why,
                error,
            }
        });
    let mut collected = futures::future::join_all(deletions).await;
    collected.sort_by(|a, b| (&a.namespace, &a.pod).cmp(&(&b.namespace, &b.pod)));
    let failed = collected.iter().filter(|c| c.error.is_some()).count();
    match output {
        Output::Json | Output::Jsonl => {
            let items: Vec<Value> = collected
                .iter()
                .map(|c| {
                    json!({
                        "namespace": c.namespace,
                        "pod": c.pod,
                        "mode": c.mode,
                        "why": c.why,
                        "deleted": c.error.is_none(),
                        "error": c.error,
                    })
                })
                .collect();
            if output == Output::Json {
                let doc = json!({
                    "apiVersion": "distroless-debug/v1",
                    "kind": "Collected",
                    "items": items,
                    "live": live,
                });
                let mut text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                text.push('\n');
                printer.data(text.as_bytes());
            } else {
                for item in items {
                    printer.data(format!("{item}\n").as_bytes());
                }
            }
        }
        Output::Text => {
            for c in &collected {
                match &c.error {
                    None => printer.data(
                        format!(
                            "deleted pod {}/{} ({}): {}\n",
                            c.namespace, c.pod, c.mode, c.why
                        )
                        .as_bytes(),
                    ),
                    Some(e) => printer.warn(&format!(
                        "could not delete pod {}/{} ({}): {e}",
                        c.namespace, c.pod, c.why
                    )),
                }
            }
            if collected.is_empty() {
                printer.status("Nothing to clean up.");
            }
        }
    }
    if live > 0 {
        printer.status(&format!(
            "{live} pod{} of ours still in use (a session, or --keep within its time to live): 'kubectl distroless-debug list' shows {}",
            if live == 1 { "" } else { "s" },
            if live == 1 { "it" } else { "them" }
        ));
    }
    Ok(if failed > 0 {
        crate::error::EXIT_FAILURE
    } else {
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::records::State;

    fn row(ns: &str, pod: &str, name: &str) -> Row {
        Row {
            namespace: ns.into(),
            pod: pod.into(),
            record: Record {
                name: name.into(),
                image: "toolbox:1".into(),
                target: Some("app".into()),
                profile: Some("general".into()),
                version: Some("0.1.0".into()),
                by: Some("alice".into()),
                at: Some("2026-01-02T03:00:00Z".into()),
                reason: None,
                ttl_seconds: Some(3600),
                keep_alive: true,
                probe: false,
                spec: Some("s1".into()),
                state: State::Running,
                started_at: Some("2026-01-02T03:00:00Z".into()),
                made: None,
                copy_of: None,
            },
        }
    }

    #[test]
    fn table_and_json() {
        let now: Timestamp = "2026-01-02T03:10:00Z".parse().unwrap();
        let rows = vec![row("ns", "api", "debugger-aaaaa")];
        let t = table(&rows, now, false);
        let mut lines = t.lines();
        let header = lines.next().unwrap();
        assert!(header.starts_with("POD "));
        assert!(
            header.contains(" BY ") && header.ends_with("REASON"),
            "{header}"
        );
        let line = lines.next().unwrap();
        for cell in [
            "api",
            "debugger-aaaaa",
            "toolbox:1",
            "general",
            "keep-alive",
            "Running",
            "10m",
            "50m",
            "alice",
            "<none>",
        ] {
            assert!(line.contains(cell), "{line}");
        }
        assert!(table(&rows, now, true).starts_with("NAMESPACE"));
        let d = document(&rows, now);
        assert_eq!(d["items"][0]["ttlLeftSeconds"], 3000);
        assert_eq!(d["items"][0]["ageSeconds"], 600);
        assert_eq!(d["items"][0]["state"], "Running");
        assert_eq!(d["items"][0]["reason"], Value::Null);
    }
}

//! One COMMAND in many pods: several TARGETs, `-l SELECTOR`, or a workload with `--all-pods`.
//!
//! Speed: one LIST for a selector (or per workload), one SelfSubjectReview for the audit
//! record, then per pod, `--max-parallel` at a time over one shared client: the pod read with
//! the field-selected watch that later waits for its debug container, reuse or inject, exec.
//! A shared namespace watch would need its own fan-in and buys little when the kubelet's
//! container start dominates.
//!
//! Memory: the LIST is read a page at a time and only each pod's name is kept; a pod is read
//! again at its turn, so at most `--max-parallel` pods are in memory, whatever their number and
//! the size of their specs. Output is kept per pod only until it is reported (`-o json`: until
//! the end).
//!
//! A pod that fails is reported and never stops the others. Results stream as pods finish:
//! text lines prefixed like `kubectl logs --prefix` (`[pod/NAME/CONTAINER] line`), stdout to
//! stdout and stderr to stderr; `-o jsonl` one object per pod; `-o json` one document at the
//! end, pods sorted. The exit code follows [`exit_code`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;

use kube::ResourceExt;

use crate::cli::options::{Nodes, Options, Pods, Run};
use crate::connect::Cluster;
use crate::error::Error;
use crate::model::Output;
use crate::output::Printer;
use crate::plan::audit::Audit;
use crate::plan::custom::Custom;
use crate::run::ours::Leftovers;
use crate::run::report::{self, Failure, PodOutcome, Sink, document, exit_code, prefix, summary};
use crate::session::streams::Io;
use crate::session::streams::StdinSource;
use crate::session::{self};

/// A pod to work on, by name (read at its turn), a node, or a TARGET that could not be
/// resolved.
pub(crate) enum Work {
    Pod {
        name: String,
        /// The target container asked for, if any.
        target: Option<String>,
    },
    /// Node debugging: a pod of ours on it.
    Node {
        name: String,
    },
    Failed {
        name: String,
        error: Error,
    },
}

impl Work {
    fn name(&self) -> &str {
        match self {
            Work::Pod { name, .. } | Work::Node { name } | Work::Failed { name, .. } => name,
        }
    }
}

/// What a run over many pods keeps of a listed pod.
struct Listed {
    name: String,
    running: bool,
}

/// The pods to work on, and how many listed pods were skipped as not running: every TARGET
/// resolved at once, or one LIST. A TARGET that cannot be resolved is a failed pod of the
/// report; a TARGET's own pod is taken as it is (its state is reported by `prepare`).
async fn select(
    cluster: &Cluster,
    options: &Options,
    pods: &Pods,
) -> Result<(Vec<Work>, usize), Error> {
    let mut work = Vec::new();
    let mut skipped = 0;
    let mut seen = std::collections::HashSet::new();
    // A copy is for pods that do not run: every pod not being deleted is taken.
    let copy = matches!(options.run, Run::Copy { .. });
    let keep = |p: Pod| Listed {
        running: if copy {
            p.metadata.deletion_timestamp.is_none()
        } else {
            crate::plan::target::is_running(&p)
        },
        name: p.name_any(),
    };
    for found in crate::run::resolve::resolve(cluster, pods, copy, keep).await {
        let container = match &found.target {
            Some(t) => options.container_for(t),
            None => options.target_container.clone(),
        };
        let listed = match found.pods {
            Ok(listed) => listed,
            // A selector's LIST failing fails the run; a TARGET's is one failed pod.
            Err(error) => match found.target {
                None => return Err(error),
                Some(t) => {
                    if seen.insert(format!("\0{}", t.name)) {
                        work.push(Work::Failed {
                            name: t.name,
                            error,
                        });
                    }
                    continue;
                }
            },
        };
        for pod in listed {
            if found.listed && !pod.running {
                skipped += 1;
            } else if seen.insert(pod.name.clone()) {
                work.push(Work::Pod {
                    name: pod.name,
                    target: container.clone(),
                });
            }
        }
    }
    if work.is_empty() {
        return Err(Error::NoPods {
            what: match pods {
                Pods::Selector { selector, .. } => {
                    format!("-l {selector} in namespace {:?}", cluster.namespace)
                }
                _ => "the workloads given".to_owned(),
            },
        });
    }
    Ok((work, skipped))
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// Everything before the session in one pod or node, as the run's mode does it: reuse or add
/// an ephemeral container, create a copy ([`crate::run::copy`]), or a node pod
/// ([`crate::run::node`]). Pods of ours are among `leftovers`.
#[allow(clippy::too_many_arguments)]
async fn prepare(
    cluster: &Cluster,
    options: &Options,
    custom: Option<&Custom>,
    audit: &Audit,
    leftovers: &Leftovers,
    quiet: &Printer,
    name: &str,
    target: Option<&str>,
    node: bool,
) -> Result<crate::run::prepare::Prepared, Error> {
    if node {
        return Box::pin(crate::run::node::prepare_on(
            cluster, name, options, custom, audit, leftovers, quiet,
        ))
        .await;
    }
    if matches!(options.run, Run::Copy { .. }) {
        let pod = crate::api::pods::get_pod(cluster, name).await?;
        return Box::pin(crate::run::copy::prepare_in(
            cluster, &pod, target, options, custom, audit, None, leftovers, quiet,
        ))
        .await;
    }
    // Read at its turn: fresh (a long run's LIST is old by then), and only the pods in flight
    // are in memory.
    let (pod, watch) = crate::run::resolve::read_pod(cluster, name).await?;
    Box::pin(crate::run::prepare::prepare_in(
        cluster,
        crate::run::prepare::PodRead { pod: &pod, watch },
        target,
        options,
        custom,
        audit,
        None,
        quiet,
    ))
    .await
}

#[allow(clippy::too_many_arguments)]
async fn one(
    cluster: &Cluster,
    options: &Options,
    custom: Option<&Custom>,
    audit: &Audit,
    leftovers: &Leftovers,
    printer: &Printer,
    input: Option<Arc<Vec<u8>>>,
    work: Work,
) -> PodOutcome {
    let t0 = Instant::now();
    let mut out = PodOutcome {
        namespace: cluster.namespace.clone(),
        started_at: k8s_openapi::jiff::Timestamp::now().to_string(),
        ..PodOutcome::default()
    };
    let (name, target, node) = match work {
        Work::Pod { name, target } => (name, target, false),
        Work::Node { name } => (name, None, true),
        Work::Failed { name, error } => {
            out.pod = name;
            out.error = Some(Failure::from_error(&error));
            return out;
        }
    };
    if node {
        out.node = Some(name.clone());
    }
    out.pod = name;
    let quiet = printer.quieted();
    let prepared = prepare(
        cluster,
        options,
        custom,
        audit,
        leftovers,
        &quiet,
        &out.pod,
        target.as_deref(),
        node,
    )
    .await;
    out.prepare_ms = ms(t0.elapsed());
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => {
            out.error = Some(Failure::from_error(&e));
            out.container = target;
            out.total_ms = ms(t0.elapsed());
            // A pod of ours made before the failure is deleted at the end of the run.
            return out;
        }
    };
    if node {
        out.pod.clone_from(&prepared.pod);
    } else {
        out.container = Some(prepared.target.clone());
    }
    if matches!(options.run, Run::Copy { .. }) {
        out.copy = Some(prepared.pod.clone());
    }
    out.debug_container = Some(prepared.container.clone());
    out.reused = Some(prepared.reused);

    let text = options.output == Output::Text;
    let pfx = text.then(|| match &out.node {
        Some(n) => format!("[node/{n}]"),
        None => prefix(&out.pod, Some(&prepared.target)),
    });
    let stdout_buf = Arc::new(Mutex::new(Vec::new()));
    let stderr_buf = Arc::new(Mutex::new(Vec::new()));
    let sink = |to_stderr, captured: &Arc<Mutex<Vec<u8>>>| Sink {
        printer: printer.clone(),
        prefix: pfx.clone(),
        to_stderr,
        captured: captured.clone(),
        pending: Vec::new(),
    };
    // The input read once, sent to every pod; the channel closes after it (EOF).
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    if let Some(bytes) = &input {
        let _ = tx.try_send(bytes.as_ref().clone());
    }
    drop(tx);
    let stdin = StdinSource::Channel(rx);
    let io = Io {
        stdout: sink(false, &stdout_buf),
        stderr: sink(true, &stderr_buf),
        stdin,
        size: None,
        follow_resize: false,
    };
    let session_id = crate::plan::names::session_id(|n| rand::random_range(0..n));
    let plan = session::Plan {
        pod: &prepared.pod,
        container: &prepared.container,
        command: &options.session.command,
        tty: false,
        stdin: input.is_some(),
        target_runtime_id: prepared.target_runtime_id.as_deref(),
        session_id: &session_id,
        ends_container: prepared.ends_with_session,
    };
    let t1 = Instant::now();
    match session::run(cluster, &plan, io, &quiet).await {
        Ok(code) => out.exit_code = Some(code),
        Err(e) => out.error = Some(Failure::from_error(&e)),
    }
    out.exec_ms = ms(t1.elapsed());
    if !options.keep && (node || out.copy.is_some()) {
        leftovers.delete(cluster, &prepared.pod, &quiet).await;
    }
    out.total_ms = ms(t0.elapsed());
    out.stdout = std::mem::take(
        &mut *stdout_buf
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    out.stderr = std::mem::take(
        &mut *stderr_buf
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    out
}

/// Runs the command in every selected pod; returns the exit code (see [`exit_code`]).
pub(crate) async fn run(
    cluster: &Cluster,
    options: &Options,
    pods: &Pods,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<u8, Error> {
    let (work, skipped) = select(cluster, options, pods).await?;
    run_on(cluster, options, work, skipped, custom, printer).await
}

/// Runs the command on every node named or selected (`--nodes -l`: one LIST of nodes), each in
/// a pod of ours ([`crate::run::node`]).
pub(crate) async fn run_nodes(
    cluster: &Cluster,
    options: &Options,
    nodes: &Nodes,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<u8, Error> {
    let names = match nodes {
        Nodes::Named(names) => {
            let mut seen = std::collections::HashSet::new();
            names
                .iter()
                .filter(|n| seen.insert(n.as_str()))
                .cloned()
                .collect()
        }
        Nodes::Selector(selector) => {
            let names = crate::api::nodes::node_names(cluster, selector).await?;
            if names.is_empty() {
                return Err(Error::NoNodes {
                    selector: selector.clone(),
                });
            }
            names
        }
    };
    let work = names.into_iter().map(|name| Work::Node { name }).collect();
    run_on(cluster, options, work, 0, custom, printer).await
}

/// Runs the command in every pod or node of `work` (`skipped`: listed pods left out as not
/// running); returns the exit code (see [`exit_code`]).
async fn run_on(
    cluster: &Cluster,
    options: &Options,
    work: Vec<Work>,
    skipped: usize,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<u8, Error> {
    let t0 = Instant::now();
    let reviewed = crate::api::reviews::who_am_i(cluster).await;
    if skipped > 0 {
        printer.status(&format!(
            "skipping {skipped} pod{} that {} not running",
            if skipped == 1 { "" } else { "s" },
            if skipped == 1 { "is" } else { "are" }
        ));
    }
    let audit = crate::plan::audit::record(
        reviewed,
        cluster.user.as_deref(),
        options.reason.as_deref(),
        options.ttl,
        k8s_openapi::jiff::Timestamp::now(),
    );
    let input = if options.session.stdin {
        let read = tokio::task::spawn_blocking(|| {
            let mut buf = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut buf).map(|_| buf)
        })
        .await
        .map_err(|e| Error::Io {
            context: "cannot read stdin",
            source: std::io::Error::other(e),
        })?
        .map_err(|source| Error::Io {
            context: "cannot read stdin",
            source,
        })?;
        Some(Arc::new(read))
    } else {
        None
    };
    let names: Vec<String> = work.iter().map(|w| w.name().to_owned()).collect();
    let nodes = work.iter().any(|w| matches!(w, Work::Node { .. }));
    printer.status(&format!(
        "Running in {} {}{}, {} at a time",
        names.len(),
        if nodes { "node" } else { "pod" },
        if names.len() == 1 { "" } else { "s" },
        options.max_parallel.min(names.len())
    ));

    let leftovers = Leftovers::default();
    let mut stream = futures::stream::iter(work)
        .map(|w| {
            one(
                cluster,
                options,
                custom,
                &audit,
                &leftovers,
                printer,
                input.clone(),
                w,
            )
        })
        .buffer_unordered(options.max_parallel);
    let mut outcomes: Vec<PodOutcome> = Vec::with_capacity(names.len());
    // SIGINT (Ctrl-C), SIGTERM or SIGHUP: every pod not done yet is reported as interrupted.
    let mut interrupted: Option<Error> = None;
    let signalled = crate::session::signals::termination();
    tokio::pin!(signalled);
    loop {
        tokio::select! {
            next = stream.next() => {
                let Some(mut o) = next else { break };
                report::report(printer, options.output, &o);
                if options.output != Output::Json {
                    // Written already; only -o json prints it again, at the end.
                    o.stdout = Vec::new();
                    o.stderr = Vec::new();
                }
                outcomes.push(o);
            }
            e = &mut signalled => {
                interrupted = Some(match e {
                    Error::Signal { number: 2, .. } => Error::Interrupted,
                    e => e,
                });
                break;
            }
        }
    }
    drop(stream);
    // Pods of ours whose work was cut short by a signal.
    if options.keep {
        leftovers.keep(printer, options.ttl);
    } else {
        leftovers.delete_all(cluster, printer).await;
    }
    if interrupted.is_some() {
        let done: std::collections::HashSet<String> = outcomes
            .iter()
            .map(|o| o.node.clone().unwrap_or_else(|| o.pod.clone()))
            .collect();
        for name in names {
            if !done.contains(&name) {
                let o = PodOutcome {
                    namespace: cluster.namespace.clone(),
                    node: nodes.then(|| name.clone()),
                    pod: name,
                    error: Some(Failure::from_error(&Error::Interrupted)),
                    ..PodOutcome::default()
                };
                report::report(printer, options.output, &o);
                outcomes.push(o);
            }
        }
    }
    let elapsed = t0.elapsed();
    if options.output == Output::Json {
        let mut text =
            serde_json::to_string_pretty(&document(&outcomes, elapsed)).unwrap_or_default();
        text.push('\n');
        printer.data(text.as_bytes());
    }
    printer.status(&summary(&outcomes, elapsed));
    if let Some(e) = interrupted {
        return Err(e);
    }
    Ok(exit_code(&outcomes))
}

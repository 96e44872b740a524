//! `cp`: the debug container as for a command (a kept one reused, else one added, kept, with
//! its audit record and TTL), then the copy through exec ([`crate::session::cp`]).

use crate::cli::cp::{Cp, Direction, Local, last_component};
use crate::cli::options::Options;
use crate::connect::Cluster;
use crate::error::{Error, InPod};
use crate::output::Printer;
use crate::plan::custom::Custom;
use crate::session::cp::{Job, Source};

/// This machine's side, checked before anything is asked of the pod.
enum Side {
    Files(crate::session::local::FileSink),
    Archive,
    /// A local path to send, its bytes, and the name it takes in a directory.
    Walk(crate::session::local::Walk, u64, String),
    FromStdin,
}

/// Copies out of or into the target of `cp`; 0 when every byte arrived and matched.
pub(crate) async fn run(
    cluster: &Cluster,
    options: &Options,
    cp: &Cp,
    custom: Option<&Custom>,
    printer: &Printer,
) -> Result<u8, Error> {
    let run_id = crate::plan::names::session_id(|n| rand::random_range(0..n));
    let side =
        match (cp.direction, &cp.local) {
            (Direction::Get, Local::Path(path)) => Side::Files(
                crate::session::local::FileSink::new(path, last_component(&cp.remote), &run_id)?,
            ),
            (Direction::Get, Local::Stdio) => Side::Archive,
            (Direction::Put, Local::Path(path)) => {
                let walk = crate::session::local::Walk::new(path);
                let (total, _) = walk.total()?;
                let name = path
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Side::Walk(walk, total, name)
            }
            (Direction::Put, Local::Stdio) => Side::FromStdin,
        };
    let prepared =
        crate::run::prepare::prepare(cluster, options, &cp.target, custom, printer).await?;
    let job = Job {
        pod: &prepared.pod,
        container: &prepared.container,
        image: &options.container.image,
        at: InPod {
            pod: prepared.pod.clone(),
            container: prepared.target.clone(),
        },
        target_runtime_id: prepared.target_runtime_id.as_deref(),
        run_id: &run_id,
        remote: &cp.remote,
    };
    let in_pod = |path: &str| format!("pod/{}/{}:{path}", prepared.pod, prepared.target);
    let (done, from, to) = match side {
        Side::Files(sink) => {
            let to = sink.root().display().to_string();
            let done = crate::session::cp::get(cluster, &job, Box::new(sink), printer).await?;
            (done, in_pod(&cp.remote), to)
        }
        Side::Archive => {
            let sink = crate::session::archive::TarSink::new(
                printer.data_writer(),
                last_component(&cp.remote),
            );
            let done = crate::session::cp::get(cluster, &job, Box::new(sink), printer).await?;
            (done, in_pod(&cp.remote), "stdout (tar)".to_owned())
        }
        Side::Walk(walk, total, name) => {
            let from = walk.root().display().to_string();
            let source: Source = Box::new(move |feeder| walk.feed(feeder));
            let done =
                crate::session::cp::put(cluster, &job, &name, Some(total), source, printer).await?;
            let to = in_pod(&done.remote_dest);
            (done, from, to)
        }
        Side::FromStdin => {
            let source: Source =
                Box::new(|feeder| crate::session::archive::feed(std::io::stdin().lock(), feeder));
            let done = crate::session::cp::put(cluster, &job, "", None, source, printer).await?;
            let to = in_pod(&done.remote_dest);
            (done, "stdin (tar)".to_owned(), to)
        }
    };
    for note in &done.notes {
        printer.warn(note);
    }
    printer.status(&format!(
        "Copied {from} to {to}: {}, SHA-256 checked",
        crate::plan::cp::summary(done.files, done.bytes, done.elapsed)
    ));
    Ok(0)
}

//! The orchestration of a run: the single session, many pods, a copy, a node, `list` and
//! `--gc`, `cp`, completion.

use crate::cli::options::{Nodes, Options, Pods, Run};
use crate::error::Error;
use crate::output::Printer;
use crate::plan::custom::Custom;

pub(crate) mod complete;
pub(crate) mod copy;
pub(crate) mod cp;
pub(crate) mod fanout;
pub(crate) mod list;
pub(crate) mod node;
pub(crate) mod one;
pub(crate) mod ours;
pub(crate) mod prepare;
pub(crate) mod report;
pub(crate) mod resolve;
pub(crate) mod wait;

/// Reads and checks `--custom` (before any API call: a bad file is a usage error).
pub(crate) fn load_custom(options: &Options) -> Result<Option<Custom>, Error> {
    let Some(path) = &options.container.custom else {
        return Ok(None);
    };
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| Error::Custom {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    Custom::parse(&text)
        .map(Some)
        .map_err(|reason| Error::Custom {
            path: shown,
            reason,
        })
}

/// Runs one session, or a command in many pods, or `list`; returns the exit code.
///
/// From here on a panic restores the terminal and ends the process (exit code 101), and
/// SIGTERM, SIGHUP and SIGINT end a single-pod run at any step with 128+N: the work in flight is
/// dropped (which drops the raw-mode guard and closes the session's connections, which ends the
/// session in the container) and the error printed in cooked mode.
pub async fn run(options: Options, printer: &Printer) -> Result<u8, Error> {
    crate::session::tty::install_panic_hook();
    for w in &options.warnings {
        printer.warn(w);
    }
    let target = match &options.run {
        Run::List(pods) => {
            let cluster = crate::connect::connect(&options.connection).await?;
            return list::run(&cluster, pods, options.output, printer).await;
        }
        Run::Gc(pods) => {
            let cluster = crate::connect::connect(&options.connection).await?;
            return list::gc(&cluster, pods, options.output, printer).await;
        }
        Run::Copy { pods, many } => {
            let custom = load_custom(&options)?;
            let cluster = crate::connect::connect(&options.connection).await?;
            return match pods {
                Pods::Targets { targets, .. } if !many && targets.len() == 1 => {
                    copy::run(&cluster, &options, &targets[0], custom.as_ref(), printer).await
                }
                pods => fanout::run(&cluster, &options, pods, custom.as_ref(), printer).await,
            };
        }
        Run::Node { nodes, many } => {
            let custom = load_custom(&options)?;
            let cluster = crate::connect::connect(&options.connection).await?;
            let options = node::session_options(&options);
            return match nodes {
                Nodes::Named(names) if !many && names.len() == 1 => {
                    node::run(&cluster, &options, &names[0], custom.as_ref(), printer).await
                }
                nodes => {
                    fanout::run_nodes(&cluster, &options, nodes, custom.as_ref(), printer).await
                }
            };
        }
        Run::Many(pods) => {
            let custom = load_custom(&options)?;
            let cluster = crate::connect::connect(&options.connection).await?;
            return fanout::run(&cluster, &options, pods, custom.as_ref(), printer).await;
        }
        Run::Cp(cp) => {
            let custom = load_custom(&options)?;
            let cluster = crate::connect::connect(&options.connection).await?;
            return tokio::select! {
                r = cp::run(&cluster, &options, cp, custom.as_ref(), printer) => r,
                e = crate::session::signals::termination() => Err(before_session(e)),
            };
        }
        Run::One(target) => target,
    };
    let custom = load_custom(&options)?;
    let cluster = crate::connect::connect(&options.connection).await?;
    let prepared = tokio::select! {
        r = prepare::prepare(&cluster, &options, target, custom.as_ref(), printer) => r?,
        e = crate::session::signals::termination() => return Err(before_session(e)),
    };
    tokio::select! {
        r = one::session_for(&cluster, &options, &prepared, printer) => r,
        e = crate::session::signals::termination() => Err(e),
    }
}

/// A signal before the session: Ctrl-C is "interrupted" (130), others keep their name.
pub(crate) fn before_session(e: Error) -> Error {
    match e {
        Error::Signal { number: 2, .. } => Error::Interrupted,
        e => e,
    }
}

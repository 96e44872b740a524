//! One session on this process's terminal.

use crate::cli::options::Options;
use crate::connect::Cluster;
use crate::error::Error;
use crate::output::Printer;
use crate::run::prepare::Prepared;

/// The session in a prepared debug container, on this process's terminal.
pub(crate) async fn session_for(
    cluster: &Cluster,
    options: &Options,
    prepared: &Prepared,
    printer: &Printer,
) -> Result<u8, Error> {
    let session_id = crate::plan::names::session_id(|n| rand::random_range(0..n));
    let plan = crate::session::exec::Plan {
        pod: &prepared.pod,
        container: &prepared.container,
        command: &options.session.command,
        tty: options.session.tty,
        stdin: options.session.stdin,
        target_runtime_id: prepared.target_runtime_id.as_deref(),
        session_id: &session_id,
        ends_container: prepared.ends_with_session,
    };
    let (stdout, stderr) = printer.session_streams();
    let io = crate::session::streams::Io {
        stdout,
        stderr,
        stdin: crate::session::StdinSource::Process,
        size: if plan.tty {
            crate::session::resize::current()
        } else {
            None
        },
        follow_resize: plan.tty,
    };
    let code = crate::session::run(cluster, &plan, io, printer).await?;
    if let Some(note) = crate::session::exec::signal_note(code) {
        // A signal: maybe the pod went away under the session, which deserves its own words.
        // One GET, on this path only.
        let pod = match crate::api::pods::get_pod(cluster, &prepared.pod).await {
            Ok(p) => Some(p),
            Err(Error::PodNotFound { .. }) => None,
            Err(_) => return Ok(crate::session::exec::exit_code_from(code)),
        };
        if crate::plan::target::is_gone(pod.as_ref()) {
            return Err(Error::PodDeleted {
                pod: prepared.pod.clone(),
            });
        }
        if options.session.is_shell() {
            printer.status(&format!("the shell ended with exit code {code} ({note})"));
        }
    }
    Ok(crate::session::exec::exit_code_from(code))
}

//! A pod of ours (a copy, a node pod): created with its refusal explained, waited for until its
//! toolbox (and a copy's held container) runs, deleted when the session ends. Shared by
//! [`crate::run::copy`] and [`crate::run::node`].
//!
//! Deletion is the client's courtesy; the deadline is the guarantee: every pod of ours has
//! `activeDeadlineSeconds`, so the kubelet ends it even when the plugin is killed (SIGKILL), and
//! `list --gc` deletes what is left.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::core::v1::Pod;
use kube::ResourceExt;

use crate::connect::Cluster;
use crate::error::Error;
use crate::model::Profile;
use crate::output::Printer;
use crate::plan::ours::start_fix;
use crate::plan::progress::{PodProgress, pod_progress, role, stuck_init};
use crate::plan::refusal::Created;

/// How long deleting a pod of ours may take before the plugin goes on without it.
const DELETE_BOUND: Duration = Duration::from_secs(10);

/// The pods of ours created and not deleted yet, deleted on the way out whatever ends the run
/// (an error, Ctrl-C, SIGTERM); a SIGKILL leaves them to their deadline.
#[derive(Debug, Clone, Default)]
pub(crate) struct Leftovers(Arc<Mutex<Vec<String>>>);

impl Leftovers {
    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn add(&self, name: &str) {
        self.lock().push(name.to_owned());
    }

    /// Deletes pod `name` if it is still ours to delete; says so unless it fails (a warning).
    pub(crate) async fn delete(&self, cluster: &Cluster, name: &str, printer: &Printer) {
        let had = {
            let mut all = self.lock();
            let before = all.len();
            all.retain(|n| n != name);
            all.len() != before
        };
        if had {
            delete(cluster, name, printer).await;
        }
    }

    /// Deletes every pod left, at once.
    pub(crate) async fn delete_all(&self, cluster: &Cluster, printer: &Printer) {
        let names = std::mem::take(&mut *self.lock());
        futures::future::join_all(names.iter().map(|n| delete(cluster, n, printer))).await;
    }

    /// Forgets them (`--keep`): they end at their deadline.
    pub(crate) fn keep(&self, printer: &Printer, ttl: Duration) {
        for name in std::mem::take(&mut *self.lock()) {
            printer.status(&format!(
                "Left pod {name} (--keep): it ends by itself in at most {} (activeDeadlineSeconds); 'kubectl distroless-debug list' shows it",
                crate::error::fmt_duration(ttl)
            ));
        }
    }
}

async fn delete(cluster: &Cluster, name: &str, printer: &Printer) {
    match tokio::time::timeout(
        DELETE_BOUND,
        crate::api::pods::delete_pod(cluster, None, name),
    )
    .await
    {
        Ok(Ok(())) => printer.status(&format!("Deleted pod {name}")),
        Ok(Err(e)) => printer.warn(&format!(
            "could not delete pod {name}: {e}; it ends by itself at its deadline, and 'kubectl distroless-debug list --gc' deletes it then"
        )),
        Err(_) => printer.warn(&format!(
            "deleting pod {name} took longer than {}; it ends by itself at its deadline, and 'kubectl distroless-debug list --gc' deletes it then",
            crate::error::fmt_duration(DELETE_BOUND)
        )),
    }
}

/// Creates `pod`; a 403 is explained (RBAC `create pods`, the Pod Security rules it breaks and
/// what passes, or another admission controller): `pod_for(profile)` builds it with another
/// profile. The pod is then among `leftovers` until it is deleted.
pub(crate) async fn create(
    cluster: &Cluster,
    pod: &Pod,
    created: Created<'_>,
    profile: Profile,
    pod_for: &dyn Fn(Profile) -> Result<Pod, Error>,
    leftovers: &Leftovers,
) -> Result<Pod, Error> {
    match crate::api::pods::create_pod(cluster, pod).await {
        Ok(stored) => {
            leftovers.add(&stored.name_any());
            Ok(stored)
        }
        Err(err @ Error::Forbidden { .. }) => {
            let facts = crate::api::reviews::create_refusal_facts(
                cluster,
                crate::plan::refusal::server_message(&err),
            )
            .await;
            // A node pod refused by Pod Security: name namespaces that would take it.
            let privileged = match created {
                Created::Node { .. } if facts.level.is_some() => {
                    crate::api::reviews::privileged_namespaces(cluster).await
                }
                _ => Vec::new(),
            };
            let created = match created {
                Created::Node { .. } => Created::Node {
                    privileged: &privileged,
                },
                other @ Created::Copy { .. } => other,
            };
            Err(crate::plan::refusal::explain_create_refusal(
                &facts,
                created,
                profile,
                &cluster.namespace,
                pod_for,
                err,
            ))
        }
        Err(e) => Err(e),
    }
}

/// Checks, before anything is created, that the pod can be deleted after the session: a
/// SelfSubjectAccessReview for `delete pods` (best effort: no answer lets it go on).
pub(crate) async fn check_delete(cluster: &Cluster) -> Result<(), Error> {
    if crate::api::reviews::access_allowed(cluster, "delete", None, None).await == Some(false) {
        return Err(Error::Forbidden {
            verb: "delete",
            resource: "pods",
            scope: cluster.scope(),
            only: None,
            message: String::new(),
        });
    }
    Ok(())
}

/// Watches the created pod (from the resourceVersion its creation returned; no polling) until
/// its `toolbox` and `held` container run; progress on stderr; a container that cannot start,
/// or the pod ending, fails at once. Returns the pod as last seen.
pub(crate) async fn until_running(
    cluster: &Cluster,
    stored: &Pod,
    toolbox: &str,
    held: Option<&str>,
    timeout: Duration,
    printer: &Printer,
) -> Result<Pod, Error> {
    let name = stored.name_any();
    let mut watch = crate::api::watch::PodWatch::new(cluster, stored);
    let mut last: Option<String> = None;
    let wait = watch.until(|p| match pod_progress(p, toolbox, held) {
        PodProgress::Running => Some(Ok(())),
        PodProgress::Waiting(text) => {
            if last.as_deref() != Some(text.as_str()) {
                printer.status(&format!("Waiting for pod {name}: {text}"));
                last = Some(text);
            }
            None
        }
        PodProgress::Failed {
            container,
            init,
            reason,
            message,
        } => Some(Err(Error::PodStart {
            pod: name.clone(),
            fix: start_fix(role(&container, toolbox, held), &container, &reason),
            container,
            init,
            reason,
            message,
        })),
        PodProgress::Ended { state } => Some(Err(Error::PodEnded {
            pod: name.clone(),
            state,
        })),
    });
    match tokio::time::timeout(timeout, wait).await {
        Ok(r) => r.map(|()| watch.latest().clone()),
        Err(_) => Err(match stuck_init(watch.latest()) {
            Some(container) => Error::InitStuck {
                pod: name,
                container,
                after: timeout,
            },
            None => Error::Timeout {
                what: format!("pod {name} to start"),
                after: timeout,
                last,
            },
        }),
    }
}

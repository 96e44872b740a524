//! Watching one pod: from a resourceVersion on, resumed where it dropped, never polling; and the
//! first read as a watch that starts with the pod's state (`sendInitialEvents`).

use kube::ResourceExt;
use std::time::Duration;

use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{WatchEvent, WatchParams};

use crate::connect::{Cluster, timed};
use crate::error::{ApiCall, Error, classify};
use crate::plan::progress::{Initial, initial_event};

/// How many times in a row a dropped watch (or one that cannot be opened) is opened again
/// before the wait gives up.
const RESUME_ATTEMPTS: u32 = 4;

/// Whether a watch that failed this way may be opened again: the connection broke (reset,
/// refused while the API server restarts, a read error mid-stream, a request timeout), as
/// opposed to an answer from the server (403, 404, ...), which would only repeat.
fn resumable(err: &Error) -> bool {
    match err {
        Error::Connect(_) | Error::RequestTimeout { .. } => true,
        Error::Api { source, .. } => matches!(
            source,
            kube::Error::ReadEvents(_) | kube::Error::HyperError(_) | kube::Error::Service(_)
        ),
        _ => false,
    }
}

/// The pause before resume attempt `n` (1-based): 250 ms, 500 ms, 1 s, 2 s.
fn resume_delay(n: u32) -> Duration {
    Duration::from_millis(250 << n.saturating_sub(1).min(3))
}

type PodEvents = BoxStream<'static, Result<WatchEvent<Pod>, kube::Error>>;

/// One pod, watched from a resourceVersion on: the latest object seen and the open watch. It
/// is kept between waits, so the wait for the exit code after a session goes on reading the
/// watch the start used, with no new request (unless the server ended it meanwhile: then it
/// is opened again from the last resourceVersion seen, so no change is missed).
///
/// [`PodWatch::until`] is cancel-safe: dropped at any await, the watch keeps its place.
pub(crate) struct PodWatch {
    api: Api<Pod>,
    scope: crate::error::Scope,
    request_timeout: Option<Duration>,
    pod_name: String,
    /// Boxed: a `Pod` is kilobytes, and the watch moves through futures.
    latest: Box<Pod>,
    rv: String,
    stream: Option<PodEvents>,
    /// Drops in a row without an event in between.
    dropped: u32,
    /// Events since the watch was last opened.
    events: u32,
}

impl std::fmt::Debug for PodWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PodWatch")
            .field("pod", &self.pod_name)
            .field("resource_version", &self.rv)
            .field("open", &self.stream.is_some())
            .finish_non_exhaustive()
    }
}

impl PodWatch {
    /// A watch of `pod` from its resourceVersion; opened at the first [`PodWatch::until`].
    pub(crate) fn new(cluster: &Cluster, pod: &Pod) -> Self {
        Self {
            api: Api::namespaced(cluster.client.clone(), &cluster.namespace),
            scope: cluster.scope(),
            request_timeout: cluster.request_timeout,
            pod_name: pod.name_any(),
            latest: Box::new(crate::plan::slim::slimmed(pod)),
            rv: pod.metadata.resource_version.clone().unwrap_or_default(),
            stream: None,
            dropped: 0,
            events: 0,
        }
    }

    /// The latest pod object seen.
    pub(crate) fn latest(&self) -> &Pod {
        &self.latest
    }

    /// Takes `pod` (a write's response, newer than what the watch has shown) as the latest
    /// object. An open watch goes on from where it is (it will show the write too); one not
    /// opened yet starts after the write.
    pub(crate) fn observe(&mut self, pod: &Pod) {
        *self.latest = crate::plan::slim::slimmed(pod);
        if self.stream.is_none()
            && let Some(rv) = &pod.metadata.resource_version
        {
            self.rv.clone_from(rv);
        }
    }

    fn classify(&self, e: kube::Error) -> Error {
        classify(e, ApiCall::WatchPod, &self.pod_name, &self.scope)
    }

    /// Calls `check` on the latest object seen, then on every change, until it returns a
    /// result. A deleted pod ends the watch with an error; an expired resourceVersion (410)
    /// re-reads the pod and goes on. A watch that ends or drops (connection reset, API server
    /// restarting) is opened again from the last resourceVersion seen; after
    /// [`RESUME_ATTEMPTS`] failures in a row without an event in between the error is
    /// returned. Callers bound the whole wait.
    pub(crate) async fn until<R>(
        &mut self,
        mut check: impl FnMut(&Pod) -> Option<Result<R, Error>>,
    ) -> Result<R, Error> {
        if let Some(done) = check(&self.latest) {
            return done;
        }
        loop {
            let Some(stream) = self.stream.as_mut() else {
                let params = WatchParams::default()
                    .fields(&format!("metadata.name={}", self.pod_name))
                    .timeout(290);
                let opened = timed(self.request_timeout, self.api.watch(&params, &self.rv))
                    .await
                    .and_then(|r| r.map_err(|e| self.classify(e)));
                match opened {
                    Ok(s) => {
                        self.stream = Some(s.boxed());
                        self.events = 0;
                    }
                    Err(e) if resumable(&e) && self.dropped < RESUME_ATTEMPTS => {
                        self.dropped += 1;
                        tracing::debug!(error = %e, rv = %self.rv, attempt = self.dropped, "watch dropped; resuming from the last resourceVersion");
                        tokio::time::sleep(resume_delay(self.dropped)).await;
                    }
                    Err(e) => return Err(e),
                }
                continue;
            };
            let event = match stream.try_next().await {
                Ok(Some(event)) => event,
                Ok(None) => {
                    self.stream = None;
                    tracing::debug!(rv = %self.rv, "watch ended; resuming from the last resourceVersion");
                    if self.events == 0 {
                        // Ended without a single event: don't spin on a broken connection.
                        tokio::time::sleep(resume_delay(self.dropped.max(1))).await;
                    }
                    continue;
                }
                Err(e) => {
                    self.stream = None;
                    let err = self.classify(e);
                    if !resumable(&err) || self.dropped >= RESUME_ATTEMPTS {
                        return Err(err);
                    }
                    self.dropped += 1;
                    tracing::debug!(error = %err, rv = %self.rv, attempt = self.dropped, "watch dropped; resuming from the last resourceVersion");
                    if self.events == 0 {
                        tokio::time::sleep(resume_delay(self.dropped)).await;
                    }
                    continue;
                }
            };
            self.events += 1;
            self.dropped = 0;
            match event {
                WatchEvent::Added(mut p) | WatchEvent::Modified(mut p) => {
                    if let Some(v) = &p.metadata.resource_version {
                        self.rv.clone_from(v);
                    }
                    crate::plan::slim::slim(&mut p);
                    *self.latest = p;
                    if let Some(done) = check(&self.latest) {
                        return done;
                    }
                }
                WatchEvent::Deleted(_) => {
                    return Err(Error::PodDeleted {
                        pod: self.pod_name.clone(),
                    });
                }
                WatchEvent::Bookmark(b) => self.rv = b.metadata.resource_version,
                WatchEvent::Error(e) if e.code == 410 => {
                    // Our resourceVersion expired: read the pod again and go on from there.
                    self.stream = None;
                    let fresh = timed(self.request_timeout, self.api.get(&self.pod_name))
                        .await?
                        .map_err(|e| classify(e, ApiCall::GetPod, &self.pod_name, &self.scope))?;
                    self.rv = fresh.metadata.resource_version.clone().unwrap_or_default();
                    *self.latest = crate::plan::slim::slimmed(&fresh);
                    if let Some(done) = check(&self.latest) {
                        return done;
                    }
                }
                WatchEvent::Error(e) => return Err(self.classify(kube::Error::Api(e))),
            }
        }
    }
}

/// How long the initial events of a pod may take before the plugin reads the pod with a GET
/// instead: only a server that takes `sendInitialEvents` without sending the closing bookmark
/// would make it wait this long.
const INITIAL_EVENTS_BOUND: Duration = Duration::from_secs(5);

/// Reads pod `name` with one watch that starts with the pod's current state
/// (`sendInitialEvents=true`: Kubernetes 1.27+ with the WatchList feature, on by default in
/// 1.32 and from 1.34), and keeps that watch open for the wait: one request instead of a GET
/// and a watch. `Ok(None)` when the server does not offer it (WatchList off, older servers,
/// which refuse the parameters with 400 or 422) or the watch is not permitted: the caller
/// GETs the pod then. A pod that does not exist is [`Error::PodNotFound`].
pub(crate) async fn read_and_watch(
    cluster: &Cluster,
    name: &str,
) -> Result<Option<(Pod, PodWatch)>, Error> {
    let api: Api<Pod> = Api::namespaced(cluster.client.clone(), &cluster.namespace);
    let params = WatchParams::streaming_lists()
        .fields(&format!("metadata.name={name}"))
        .timeout(290);
    let stream = match timed(cluster.request_timeout, api.watch(&params, "")).await? {
        Ok(s) => s,
        Err(e) => {
            let status = match &e {
                kube::Error::Api(s) => Some(s.code),
                _ => None,
            };
            return match status {
                Some(400 | 403 | 405 | 422) => {
                    tracing::debug!(error = %e, "no watch with initial events; reading the pod");
                    Ok(None)
                }
                _ => Err(classify(e, ApiCall::WatchPod, name, &cluster.scope())),
            };
        }
    };
    let mut stream = stream.boxed();
    let mut found = None;
    let read = async {
        loop {
            match stream.try_next().await {
                Ok(Some(event)) => match initial_event(event, &mut found) {
                    Initial::Pending => {}
                    other => return Ok(other),
                },
                Ok(None) => return Ok(Initial::Unsupported),
                Err(e) => return Err(classify(e, ApiCall::WatchPod, name, &cluster.scope())),
            }
        }
    };
    let outcome = match tokio::time::timeout(INITIAL_EVENTS_BOUND, read).await {
        Ok(r) => r?,
        Err(_) => Initial::Unsupported,
    };
    match (outcome, found) {
        (
            Initial::Done {
                found: true,
                resource_version,
            },
            Some(pod),
        ) => {
            let mut watch = PodWatch::new(cluster, &pod);
            watch.rv = resource_version;
            watch.stream = Some(stream);
            Ok(Some((pod, watch)))
        }
        (Initial::Done { .. }, _) => Err(Error::PodNotFound {
            name: name.to_owned(),
            scope: cluster.scope(),
        }),
        _ => {
            tracing::debug!("the watch sent no initial events; reading the pod");
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_connections_resume_and_answers_do_not() {
        let io = || kube::Error::ReadEvents(std::io::Error::other("connection reset"));
        let api = |source| Error::Api {
            call: ApiCall::WatchPod,
            source,
        };
        assert!(resumable(&api(io())));
        assert!(resumable(&Error::RequestTimeout {
            after: Duration::from_secs(1)
        }));
        assert!(!resumable(&Error::PodDeleted { pod: "api".into() }));
        assert!(!resumable(&Error::Unauthorized));
        assert!(!resumable(&api(
            kube::Error::LinesCodecMaxLineLengthExceeded
        )));
        let delays: Vec<u128> = (1..=5).map(|n| resume_delay(n).as_millis()).collect();
        assert_eq!(delays, [250, 500, 1000, 2000, 2000]);
    }
}

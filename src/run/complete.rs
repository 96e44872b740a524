//! Completion against the real cluster and kubeconfig: the [`Lookup`] that
//! `kubectl_complete-distroless_debug` gives the pure completion logic in `cli::complete`.
//! Each lookup connects with the flags typed so far and is bounded by [`LOOKUP_TIMEOUT`];
//! any failure is no candidates.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli::complete::{Entry, Lookup, Typed};
use crate::cli::target::Kind;
use crate::connect::Cluster;

/// How long a completion may wait for the cluster, connection included.
pub(crate) const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// The lookups against the real cluster and kubeconfig.
#[derive(Debug, Default, Clone, Copy)]
pub struct Live;

impl Live {
    /// Connects with the typed flags and runs `lookup`, within [`LOOKUP_TIMEOUT`].
    fn with_cluster<F, Fut>(typed: &Typed, lookup: F) -> Vec<String>
    where
        F: FnOnce(Cluster) -> Fut,
        Fut: std::future::Future<Output = Option<Vec<String>>>,
    {
        let conn = typed.connection();
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return Vec::new();
        };
        rt.block_on(async {
            tokio::time::timeout(LOOKUP_TIMEOUT, async {
                let cluster = crate::connect::connect(&conn).await.ok()?;
                lookup(cluster).await
            })
            .await
            .ok()
            .flatten()
        })
        .unwrap_or_default()
    }
}

impl Lookup for Live {
    fn kubeconfig(&self, typed: &Typed, entry: Entry) -> Vec<String> {
        let home = crate::connect::kubeconfig::home_dir();
        let env = std::env::var_os("KUBECONFIG");
        let flag = typed.kubeconfig.as_ref().map(PathBuf::from);
        let paths = crate::connect::kubeconfig::kubeconfig_paths(
            flag.as_deref(),
            env.as_deref(),
            home.as_deref(),
        );
        let mut names = Vec::new();
        for p in paths {
            let Ok(k) = kube::config::Kubeconfig::read_from(&p) else {
                continue;
            };
            match entry {
                Entry::Context => names.extend(k.contexts.into_iter().map(|c| c.name)),
                Entry::Cluster => names.extend(k.clusters.into_iter().map(|c| c.name)),
                Entry::User => names.extend(k.auth_infos.into_iter().map(|c| c.name)),
            }
        }
        names
    }

    fn namespaces(&self, typed: &Typed) -> Vec<String> {
        Live::with_cluster(
            typed,
            |c| async move { crate::api::names::namespaces(&c).await },
        )
    }

    fn names(&self, typed: &Typed, kind: Kind) -> Vec<String> {
        Live::with_cluster(typed, |c| async move {
            crate::api::names::names(&c, kind).await
        })
    }

    fn containers(&self, typed: &Typed, pod: &str) -> Vec<String> {
        Live::with_cluster(typed, |c| async move {
            crate::api::names::containers(&c, pod).await
        })
    }
}

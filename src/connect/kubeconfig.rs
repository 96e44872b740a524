//! The kubeconfig files kubectl would read, merged, and the context, cluster and user entries a
//! run uses: one that names no entry is reported with the names that exist, before kube reads
//! them.

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

use crate::cli::options::Connection;
use crate::error::{Error, KubeconfigEntry, NamedBy};

/// The directory that holds `.kube/config` by default: `HOME`; on Windows, where `HOME` is
/// usually not set, `USERPROFILE` then (kubectl falls back the same way).
pub(crate) fn home_dir() -> Option<PathBuf> {
    let home = std::env::var_os("HOME");
    #[cfg(windows)]
    let home = home.or_else(|| std::env::var_os("USERPROFILE"));
    home.map(PathBuf::from)
}

/// Kubeconfig files to read, kubectl's way.
pub(crate) fn kubeconfig_paths(
    flag: Option<&Path>,
    env: Option<&std::ffi::OsStr>,
    home: Option<&Path>,
) -> Vec<PathBuf> {
    if let Some(f) = flag {
        return vec![f.to_path_buf()];
    }
    if let Some(v) = env {
        let listed: Vec<PathBuf> = std::env::split_paths(v)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
        if !listed.is_empty() {
            return listed.into_iter().filter(|p| p.exists()).collect();
        }
    }
    home.map(|h| vec![h.join(".kube").join("config")])
        .unwrap_or_default()
}

pub(crate) fn load_kubeconfig(conn: &Connection) -> Result<Kubeconfig, Error> {
    let home = home_dir();
    let env = std::env::var_os("KUBECONFIG");
    let paths = kubeconfig_paths(conn.kubeconfig.as_deref(), env.as_deref(), home.as_deref());
    if paths.is_empty() {
        return Err(Error::Kubeconfig(
            "no kubeconfig found: no file listed in KUBECONFIG exists (or HOME is not set)"
                .to_owned(),
        ));
    }
    let mut merged: Option<Kubeconfig> = None;
    for p in &paths {
        let k = Kubeconfig::read_from(p)
            .map_err(|e| Error::Kubeconfig(format!("{}: {}", p.display(), first_line(&e))))?;
        merged = Some(match merged {
            None => k,
            Some(m) => m
                .merge(k)
                .map_err(|e| Error::Kubeconfig(format!("{}: {e}", p.display())))?,
        });
    }
    merged.ok_or_else(|| Error::Kubeconfig("no kubeconfig".to_owned()))
}

/// The kubeconfig entries a run uses.
#[derive(Debug, Clone)]
pub(crate) struct Selection {
    pub(crate) context: String,
    pub(crate) cluster: kube::config::Cluster,
    /// The user entry's name: `--user`, else the context's (which may name no entry: then
    /// there are no credentials, as with kubectl and kube).
    pub(crate) user: Option<String>,
}

/// Finds the context, cluster and user entries the way kube will when it builds the config,
/// so that a name that is not there is reported first, with the names that are. kube 5 says
/// only `failed to load current context: NAME`; kubectl `context was not found for specified
/// context: NAME`. Neither lists what exists.
///
/// As in kube and client-go: the context comes from `--context`, else `current-context`; the
/// cluster from `--cluster`, else the context's; the user from `--user`, else the context's.
/// A `--user` that names no entry is an error (client-go: `auth info "NAME" does not exist`);
/// a context's user that names none means no credentials, which both accept.
pub(crate) fn select(kubeconfig: &Kubeconfig, conn: &Connection) -> Result<Selection, Error> {
    let contexts = || {
        sorted_names(
            kubeconfig
                .contexts
                .iter()
                .filter(|c| c.context.is_some())
                .map(|c| &c.name),
        )
    };
    // An empty flag is an unset one, as with kubectl.
    let flag = conn.context.as_ref().filter(|c| !c.is_empty());
    let (context_name, named_by) = match (flag, &kubeconfig.current_context) {
        (Some(flag), _) => (flag.clone(), NamedBy::Flag),
        (None, Some(current)) if !current.is_empty() => (current.clone(), NamedBy::CurrentContext),
        (None, _) => {
            return Err(Error::NoCurrentContext {
                available: contexts(),
            });
        }
    };
    let Some(context) = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == context_name)
        .and_then(|c| c.context.as_ref())
    else {
        return Err(Error::NoSuchEntry {
            entry: KubeconfigEntry::Context,
            name: context_name,
            named_by,
            available: contexts(),
        });
    };
    let (cluster_name, named_by) = match &conn.cluster {
        Some(flag) => (flag.clone(), NamedBy::Flag),
        None => (
            context.cluster.clone(),
            NamedBy::Context(context_name.clone()),
        ),
    };
    let Some(cluster) = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == cluster_name)
        .and_then(|c| c.cluster.as_ref())
    else {
        return Err(Error::NoSuchEntry {
            entry: KubeconfigEntry::Cluster,
            name: cluster_name,
            named_by,
            available: sorted_names(
                kubeconfig
                    .clusters
                    .iter()
                    .filter(|c| c.cluster.is_some())
                    .map(|c| &c.name),
            ),
        });
    };
    // A user entry without a body is a user without credentials to kube and client-go alike.
    if let Some(user) = &conn.user
        && !kubeconfig.auth_infos.iter().any(|u| &u.name == user)
    {
        return Err(Error::NoSuchEntry {
            entry: KubeconfigEntry::User,
            name: user.clone(),
            named_by: NamedBy::Flag,
            available: sorted_names(kubeconfig.auth_infos.iter().map(|u| &u.name)),
        });
    }
    Ok(Selection {
        user: conn.user.clone().or_else(|| context.user.clone()),
        context: context_name,
        cluster: cluster.clone(),
    })
}

pub(crate) fn sorted_names<'a>(names: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut names: Vec<String> = names.cloned().collect();
    names.sort();
    names.dedup();
    names
}

/// The first line of an error. A YAML parse error goes on with a snippet of the file around
/// the mistake, which can hold a token or a key: it is never shown.
pub(crate) fn first_line(err: &dyn std::fmt::Display) -> String {
    let text = err.to_string();
    text.lines().next().unwrap_or_default().to_owned()
}

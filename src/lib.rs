//! `kubectl distroless-debug`: a debug shell next to a distroless container.
//!
//! The flow, one module per step:
//!
//! 1. [`cli`] parses flags (clap only); [`options`] validates them into [`options::Options`].
//! 2. [`client`] builds a `kube::Client` from kubeconfig as kubectl does.
//! 3. [`resolve`] GETs the pod (or a ready pod of a workload) while [`audit`] asks who we are;
//!    [`target`] decides the target container and refuses pods and containers that are not
//!    running.
//! 4. [`reuse`] looks for a kept debug container of ours made for the same request, user and
//!    reason; if there is one, go to 6.
//! 5. [`inject`] checks that the user may exec into the pod; [`spec`] builds the ephemeral
//!    container ([`profile`], `--custom`, the target's user, the keep-alive script, audit and
//!    TTL); [`inject`] adds it with one strategic-merge PATCH and, on a 403, tells RBAC from Pod
//!    Security ([`pss`]); [`wait`] watches the pod and the kubelet's events until the container
//!    runs, failing fast on image and start errors.
//! 6. [`session`] execs the command or shell into the container, with a lease that ends it when
//!    the client is gone, and returns the exit code.
//!
//! Many pods ([`fanout`]) run steps 3-6 concurrently per pod; [`list`] reads step 5's records.
//! Every decision is a pure function over `&Pod` and options; API calls are thin edges.
//! Errors are typed in [`error`] and printed once by [`output`].

pub mod api;
pub mod cli;
pub mod connect;
pub mod error;
pub mod model;
pub mod output;
pub mod plan;
pub mod run;
pub mod session;

pub use run::prepare::{prepare, prepare_in};
pub use run::run;

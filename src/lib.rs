//! `kubectl distroless-debug`: a debug shell next to a distroless container.
//!
//! The flow, one layer per directory (docs/architecture.md draws the map):
//!
//! 1. parse: [`cli`] — clap's definition types each flag's value; `Options::from_cli` checks
//!    their interplay and decides what the run does ([`cli::options::Run`]).
//! 2. connect: [`connect`] — a `kube::Client` from kubeconfig as kubectl builds its own.
//! 3. resolve: [`run::resolve`] — TARGETs, a selector or a namespace to pods, for every kind of
//!    run; [`plan::target`] chooses the target container and refuses what is not running.
//! 4. inject: [`run::prepare`] — reuse a kept container made for the same request, user and
//!    reason, or check the exec permission, build the container ([`plan::container`]: profile,
//!    `--custom`, the target's user, the keep-alive script, audit record and TTL) and add it with
//!    one PATCH ([`api::patch`]); a refusal is explained by [`plan::refusal`].
//! 5. wait: [`run::wait`] — one watch on the pod raced with the kubelet's events, failing fast on
//!    image and start errors.
//! 6. session: [`session`] — exec the shell or command, with a lease that ends it when the client
//!    is gone; the exit code passed through.
//!
//! Many pods ([`run::fanout`]) run steps 3-6 concurrently; `list` ([`run::list`]) reads step 4's
//! records. Decisions are pure functions in [`plan`] (no I/O, no async); every API call is in
//! [`api`]; errors are typed in [`error`] and printed by the one [`output::Printer`].
//!
//! The modules are private to the crate, so the compiler reports what nothing uses; what the
//! binaries and the integration tests need is re-exported below.

// The tour above links into the private modules: `cargo doc --document-private-items` renders it.
#![allow(rustdoc::private_intra_doc_links)]

mod api;
mod cli;
mod connect;
mod error;
mod model;
mod output;
mod plan;
mod run;
mod session;

// The binaries.
pub use cli::Cli;
pub use cli::complete::{command as cli_command, complete, script as completion_script};
pub use cli::options::{DEFAULT_IMAGE, Environment, IMAGE_ENV, Options, Run};
pub use error::Error;
pub use output::{Captured, Printer};
pub use run::complete::Live;
pub use run::run;

// The integration tests: the fake API server's request sequences (`prepare`), the exec
// protocol (`session`), and the parsers and the spec builder under property tests.
pub use cli::options::DebugContainer;
pub use cli::parse::{parse_duration, parse_env, validate_image};
pub use cli::selector::{Requirement, Selector, parse_selector};
pub use cli::target::{TargetRef, parse_target};
pub use connect::Cluster;
pub use model::Profile;
pub use plan::audit::Audit;
pub use plan::container::{Input as SpecInput, Mode as SpecMode, build as build_spec};
pub use plan::custom::Custom;
pub use plan::user::Probed;
pub use run::list::collect;
pub use run::prepare::prepare;
pub use session::{Io, Plan, StdinSource, run as run_session};

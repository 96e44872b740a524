//! End-to-end tests: the built `kubectl-distroless_debug` against real pods on the local
//! cluster (tests/cluster), through a real PTY where a person would use a terminal, asserting
//! what the person would see. Run by `tests/run.sh`, which starts the cluster; without it every
//! test here fails.

mod admission;
mod bad_input;
mod completion;
mod copy;
mod cp;
mod docs_rbac;
mod faults;
mod harness;
mod lifetime;
mod matrix;
mod node;
mod pod_security;
mod rbac;
mod refusals;
mod registry;
mod scripting;
mod secrets;
mod session;
#[path = "../support/mod.rs"]
mod support;
mod terminal;

//! The variables the plugin writes on its containers: its own settings and the audit record.
//! Ephemeral containers carry no labels or annotations, so these are how ours are recognised
//! (a prefix `--env` and `--custom` refuse).

/// Environment variable that marks a container kept for reuse (see [`crate::plan::container::Mode::KeepAlive`]).
pub(crate) const KEEPALIVE_ENV: &str = "DISTROLESS_DEBUG_KEEPALIVE";

/// Environment variable that marks a probe container ([`crate::plan::container::probe_container`]).
pub(crate) const PROBE_ENV: &str = "DISTROLESS_DEBUG_PROBE";

/// Environment variable holding [`crate::plan::container::spec_hash`]: what reuse compares.
pub(crate) const SPEC_ENV: &str = "DISTROLESS_DEBUG_SPEC";

/// Variables that differ between two containers made for the same request: not in
/// [`crate::plan::container::spec_hash`]. Who and why are compared on their own (see `reuse`).
pub(crate) const AUDIT_ENV: &[&str] = &[
    "DISTROLESS_DEBUG_AT",
    "DISTROLESS_DEBUG_BY",
    "DISTROLESS_DEBUG_REASON",
    "DISTROLESS_DEBUG_TTL",
];

/// The variable that marks a container as made by this tool.
pub(crate) const VERSION_ENV: &str = "DISTROLESS_DEBUG_VERSION";

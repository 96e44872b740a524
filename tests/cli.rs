//! CLI transcripts (`tests/cmd/*.toml`): `--help` and usage errors, which exit 2 before any
//! cluster is contacted. Regenerate expected output with `TRYCMD=overwrite cargo test --test cli`.

#[test]
fn cli_transcripts() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}

/// The test-only fault triggers (feature `test-hooks`, src/session/test_hooks.rs) are in the
/// binary exactly when the feature is on: never in a default or release build.
#[test]
fn test_hooks_only_with_the_feature() {
    let binary = std::fs::read(env!("CARGO_BIN_EXE_kubectl-distroless_debug")).expect("the binary");
    let needle = b"DISTROLESS_DEBUG_TEST_PANIC";
    let present = binary.windows(needle.len()).any(|w| w == needle);
    assert_eq!(present, cfg!(feature = "test-hooks"));
}

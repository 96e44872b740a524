//! CLI transcripts (`tests/cmd/*.toml`): `--help` and usage errors, which exit 2 before any
//! cluster is contacted. Regenerate expected output with `TRYCMD=overwrite cargo test --test cli`.

#[test]
fn cli_transcripts() {
    trycmd::TestCases::new().case("tests/cmd/*.toml");
}

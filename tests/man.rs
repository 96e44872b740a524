//! The man page, docs/kubectl-distroless-debug.1, is rendered from the CLI definition by
//! clap_mangen; this test fails when the committed page drifts from it. Regenerate with
//! `DD_UPDATE_MAN=1 cargo test --test man`.

use std::path::Path;

fn render() -> String {
    let cmd = distroless_debug::cli_command();
    let man = clap_mangen::Man::new(cmd)
        .title("KUBECTL-DISTROLESS-DEBUG")
        .section("1")
        .manual("kubectl plugins")
        .source(format!(
            "kubectl-distroless-debug {}",
            env!("CARGO_PKG_VERSION")
        ));
    let mut out = Vec::new();
    man.render(&mut out).expect("render the man page");
    String::from_utf8(out).expect("the man page is UTF-8")
}

#[test]
fn man_page_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/kubectl-distroless-debug.1");
    let page = render();
    if std::env::var_os("DD_UPDATE_MAN").is_some() {
        std::fs::write(&path, &page).expect("write the man page");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == page,
        "docs/kubectl-distroless-debug.1 is out of date with the CLI definition; \
         regenerate it with: DD_UPDATE_MAN=1 cargo test --test man"
    );
}

#[test]
fn man_page_documents_every_flag() {
    let page = render();
    for needle in [
        "\\-\\-profile",
        "netadmin",
        "\\-\\-max\\-parallel",
        "\\-\\-kubeconfig",
        "completion bash|zsh|fish|powershell",
        "Exit status:",
    ] {
        assert!(page.contains(needle), "the man page lacks {needle:?}");
    }
}

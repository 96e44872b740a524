//! Property tests ("fuzzing") of every parser that takes text from the command line: the
//! TARGET reference, `-l/--selector`, `--env KEY=VALUE`, `--custom` (JSON or YAML), `--image`
//! and the durations of `--timeout`/`--ttl`/`--request-timeout`.
//!
//! Each parser gets arbitrary Unicode, text built from its own tokens (which reaches deep into
//! the grammar far more often than random bytes), and generated valid input. Beyond "never
//! panics": whatever parses renders back to text that parses to the same value, valid input is
//! always accepted, and `--custom` can never change the container's name, image, command or
//! arguments. The suite runs 10,000 cases per property; `PROPTEST_CASES=N` runs N, as for the
//! long run recorded in docs/guarantees.md. tests/fuzz-corpus/ holds hand-written nasty
//! inputs, replayed here with their expected outcome (`ok-*` parses, `err-*` is refused).

use std::fmt::Write as _;
use std::path::Path;

use distroless_debug::{
    Audit, Custom, DebugContainer, Probed, Profile, Requirement, Selector, SpecInput, SpecMode,
    TargetRef, build_spec, parse_duration, parse_env, parse_selector, parse_target, validate_image,
};
use k8s_openapi::api::core::v1::{Container, EphemeralContainer, Pod, PodSpec};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per property: `PROPTEST_CASES`, else 10,000.
fn config() -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    Config {
        cases,
        // Shrunk failures are kept here and replayed first on every run.
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(
            "tests/proptest-regressions/fuzz_parsers.txt",
        ))),
        // Shrinking a failure must not take forever on long inputs.
        max_shrink_iters: 10_000,
        ..Config::default()
    }
}

/// Text made of `tokens`, up to `max` of them.
fn from_tokens(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(tokens), 0..max).prop_map(|t| t.concat())
}

/// Arbitrary Unicode, or text of `tokens`.
fn text(tokens: &'static [&'static str], max: usize) -> impl Strategy<Value = String> {
    prop_oneof![any::<String>(), "[ -~]{0,80}", from_tokens(tokens, max),]
}

const TARGET_TOKENS: &[&str] = &[
    "pod",
    "po",
    "pods",
    "deploy",
    "Deployment",
    "sts",
    "ds",
    "rs",
    "job",
    "svc",
    "/",
    "/",
    "a",
    "b1",
    "-",
    ".",
    "app",
    "x",
    "A",
    "_",
    " ",
    "",
    "0",
    "é",
    "\0",
    "\n",
    "%2F",
    "..",
];

fn render_target(t: &TargetRef) -> String {
    match &t.container {
        Some(c) => format!("{t}/{c}"),
        None => t.to_string(),
    }
}

/// A DNS-1123 label (container names) and subdomain (object names).
const LABEL: &str = "[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?";
const SUBDOMAIN: &str = "[a-z0-9]([a-z0-9.-]{0,60}[a-z0-9])?";

proptest! {
    #![proptest_config(config())]

    #[test]
    fn target_never_panics_and_round_trips(s in text(TARGET_TOKENS, 12)) {
        if let Ok(t) = parse_target(&s) {
            let again = parse_target(&render_target(&t));
            prop_assert_eq!(again.as_ref(), Ok(&t), "{:?} rendered as {:?}", s, render_target(&t));
        }
    }

    #[test]
    fn valid_targets_parse(
        kind in prop::sample::select(&["", "pod/", "po/", "deploy/", "sts/", "ds/", "rs/", "job/", "deployments/", "JOB/"][..]),
        name in SUBDOMAIN,
        container in prop::option::of(LABEL),
    ) {
        let mut s = format!("{kind}{name}");
        if let Some(c) = &container {
            if kind.is_empty() {
                s = format!("pod/{s}");
            }
            s = format!("{s}/{c}");
        }
        let t = parse_target(&s);
        prop_assert!(t.is_ok(), "{:?}: {:?}", s, t);
        let t = t.unwrap();
        prop_assert_eq!(&t.name, &name);
        prop_assert_eq!(&t.container, &container);
    }
}

const SELECTOR_TOKENS: &[&str] = &[
    "app",
    "tier",
    "example.com/",
    "a.b",
    "x_y",
    "-",
    ".",
    "=",
    "==",
    "!=",
    "!",
    " in ",
    " notin ",
    "in",
    "(",
    ")",
    ",",
    " ",
    "prod",
    "5",
    "-1",
    ">",
    "<",
    "",
    "é",
    "\t",
    "/",
    "99999999999999999999",
];

fn label_key() -> impl Strategy<Value = String> {
    (
        prop::option::of("[a-z0-9]([a-z0-9.-]{0,20}[a-z0-9])?"),
        "[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?",
    )
        .prop_map(|(p, n)| p.map_or(n.clone(), |p| format!("{p}/{n}")))
        .prop_filter("keywords", |k| k != "in" && k != "notin")
}

fn label_value() -> impl Strategy<Value = String> {
    "([A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?)?"
        .prop_filter("keywords", |v| v != "in" && v != "notin")
}

fn requirement() -> impl Strategy<Value = Requirement> {
    let values = || {
        prop::collection::vec(
            "[A-Za-z0-9]([-A-Za-z0-9_.]{0,20}[A-Za-z0-9])?"
                .prop_filter("keywords", |v| v != "in" && v != "notin"),
            1..4,
        )
    };
    prop_oneof![
        label_key().prop_map(Requirement::Exists),
        label_key().prop_map(Requirement::DoesNotExist),
        (label_key(), label_value()).prop_map(|(k, v)| Requirement::Equals(k, v)),
        (label_key(), label_value()).prop_map(|(k, v)| Requirement::NotEquals(k, v)),
        (label_key(), values()).prop_map(|(k, v)| Requirement::In(k, v)),
        (label_key(), values()).prop_map(|(k, v)| Requirement::NotIn(k, v)),
        (label_key(), any::<i64>()).prop_map(|(k, n)| Requirement::GreaterThan(k, n)),
        (label_key(), any::<i64>()).prop_map(|(k, n)| Requirement::LessThan(k, n)),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn selector_never_panics_and_round_trips(s in text(SELECTOR_TOKENS, 16)) {
        if let Ok(sel) = parse_selector(&s) {
            let rendered = sel.to_string();
            prop_assert_eq!(parse_selector(&rendered), Ok(sel), "{:?} rendered as {:?}", s, rendered);
        }
    }

    #[test]
    fn valid_selectors_parse(reqs in prop::collection::vec(requirement(), 1..5), spaced in any::<bool>()) {
        let sel = Selector(reqs);
        let mut s = sel.to_string();
        if spaced {
            s = s.replace(',', " , ").replace('=', " = ").replace('(', " ( ");
            s = s.replace("!  = ", "!=").replace("! = ", "!=");
        }
        prop_assert_eq!(parse_selector(&s), Ok(sel), "{:?}", s);
    }
}

const ENV_TOKENS: &[&str] = &[
    "A",
    "key",
    "_",
    "-",
    ".",
    "1",
    "=",
    "==",
    "DISTROLESS_DEBUG_",
    "TARGET_ROOT",
    " ",
    "\n",
    "é",
    "$(x)",
    "\0",
    "",
    "'",
    "\"",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn env_never_panics_and_round_trips(s in text(ENV_TOKENS, 12)) {
        if let Ok((k, v)) = parse_env(&s) {
            prop_assert_eq!(&format!("{k}={v}"), &s);
            prop_assert_eq!(parse_env(&format!("{k}={v}")), Ok((k, v)));
        }
    }

    #[test]
    fn any_value_of_a_valid_key_is_kept_exactly(
        key in "[A-Za-z_.-][A-Za-z0-9_.-]{0,30}",
        value in any::<String>(),
    ) {
        prop_assume!(!key.starts_with("DISTROLESS_DEBUG_") && key != "TARGET_ROOT");
        prop_assert_eq!(parse_env(&format!("{key}={value}")), Ok((key, value)));
    }
}

const CUSTOM_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\n",
    "  ",
    "- ",
    "\"",
    "'",
    "securityContext",
    "runAsUser",
    "name",
    "image",
    "command",
    "args",
    "env",
    "1",
    "-1",
    "null",
    "true",
    "~",
    "&a",
    "*a",
    "!!str",
    "<<",
    "---",
    "...",
    "#",
    "|",
    ">",
    "\t",
    "é",
    "1e999",
    "0x",
    "%",
    "@",
    "`",
];

const CUSTOM_KEYS: &[&str] = &[
    "securityContext",
    "env",
    "volumeMounts",
    "workingDir",
    "stdin",
    "tty",
    "imagePullPolicy",
    "ports",
    "resources",
    "colour",
    "name",
    "image",
    "command",
    "args",
    "targetContainerName",
];
const REFUSED: &[&str] = &["name", "image", "command", "args", "targetContainerName"];

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        "[ -~]{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            prop::collection::btree_map("[a-zA-Z]{1,12}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A partial container spec: keys from the container's fields, the refused ones and unknown
/// ones, with arbitrary values.
fn custom_object() -> impl Strategy<Value = serde_json::Map<String, serde_json::Value>> {
    prop::collection::btree_map(
        prop_oneof![
            prop::sample::select(CUSTOM_KEYS).prop_map(str::to_owned),
            "[a-zA-Z]{1,10}"
        ],
        json_value(),
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

/// The object as JSON, or as a YAML block mapping of JSON flow values.
fn render_custom(map: &serde_json::Map<String, serde_json::Value>, yaml: bool) -> String {
    if !yaml {
        return serde_json::Value::Object(map.clone()).to_string();
    }
    if map.is_empty() {
        return "{}".to_owned();
    }
    let mut out = String::new();
    for (k, v) in map {
        let _ = writeln!(out, "{}: {v}", serde_json::Value::from(k.as_str()));
    }
    out
}

fn target_pod() -> Pod {
    Pod {
        spec: Some(PodSpec {
            containers: vec![Container {
                name: "app".into(),
                ..Container::default()
            }],
            ..PodSpec::default()
        }),
        ..Pod::default()
    }
}

fn build(custom: Option<&Custom>) -> Result<EphemeralContainer, String> {
    let dc = DebugContainer {
        name: None,
        image: "toolbox:1".into(),
        pull_policy: None,
        profile: Profile::General,
        custom: None,
        env: vec![],
    };
    let pod = target_pod();
    let audit = Audit {
        by: None,
        at: "2026-01-02T03:04:05Z".into(),
        reason: None,
        ttl: std::time::Duration::from_secs(3600),
    };
    build_spec(&SpecInput {
        pod: &pod,
        target_container: "app",
        name: "debugger-abcde",
        container: &dc,
        custom,
        audit: &audit,
        mode: SpecMode::KeepAlive,
        probed: Probed::NotYet,
    })
    .map(|b| b.container)
    .map_err(|e| e.to_string())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn custom_never_panics(s in text(CUSTOM_TOKENS, 24)) {
        if let Ok(custom) = Custom::parse(&s) {
            let _ = build(Some(&custom));
        }
    }

    #[test]
    fn custom_never_changes_name_image_command_or_args(
        map in custom_object(),
        yaml in any::<bool>(),
    ) {
        let text = render_custom(&map, yaml);
        let parsed = Custom::parse(&text);
        if REFUSED.iter().any(|k| map.contains_key(*k)) {
            prop_assert!(parsed.is_err(), "{:?} was accepted", text);
        }
        if let Ok(custom) = parsed {
            let base = build(None).expect("the base container builds");
            if let Ok(c) = build(Some(&custom)) {
                prop_assert_eq!(&c.name, &base.name);
                prop_assert_eq!(&c.image, &base.image);
                prop_assert_eq!(&c.command, &base.command);
                prop_assert_eq!(&c.args, &base.args);
                prop_assert_eq!(&c.target_container_name, &base.target_container_name);
            }
        }
    }
}

const DURATION_TOKENS: &[&str] = &[
    "0",
    "1",
    "30",
    "99999999999999999999",
    "h",
    "m",
    "s",
    "ms",
    "us",
    "d",
    " ",
    "-",
    ".",
    "é",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn duration_never_panics(s in text(DURATION_TOKENS, 10)) {
        let _ = parse_duration(&s);
    }

    #[test]
    fn durations_add_up(h in 0u64..1000, m in 0u64..1000, s in 0u64..1000, ms in 0u64..1000) {
        let d = parse_duration(&format!("{h}h{m}m{s}s{ms}ms")).unwrap();
        prop_assert_eq!(d.as_millis(), u128::from(((h * 60 + m) * 60 + s) * 1000 + ms));
    }
}

const IMAGE_TOKENS: &[&str] = &[
    "docker.io",
    "localhost",
    ":5000",
    "/",
    "/",
    "a",
    "B",
    "tool",
    ":",
    "v1.2",
    "@",
    "sha256:",
    "0123456789abcdef0123456789abcdef",
    ".",
    "_",
    "__",
    "-",
    "[::1]",
    " ",
    "é",
    "",
];

proptest! {
    #![proptest_config(config())]

    #[test]
    fn image_never_panics(s in text(IMAGE_TOKENS, 12)) {
        if validate_image(&s).is_ok() {
            // What passes has no whitespace and no uppercase outside the registry host.
            prop_assert!(!s.chars().any(char::is_whitespace), "{:?}", s);
        }
    }
}

/// One parser of the corpus, by directory name: Ok(()) when the input is accepted.
fn run_parser(parser: &str, input: &str) -> Result<(), String> {
    match parser {
        "target" => parse_target(input).map(|t| {
            assert_eq!(parse_target(&render_target(&t)), Ok(t), "{input:?}");
        }),
        "selector" => parse_selector(input).map(|s| {
            assert_eq!(parse_selector(&s.to_string()), Ok(s), "{input:?}");
        }),
        "env" => parse_env(input).map(|(k, v)| {
            assert_eq!(format!("{k}={v}"), input);
        }),
        "custom" => Custom::parse(input).and_then(|c| build(Some(&c)).map(drop)),
        "duration" => parse_duration(input).map(drop),
        "image" => validate_image(input),
        other => panic!("tests/fuzz-corpus/{other}: no such parser"),
    }
}

#[test]
fn corpus_replays_with_its_expected_outcome() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus");
    let mut seen = 0;
    for dir in std::fs::read_dir(&root).expect("tests/fuzz-corpus") {
        let dir = dir.expect("corpus entry").path();
        if !dir.is_dir() {
            continue;
        }
        let parser = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).expect("corpus directory") {
            let file = file.expect("corpus file").path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&file).expect("corpus file");
            let input = String::from_utf8_lossy(&bytes);
            // A file's final newline is not part of the input, except in `*.nl` files.
            let input = if Path::new(&name).extension().is_some_and(|e| e == "nl") {
                &input[..]
            } else {
                input.strip_suffix('\n').unwrap_or(&input)
            };
            let outcome = run_parser(&parser, input);
            if name.starts_with("ok-") {
                assert!(outcome.is_ok(), "{parser}/{name} must parse: {outcome:?}");
            } else if name.starts_with("err-") {
                let err = outcome.expect_err(&format!("{parser}/{name} must be refused"));
                assert!(!err.is_empty(), "{parser}/{name}: an empty error");
            } else {
                panic!("{parser}/{name}: corpus files are named ok-* or err-*");
            }
            seen += 1;
        }
    }
    assert!(seen >= 50, "the corpus has {seen} inputs");
}

/// Inputs too large for files: deep nesting and very long text.
#[test]
fn huge_and_deep_inputs_are_refused_without_crashing() {
    for depth in [200, 10_000, 100_000] {
        let deep_json = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
        assert!(Custom::parse(&deep_json).is_err(), "JSON depth {depth}");
        let deep_yaml = format!("a: {}{}\n", "[".repeat(depth), "]".repeat(depth));
        assert!(
            Custom::parse(&deep_yaml).is_err(),
            "YAML flow depth {depth}"
        );
        let mut deep_block = String::new();
        for i in 0..depth.min(5_000) {
            let _ = writeln!(deep_block, "{}a:", " ".repeat(i));
        }
        assert!(
            Custom::parse(&deep_block).is_err(),
            "YAML block depth {depth}"
        );
    }
    // Alias expansion ("billion laughs") must not blow up memory or time.
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 0..9 {
        let prev = if i == 0 {
            "a".to_owned()
        } else {
            format!("l{}", i - 1)
        };
        laughs.push_str(&format!("l{i}: &l{i} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
    }
    // Bounded by the parser's node budget, not by a wall-clock limit that a loaded machine
    // breaks: the refusal must come from the budget.
    let err = Custom::parse(&laughs).unwrap_err();
    assert!(err.contains("budget breached"), "{err}");

    let long = "a".repeat(1 << 20);
    assert!(parse_target(&long).is_err());
    assert!(parse_selector(&long).is_err());
    assert!(
        parse_env(&format!("{long}=x")).is_ok(),
        "a long but valid key is the server's call"
    );
    assert!(parse_duration(&"9".repeat(10_000)).is_err());
    let many = vec!["a=b"; 100_000].join(",");
    assert!(parse_selector(&many).is_ok());
}

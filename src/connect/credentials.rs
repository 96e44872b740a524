//! Exec credential plugins (`users[].user.exec` in kubeconfig), run once per invocation, the
//! way kubectl runs them.
//!
//! kube 5 runs the plugin each time it turns the kubeconfig user into credentials: for the
//! TLS config (`Config::exec_identity_pem`, in case the plugin returns a client certificate),
//! again for the auth layer (`ConfigExt::auth_layer` → `Auth::try_from`), and through a proxy
//! a third time (`Client::try_from` asks for the certificate's expiry). A plugin that prompts
//! (an OTP, `interactiveMode: Always`) asks each time. kube also captures the plugin's stderr
//! when `interactiveMode` is `Never`, so its messages are lost. kubectl (client-go's exec
//! authenticator, `refreshCredsLocked`) runs it once and keeps the result, and always passes
//! the plugin's stderr through; stdin only when the run is interactive.
//!
//! So [`resolve`] runs the plugin itself, as client-go does, and hands kube the result as
//! static credentials (`token`, or `client-certificate-data` and `client-key-data`) with
//! `exec` cleared: kube never runs it.
//!
//! Not done: refreshing. client-go runs the plugin again once the credential's
//! `expirationTimestamp` has passed, or after a 401. One invocation of this tool is short, and
//! its long-lived parts (the watch, the session's streams) authenticate when they open; a
//! refresh in the middle of a session would also run an interactive plugin while the terminal
//! is raw and stdin belongs to the session. A credential that expires mid-run shows as a 401
//! ("log in again") on the next request.
//!
//! One cohesive thing, client-go's exec protocol (versions, input, output, errors); about
//! half of the file is its tests.

use std::io::IsTerminal as _;
use std::process::Stdio;

use base64::Engine as _;
use k8s_openapi::jiff::Timestamp;
use kube::config::{AuthInfo, ExecAuthCluster, ExecConfig, ExecInteractiveMode};
use secrecy::{ExposeSecret as _, SecretString};
use serde_json::{Map, Value, json};

use crate::error::{Error, ExecFailure};

const V1: &str = "client.authentication.k8s.io/v1";
const V1BETA1: &str = "client.authentication.k8s.io/v1beta1";
/// Gone since Kubernetes 1.24; named in messages only.
const V1ALPHA1: &str = "client.authentication.k8s.io/v1alpha1";

/// The cluster extension whose content client-go passes to the plugin as
/// `spec.cluster.config`.
const CLUSTER_EXTENSION: &str = "client.authentication.k8s.io/exec";

/// What the plugin returned. The token and the key never reach a log or a message.
pub(crate) struct Credential {
    pub(crate) token: Option<SecretString>,
    /// The client certificate and its key, PEM.
    pub(crate) certificate: Option<(String, SecretString)>,
    pub(crate) expires: Option<Timestamp>,
}

/// The exec section, checked as kubectl checks it before running anything.
#[derive(Debug)]
struct Plan {
    command: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    api_version: String,
    mode: ExecInteractiveMode,
}

/// If the user entry `user` runs an exec plugin, runs it once and replaces `exec` with what
/// it returned. `cluster` is the cluster entry in use, for `provideClusterInfo`.
pub(crate) async fn resolve(
    user: &str,
    auth: &mut AuthInfo,
    cluster: &kube::config::Cluster,
) -> Result<(), Error> {
    let Some(exec) = auth.exec.take() else {
        return Ok(());
    };
    let fail = |failure| Error::ExecCredential {
        user: user.to_owned(),
        command: exec.command.clone().filter(|c| !c.is_empty()),
        install_hint: exec.install_hint.as_deref().map(clean_hint),
        failure,
    };
    if auth.auth_provider.is_some() {
        // client-go: "execProvider and authProvider cannot be used in combination".
        return Err(fail(ExecFailure::WithAuthProvider));
    }
    if !runs(auth) {
        // client-go's exec authenticator steps aside for a token, basic auth or a client
        // certificate in the same entry (`UpdateTransportConfig`); kube would run it anyway.
        tracing::debug!(
            user,
            "exec credential plugin not run: the user entry has other credentials"
        );
        return Ok(());
    }
    let plan = plan(&exec).map_err(fail)?;
    let interactive = interactive(&plan.mode, std::io::stdin().is_terminal()).map_err(fail)?;
    let cluster_info = if exec.provide_cluster_info {
        Some(cluster_info(cluster)?)
    } else {
        None
    };
    let info = exec_info(&plan.api_version, interactive, cluster_info);
    tracing::debug!(
        user,
        command = %plan.command,
        api_version = %plan.api_version,
        interactive,
        "running the exec credential plugin"
    );
    let stdout = run(&plan, interactive, &info).await.map_err(fail)?;
    let credential = parse(&stdout, &plan.api_version).map_err(fail)?;
    tracing::debug!(
        user,
        token = credential.token.is_some(),
        client_certificate = credential.certificate.is_some(),
        expires = credential.expires.map(|t| t.to_string()),
        "the exec credential plugin returned credentials"
    );
    apply(auth, credential);
    Ok(())
}

/// Whether client-go would run the plugin of this entry: not when it also has a token, basic
/// auth or a client certificate and key (`HasTokenAuth`, `HasBasicAuth`, `HasCertAuth`).
fn runs(auth: &AuthInfo) -> bool {
    let set = |s: &Option<String>| s.as_deref().is_some_and(|v| !v.is_empty());
    let token = auth
        .token
        .as_ref()
        .is_some_and(|t| !t.expose_secret().is_empty())
        || set(&auth.token_file);
    let basic = set(&auth.username);
    let key = set(&auth.client_key)
        || auth
            .client_key_data
            .as_ref()
            .is_some_and(|k| !k.expose_secret().is_empty());
    let certificate = (set(&auth.client_certificate) || set(&auth.client_certificate_data)) && key;
    !(token || basic || certificate)
}

/// The exec section as client-go's `validateAuthInfo` and exec authenticator accept it.
fn plan(exec: &ExecConfig) -> Result<Plan, ExecFailure> {
    let command = exec
        .command
        .clone()
        .filter(|c| !c.is_empty())
        .ok_or(ExecFailure::MissingCommand)?;
    let api_version = exec
        .api_version
        .clone()
        .filter(|v| !v.is_empty())
        .ok_or(ExecFailure::MissingApiVersion)?;
    if api_version != V1 && api_version != V1BETA1 {
        return Err(ExecFailure::UnsupportedApiVersion(api_version));
    }
    let mode = match &exec.interactive_mode {
        Some(mode) => mode.clone(),
        // clientcmd defaults it for v1beta1 only (`SetDefaults_ExecConfig`); v1 must say it.
        None if api_version == V1BETA1 => ExecInteractiveMode::IfAvailable,
        None => return Err(ExecFailure::MissingInteractiveMode),
    };
    let mut env = Vec::new();
    for entry in exec.env.iter().flatten() {
        let name = entry
            .get("name")
            .filter(|n| !n.is_empty())
            .ok_or(ExecFailure::EnvWithoutName)?;
        let value = entry.get("value").cloned().unwrap_or_default();
        env.push((name.clone(), value));
    }
    Ok(Plan {
        command,
        args: exec.args.clone().unwrap_or_default(),
        env,
        api_version,
        mode,
    })
}

/// Whether the plugin gets our stdin, as client-go's `isInteractive` decides: `Never` no;
/// `IfAvailable` when stdin is a terminal; `Always` requires one.
fn interactive(mode: &ExecInteractiveMode, stdin_is_terminal: bool) -> Result<bool, ExecFailure> {
    match mode {
        ExecInteractiveMode::Never => Ok(false),
        ExecInteractiveMode::IfAvailable => Ok(stdin_is_terminal),
        ExecInteractiveMode::Always if stdin_is_terminal => Ok(true),
        ExecInteractiveMode::Always => Err(ExecFailure::NotATerminal),
    }
}

/// `spec.cluster` as client-go builds it (`rest.ConfigToExecCluster`): the server as written,
/// the CA bundle (from the data or the file), and the cluster extension
/// `client.authentication.k8s.io/exec` as `config`; empty fields left out.
fn cluster_info(cluster: &kube::config::Cluster) -> Result<Value, Error> {
    // kube's conversion reads the CA file or decodes the data, and picks the extension.
    let info = ExecAuthCluster::try_from(cluster).map_err(|e| Error::Kubeconfig(e.to_string()))?;
    let mut out = Map::new();
    out.insert(
        "server".into(),
        Value::String(info.server.unwrap_or_default()),
    );
    if let Some(name) = info.tls_server_name.filter(|n| !n.is_empty()) {
        out.insert("tls-server-name".into(), Value::String(name));
    }
    if info.insecure_skip_tls_verify == Some(true) {
        out.insert("insecure-skip-tls-verify".into(), Value::Bool(true));
    }
    if let Some(ca) = info.certificate_authority_data.filter(|c| !c.is_empty()) {
        out.insert(
            "certificate-authority-data".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(ca)),
        );
    }
    if let Some(proxy) = info.proxy_url.filter(|p| !p.is_empty()) {
        out.insert("proxy-url".into(), Value::String(proxy));
    }
    if cluster.disable_compression == Some(true) {
        out.insert("disable-compression".into(), Value::Bool(true));
    }
    let extension = cluster
        .extensions
        .iter()
        .flatten()
        .find(|e| e.name == CLUSTER_EXTENSION);
    if let Some(e) = extension {
        out.insert("config".into(), e.extension.clone());
    }
    Ok(Value::Object(out))
}

/// `KUBERNETES_EXEC_INFO`: an ExecCredential with `spec.interactive` and, with
/// `provideClusterInfo`, `spec.cluster`, in the configured apiVersion.
fn exec_info(api_version: &str, interactive: bool, cluster: Option<Value>) -> String {
    let mut spec = json!({ "interactive": interactive });
    if let Some(c) = cluster {
        spec["cluster"] = c;
    }
    json!({ "kind": "ExecCredential", "apiVersion": api_version, "spec": spec }).to_string()
}

/// Runs the plugin: stdout captured, stderr always ours, stdin ours only when interactive
/// (else empty, as client-go leaves it). Killed if the caller gives up (completion's bound).
async fn run(plan: &Plan, interactive: bool, info: &str) -> Result<Vec<u8>, ExecFailure> {
    let mut cmd = tokio::process::Command::new(&plan.command);
    cmd.args(&plan.args)
        .envs(plan.env.iter().map(|(k, v)| (k, v)))
        .env("KUBERNETES_EXEC_INFO", info)
        .stdin(if interactive {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => ExecFailure::NotFound,
        _ => ExecFailure::Start(e),
    })?;
    let out = child.wait_with_output().await.map_err(ExecFailure::Start)?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(exit_failure(out.status))
    }
}

fn exit_failure(status: std::process::ExitStatus) -> ExecFailure {
    if let Some(code) = status.code() {
        return ExecFailure::Exit(code);
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt as _;
        if let Some(signal) = status.signal() {
            return ExecFailure::Signal(signal);
        }
    }
    ExecFailure::Exit(-1)
}

/// Reads the plugin's stdout as client-go does (JSON, or YAML: its decoder takes both) and
/// checks it the same way: the configured apiVersion, a status, a token or a complete
/// certificate and key pair. No failure quotes the output: it holds the credential.
fn parse(stdout: &[u8], api_version: &str) -> Result<Credential, ExecFailure> {
    if stdout.iter().all(u8::is_ascii_whitespace) {
        return Err(ExecFailure::EmptyOutput);
    }
    let value: Value =
        serde_saphyr::from_slice(stdout).map_err(|_| ExecFailure::NotAnExecCredential)?;
    let Value::Object(object) = value else {
        return Err(ExecFailure::NotAnExecCredential);
    };
    match object.get("kind") {
        None => {}
        Some(Value::String(kind)) if kind == "ExecCredential" => {}
        Some(_) => return Err(ExecFailure::NotAnExecCredential),
    }
    match object.get("apiVersion") {
        Some(Value::String(v)) if v == api_version => {}
        other => {
            // Only a version of the group is repeated; anything else might be the token.
            let got = match other {
                Some(Value::String(v)) if [V1, V1BETA1, V1ALPHA1].contains(&v.as_str()) => {
                    Some(v.clone())
                }
                _ => None,
            };
            return Err(ExecFailure::WrongApiVersion {
                want: api_version.to_owned(),
                got,
            });
        }
    }
    let status = match object.get("status") {
        None | Some(Value::Null) => return Err(ExecFailure::NoStatus),
        Some(Value::Object(s)) => s,
        Some(_) => return Err(ExecFailure::Malformed("status")),
    };
    let field = |name: &'static str| match status.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ExecFailure::Malformed(name)),
    };
    let token = field("token")?;
    let certificate = field("clientCertificateData")?;
    let key = field("clientKeyData")?.map(SecretString::from);
    let expires = field("expirationTimestamp")?
        .map(|t| {
            t.parse::<Timestamp>()
                .map_err(|_| ExecFailure::Malformed("expirationTimestamp"))
        })
        .transpose()?;
    let certificate = match (certificate, key) {
        (None, None) => None,
        (Some(certificate), Some(key)) => {
            check_pem(&certificate, &key)?;
            Some((certificate, key))
        }
        _ => return Err(ExecFailure::HalfPair),
    };
    if token.is_none() && certificate.is_none() {
        return Err(ExecFailure::NoCredential);
    }
    Ok(Credential {
        token: token.map(SecretString::from),
        certificate,
        expires,
    })
}

/// A certificate and a private key in PEM, as `tls.X509KeyPair` wants them; whether they
/// match is for the TLS library to say.
fn check_pem(certificate: &str, key: &SecretString) -> Result<(), ExecFailure> {
    let has = |text: &str, tag: fn(&str) -> bool| {
        pem::parse_many(text).is_ok_and(|blocks| blocks.iter().any(|b| tag(b.tag())))
    };
    if has(certificate, |t| t == "CERTIFICATE")
        && has(key.expose_secret(), |t| t.ends_with("PRIVATE KEY"))
    {
        Ok(())
    } else {
        Err(ExecFailure::NotPem)
    }
}

/// The credential as static kubeconfig credentials, `exec` gone.
fn apply(auth: &mut AuthInfo, credential: Credential) {
    auth.exec = None;
    if let Some(token) = credential.token {
        auth.token = Some(token);
    }
    if let Some((certificate, key)) = credential.certificate {
        // The kubeconfig fields are base64 of the PEM.
        let b64 = base64::engine::general_purpose::STANDARD;
        auth.client_certificate_data = Some(b64.encode(certificate));
        auth.client_key_data = Some(SecretString::from(b64.encode(key.expose_secret())));
        auth.client_certificate = None;
        auth.client_key = None;
    }
}

/// The install hint as a message line: client-go strips ANSI escapes from it; control
/// characters other than newlines go here.
fn clean_hint(hint: &str) -> String {
    hint.chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect::<String>()
        .trim()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "TOKEN-THAT-MUST-NOT-SHOW";

    fn exec(yaml: &str) -> ExecConfig {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn the_exec_section_is_checked_as_kubectl_checks_it() {
        let p = plan(&exec(
            "apiVersion: client.authentication.k8s.io/v1\ncommand: aws\nargs: [eks, get-token]\n\
             env: [{name: A, value: b}, {name: EMPTY}]\ninteractiveMode: Never\n",
        ))
        .unwrap();
        assert_eq!(p.command, "aws");
        assert_eq!(p.args, ["eks", "get-token"]);
        assert_eq!(
            p.env,
            [("A".into(), "b".into()), ("EMPTY".into(), String::new())]
        );
        assert_eq!(p.mode, ExecInteractiveMode::Never);

        // v1beta1 defaults interactiveMode to IfAvailable; v1 must set it.
        let p = plan(&exec(
            "apiVersion: client.authentication.k8s.io/v1beta1\ncommand: x\n",
        ))
        .unwrap();
        assert_eq!(p.mode, ExecInteractiveMode::IfAvailable);
        for (yaml, want) in [
            (
                "apiVersion: client.authentication.k8s.io/v1\ncommand: x\n",
                "interactiveMode must be set",
            ),
            (
                "command: x\ninteractiveMode: Never\n",
                "apiVersion must be set",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1alpha1\ncommand: x\ninteractiveMode: Never\n",
                "unsupported apiVersion",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1\ninteractiveMode: Never\n",
                "command must be set",
            ),
            (
                "apiVersion: client.authentication.k8s.io/v1\ncommand: x\ninteractiveMode: Never\nenv: [{value: v}]\n",
                "env entry without a name",
            ),
        ] {
            let err = plan(&exec(yaml)).unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }

    #[test]
    fn stdin_goes_to_the_plugin_as_client_go_decides() {
        use ExecInteractiveMode::{Always, IfAvailable, Never};
        assert!(!interactive(&Never, true).unwrap());
        assert!(!interactive(&Never, false).unwrap());
        assert!(interactive(&IfAvailable, true).unwrap());
        assert!(!interactive(&IfAvailable, false).unwrap());
        assert!(interactive(&Always, true).unwrap());
        assert!(matches!(
            interactive(&Always, false),
            Err(ExecFailure::NotATerminal)
        ));
    }

    #[test]
    fn exec_info_carries_interactive_and_the_cluster() {
        let cluster: kube::config::Cluster = serde_saphyr::from_str(
            "server: https://10.0.0.1:6443\ncertificate-authority-data: Q0EK\n\
             tls-server-name: api\ndisable-compression: true\n\
             extensions: [{name: client.authentication.k8s.io/exec, extension: {audience: a1}}, {name: other, extension: x}]\n",
        )
        .unwrap();
        let info: Value =
            serde_json::from_str(&exec_info(V1, false, Some(cluster_info(&cluster).unwrap())))
                .unwrap();
        assert_eq!(
            info,
            json!({
                "kind": "ExecCredential",
                "apiVersion": V1,
                "spec": {
                    "interactive": false,
                    "cluster": {
                        "server": "https://10.0.0.1:6443",
                        "certificate-authority-data": "Q0EK",
                        "tls-server-name": "api",
                        "disable-compression": true,
                        "config": {"audience": "a1"}
                    }
                }
            })
        );
        let info: Value = serde_json::from_str(&exec_info(V1BETA1, true, None)).unwrap();
        assert_eq!(
            info,
            json!({"kind": "ExecCredential", "apiVersion": V1BETA1, "spec": {"interactive": true}})
        );
    }

    #[test]
    fn a_token_or_a_certificate_in_json_or_yaml() {
        let c = parse(
            format!(
                r#"{{"kind":"ExecCredential","apiVersion":"{V1}","status":{{"token":"{SECRET}","expirationTimestamp":"2030-01-02T03:04:05Z"}}}}"#
            )
            .as_bytes(),
            V1,
        )
        .unwrap();
        assert_eq!(c.token.unwrap().expose_secret(), SECRET);
        assert!(c.certificate.is_none());
        assert_eq!(c.expires.unwrap().to_string(), "2030-01-02T03:04:05Z");
        // YAML, and no kind (client-go fills it in).
        let c = parse(
            format!("apiVersion: {V1BETA1}\nstatus:\n  token: {SECRET}\n").as_bytes(),
            V1BETA1,
        )
        .unwrap();
        assert_eq!(c.token.unwrap().expose_secret(), SECRET);
        let c = parse(
            serde_json::to_string(&json!({
                "apiVersion": V1, "kind": "ExecCredential",
                "status": {"clientCertificateData": CERT, "clientKeyData": KEY}
            }))
            .unwrap()
            .as_bytes(),
            V1,
        )
        .unwrap();
        let (certificate, key) = c.certificate.unwrap();
        assert_eq!(certificate, CERT);
        assert_eq!(key.expose_secret(), KEY);
        assert!(c.token.is_none());
    }

    #[test]
    fn bad_output_is_refused_without_quoting_it() {
        let status = |s: Value| {
            serde_json::to_string(&json!({"apiVersion": V1, "kind": "ExecCredential", "status": s}))
                .unwrap()
        };
        for (out, want) in [
            (String::new(), "printed nothing"),
            (format!("{SECRET}\n"), "not an ExecCredential"),
            (
                format!("{{\"token\": \"{SECRET}\"\n"),
                "not an ExecCredential",
            ),
            (
                format!(r#"{{"kind":"{SECRET}","apiVersion":"{V1}"}}"#),
                "not an ExecCredential",
            ),
            (
                format!(r#"{{"apiVersion":"{SECRET}","status":{{"token":"{SECRET}"}}}}"#),
                "but returned another or none",
            ),
            (
                format!(r#"{{"apiVersion":"{V1BETA1}","status":{{"token":"{SECRET}"}}}}"#),
                "returned client.authentication.k8s.io/v1beta1",
            ),
            (format!(r#"{{"apiVersion":"{V1}"}}"#), "no status"),
            (
                format!(r#"{{"apiVersion":"{V1}","status":"{SECRET}"}}"#),
                "status",
            ),
            (status(json!({})), "neither a token nor"),
            (status(json!({"token": ""})), "neither a token nor"),
            (status(json!({"token": [SECRET]})), "token"),
            (status(json!({"clientCertificateData": CERT})), "not both"),
            (status(json!({"clientKeyData": SECRET})), "not both"),
            (
                status(json!({"clientCertificateData": SECRET, "clientKeyData": SECRET})),
                "not PEM",
            ),
            (
                status(json!({"token": SECRET, "expirationTimestamp": "soon"})),
                "expirationTimestamp",
            ),
        ] {
            let err = match parse(out.as_bytes(), V1) {
                Ok(_) => panic!("{out}: accepted"),
                Err(e) => e.to_string(),
            };
            assert!(err.contains(want), "{out}: {err}");
            assert!(!err.contains(SECRET), "{out}: {err}");
        }
    }

    #[test]
    fn the_credential_replaces_exec_and_names_the_user_by_certificate() {
        let mut auth = AuthInfo {
            exec: Some(exec("command: x\n")),
            ..AuthInfo::default()
        };
        apply(
            &mut auth,
            Credential {
                token: None,
                certificate: Some((CERT.to_owned(), SecretString::from(KEY))),
                expires: None,
            },
        );
        assert!(auth.exec.is_none() && auth.token.is_none());
        assert_eq!(
            crate::connect::identity::identity_of(&auth).as_deref(),
            Some("carol")
        );

        let mut auth = AuthInfo {
            exec: Some(exec("command: x\n")),
            ..AuthInfo::default()
        };
        apply(
            &mut auth,
            Credential {
                token: Some(SecretString::from(SECRET)),
                certificate: None,
                expires: None,
            },
        );
        assert!(auth.exec.is_none());
        assert_eq!(auth.token.unwrap().expose_secret(), SECRET);
    }

    #[test]
    fn other_credentials_in_the_entry_win_over_the_plugin_as_in_client_go() {
        let with = |yaml: &str| -> AuthInfo {
            serde_saphyr::from_str(&format!(
                "{yaml}\nexec: {{command: x, apiVersion: {V1}, interactiveMode: Never}}\n"
            ))
            .unwrap()
        };
        assert!(runs(&with("username: ''")));
        assert!(!runs(&with("token: t")));
        assert!(runs(&with("token: ''")));
        assert!(!runs(&with("tokenFile: /t")));
        assert!(!runs(&with("username: u")));
        assert!(!runs(&with("client-certificate: /c\nclient-key: /k")));
        assert!(!runs(&with(
            "client-certificate-data: Yw==\nclient-key-data: aw=="
        )));
        // A certificate without a key is not certificate auth.
        assert!(runs(&with("client-certificate: /c")));
    }

    #[test]
    fn install_hints_lose_escape_sequences() {
        assert_eq!(
            clean_hint("\u{1b}[31mbrew install x\u{1b}[0m\nor apt\n"),
            "[31mbrew install x[0m\nor apt"
        );
    }

    /// A throwaway self-signed certificate, subject `O=dev, CN=carol`, and its key (EC P-256,
    /// made for these tests with `openssl req -x509`; it is used nowhere else).
    const CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBkzCCATmgAwIBAgIUN9FoGQb4tg6yHeWvdGNXG9cViXIwCgYIKoZIzj0EAwIw
HjEMMAoGA1UECgwDZGV2MQ4wDAYDVQQDDAVjYXJvbDAgFw0yNjExMzAyMDUxMjNa
GA8yMTI2MTEwNjIwNTEyM1owHjEMMAoGA1UECgwDZGV2MQ4wDAYDVQQDDAVjYXJv
bDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABEhVN9hW7O/2VQZ86X+jJ0GHQ5Ma
3A2vdTbgnve+vmR5Gsrj6KfFA1bBrkR2+qWhjzoclI0n/9AfgDiSkhCvEkmjUzBR
MB0GA1UdDgQWBBSyE6F+BP/CJG24em8fgmh3eF/yLTAfBgNVHSMEGDAWgBSyE6F+
BP/CJG24em8fgmh3eF/yLTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gA
MEUCIBfXHBSmA85z7zfoVNIDN0Oj7PsgWJi0G36emHld8SZWAiEAwnfp8iUh3CNO
qCGreObuNNmWOW+6oSyNTIGXxqHrCmw=
-----END CERTIFICATE-----
";
    const KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgg80sgOst6qPFre01
rZi2iUa0dndsjUY9sl/5KYx8KLmhRANCAARIVTfYVuzv9lUGfOl/oydBh0OTGtwN
r3U24J73vr5keRrK4+inxQNWwa5EdvqloY86HJSNJ//QH4A4kpIQrxJJ
-----END PRIVATE KEY-----
";
}

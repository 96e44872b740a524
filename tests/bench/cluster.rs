//! The local cluster as the benchmark sees it: kubectl for fixtures, and the two logs that time
//! what happens inside it — the apiserver's audit log (every request, with the time it was
//! received and who sent it) and containerd's log (when the runtime started a container).

use std::fmt::Write as _;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Pods created at once, then waited for, by `Cluster::create_pods`.
const POD_BATCH: usize = 100;

pub struct Cluster {
    pub kubeconfig: PathBuf,
    pub kubectl: PathBuf,
    pub toolbox_image: String,
    /// A toolbox of more than 1,000 programs (tests/images/README.md, B7).
    pub large_toolbox_image: String,
    /// An image no registry serves: its pull fails at once.
    pub missing_image: String,
    /// The toolbox plus 300 MB of incompressible data, in the test registry only: the node
    /// pulls it (tests/images/big.sh).
    pub big_image: String,
    /// containerd's socket and crictl, with which [`Cluster::remove_image`] removes an image
    /// from the node.
    pub containerd_sock: String,
    pub crictl: String,
    pub target_image: String,
    pub audit_log: PathBuf,
    pub containerd_log: PathBuf,
}

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| {
        format!("{name} is not set: the benchmark runs against the local cluster; start it with tests/bench/run.sh")
    })
}

impl Cluster {
    pub fn from_env() -> Result<Cluster, String> {
        let dir = PathBuf::from(env("DD_CLUSTER_DIR")?);
        let c = Cluster {
            kubeconfig: env("DD_KUBECONFIG")?.into(),
            kubectl: Path::new(&env("K8S_BIN")?).join("kubectl"),
            toolbox_image: env("DD_TOOLBOX_IMAGE")?,
            large_toolbox_image: env("DD_TOOLBOX_LARGE_IMAGE")?,
            missing_image: env("DD_MISSING_IMAGE")?,
            big_image: env("DD_REGISTRY_BIG_IMAGE")?,
            containerd_sock: env("DD_CONTAINERD_SOCK")?,
            crictl: env("DD_CRICTL")?,
            target_image: env("DD_TARGET_IMAGE")?,
            audit_log: dir.join("logs/audit.log"),
            containerd_log: dir.join("logs/containerd.log"),
        };
        let ready = c.kubectl(&["get", "--raw", "/readyz"], None);
        if !ready.status.success() {
            return Err(format!(
                "the local cluster does not answer: {}",
                String::from_utf8_lossy(&ready.stderr)
            ));
        }
        Ok(c)
    }

    /// Removes `image` from the node with its content (where no other image shares it), so
    /// that the next container of it pulls every layer.
    pub fn remove_image(&self, image: &str) -> Result<(), String> {
        crate::support::remove_image(&self.crictl, &self.containerd_sock, image)
    }

    /// The kubelet's `Pulled` events of a pod's containers that name `image`.
    pub fn pulled_events(&self, ns: &str, pod: &str, image: &str) -> Result<Vec<String>, String> {
        let out = self.kubectl_ok(
            &[
                "-n",
                ns,
                "get",
                "events",
                "--field-selector",
                &format!("involvedObject.name={pod},reason=Pulled"),
                "-o",
                "jsonpath={range .items[*]}{.message}{\"\\n\"}{end}",
            ],
            None,
        )?;
        Ok(out
            .lines()
            .filter(|l| l.contains(image))
            .map(str::to_owned)
            .collect())
    }

    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>) -> Output {
        crate::support::kubectl(&self.kubectl, &self.kubeconfig, args, stdin)
    }

    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> Result<String, String> {
        let out = self.kubectl(args, stdin);
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(format!(
                "kubectl {args:?} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    /// A namespace and its pods of the target image; waits until every pod is ready.
    /// `pods`: name and extra labels.
    pub fn create_pods(
        &self,
        ns: &str,
        pods: &[(String, Vec<(String, String)>)],
    ) -> Result<Duration, String> {
        let t0 = Instant::now();
        self.kubectl_ok(
            &["apply", "-f", "-"],
            Some(&format!(
                "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"
            )),
        )?;
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self
            .kubectl(&["-n", ns, "get", "serviceaccount", "default"], None)
            .status
            .success()
        {
            if Instant::now() > deadline {
                return Err(format!("no default service account in {ns}"));
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        // In batches, each waited for: a 2-core node given hundreds of pods at once times out
        // creating their containers (RunContainerError) and retries with back-off.
        for batch in pods.chunks(POD_BATCH) {
            let mut yaml = String::new();
            for (name, labels) in batch {
                let mut l = String::new();
                for (k, v) in labels {
                    let _ = write!(l, ", {k}: \"{v}\"");
                }
                let _ = write!(
                    yaml,
                    r"---
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: {ns}
  labels: {{bench: target{l}}}
spec:
  terminationGracePeriodSeconds: 1
  automountServiceAccountToken: false
  enableServiceLinks: false
  securityContext:
    runAsNonRoot: true
    runAsUser: 65532
    runAsGroup: 65532
    seccompProfile: {{type: RuntimeDefault}}
  containers:
  - name: app
    image: {image}
    imagePullPolicy: Never
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
      capabilities: {{drop: [ALL]}}
",
                    image = self.target_image
                );
            }
            self.kubectl_ok(&["apply", "-f", "-"], Some(&yaml))?;
            self.kubectl_ok(
                &[
                    "-n",
                    ns,
                    "wait",
                    "pod",
                    "--all",
                    "--for=condition=Ready",
                    "--timeout=600s",
                ],
                None,
            )?;
        }
        Ok(t0.elapsed())
    }

    pub fn delete_namespace(&self, ns: &str) {
        let _ = self.kubectl(&["delete", "namespace", ns, "--wait=false"], None);
    }

    /// Names of the pod's ephemeral containers.
    pub fn ephemeral_containers(&self, ns: &str, pod: &str) -> Vec<String> {
        self.kubectl_ok(
            &[
                "-n",
                ns,
                "get",
                "pod",
                pod,
                "-o",
                "jsonpath={.spec.ephemeralContainers[*].name}",
            ],
            None,
        )
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
    }

    /// The pod's ephemeral containers that run now (a shell's container ends with its shell).
    pub fn running_ephemeral_containers(&self, ns: &str, pod: &str) -> Vec<String> {
        self.kubectl_ok(
            &[
                "-n",
                ns,
                "get",
                "pod",
                pod,
                "-o",
                "jsonpath={range .status.ephemeralContainerStatuses[?(@.state.running)]}{.name} {end}",
            ],
            None,
        )
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
    }
}

/// Bytes a log file holds now: where to start reading what comes next.
pub fn log_offset(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// What a log gained since `offset` (from the start if it was rotated).
pub fn log_since(path: &Path, offset: u64) -> String {
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map_or(0, |m| m.len());
    let from = if len >= offset { offset } else { 0 };
    let mut s = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_ok() {
        let _ = f.read_to_end(&mut s);
    }
    String::from_utf8_lossy(&s).into_owned()
}

/// One request in the audit log (its events for several stages share one auditID).
#[derive(Clone, Debug)]
pub struct Request {
    pub id: String,
    pub received_ns: i128,
    pub verb: String,
    pub uri: String,
    pub resource: String,
    pub subresource: String,
    /// The object's name (for a create, the new object's).
    pub name: String,
    pub impersonated: String,
}

/// The requests in `text` (audit log lines) that mention `filter`, one per auditID, in order.
pub fn audit_requests(text: &str, filter: &str) -> Vec<Request> {
    let mut out: Vec<Request> = Vec::new();
    for line in text.lines().filter(|l| l.contains(filter)) {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
        let id = s(&e["auditID"]);
        if out.iter().any(|r| r.id == id) {
            continue;
        }
        let o = &e["objectRef"];
        out.push(Request {
            id,
            received_ns: parse_time(e["requestReceivedTimestamp"].as_str().unwrap_or_default())
                .unwrap_or(0),
            verb: s(&e["verb"]),
            uri: s(&e["requestURI"]),
            resource: s(&o["resource"]),
            subresource: s(&o["subresource"]),
            name: s(&o["name"]),
            impersonated: s(&e["impersonatedUser"]["username"]),
        });
    }
    out.sort_by_key(|r| r.received_ns);
    out
}

/// When containerd finished starting the container named `name` (from its "CreateContainer …
/// returns container id" and "StartContainer for … returns successfully" lines).
pub fn container_started_ns(containerd_log: &str, name: &str) -> Option<i128> {
    // The container's metadata in CreateContainer's log line: `Name:NAME,` from containerd
    // 1.6, `name:\"NAME\"` (protobuf text) from containerd 2.
    let tags = [format!("Name:{name},"), format!("name:\\\"{name}\\\"")];
    let id = containerd_log
        .lines()
        .filter(|l| tags.iter().any(|t| l.contains(t)) && l.contains("returns container id"))
        .find_map(|l| {
            let i = l.find("returns container id \\\"")? + "returns container id \\\"".len();
            Some(l[i..].split('\\').next()?.to_owned())
        })?;
    let start = format!("StartContainer for \\\"{id}\\\" returns successfully");
    let line = containerd_log.lines().find(|l| l.contains(&start))?;
    let t = line.strip_prefix("time=\"")?.split('"').next()?;
    parse_time(t)
}

/// "2026-11-27T06:08:34.095998Z" (UTC, any number of fraction digits) as nanoseconds since the
/// epoch.
pub fn parse_time(s: &str) -> Option<i128> {
    let s = s.strip_suffix('Z')?;
    let (date, time) = s.split_once('T')?;
    let mut d = date.split('-').map(str::parse::<i64>);
    let (y, m, day) = (d.next()?.ok()?, d.next()?.ok()?, d.next()?.ok()?);
    let (hms, frac) = time.split_once('.').unwrap_or((time, "0"));
    let mut t = hms.split(':').map(str::parse::<i64>);
    let (hh, mm, ss) = (t.next()?.ok()?, t.next()?.ok()?, t.next()?.ok()?);
    let mut nanos: i128 = 0;
    for (i, c) in frac.chars().take(9).enumerate() {
        nanos += i128::from(c.to_digit(10)?) * 10i128.pow(8 - u32::try_from(i).ok()?);
    }
    let days = days_from_civil(y, m, day);
    Some(i128::from(((days * 24 + hh) * 60 + mm) * 60 + ss) * 1_000_000_000 + nanos)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

pub fn unix_ns(t: SystemTime) -> i128 {
    i128::try_from(t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())).unwrap_or(0)
}

//! Bad input on the real cluster: a malformed image is refused before anything is written, and
//! a container the API server finds invalid is reported with the server's causes.

use crate::harness::{Namespace, cluster, plugin_env, run_plugin, text};

#[test]
fn invalid_image_and_invalid_container_are_explained() {
    let ns = Namespace::new("badinput", None);
    ns.target_pod("app");
    let c = cluster();

    // The API server accepts any image string and the kubelet fails later with
    // InvalidImageName, after the container was added for good: refused here, exit code 2.
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--image",
            "UPPER/Case::bad",
            "--",
            "id",
        ],
        &plugin_env(),
    );
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: invalid value 'UPPER/Case::bad' for '--image <IMAGE>': invalid tag \":bad\""
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint:"), "{stderr}");
    assert!(c.pod_json(&ns.name, "app")["spec"]["ephemeralContainers"].is_null());

    // ports are forbidden on ephemeral containers: the server's 422 and its causes.
    let dir = std::env::temp_dir().join(format!("dd-badinput-{}", ns.name));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let custom = dir.join("ports.yaml");
    std::fs::write(&custom, "ports: [{containerPort: 80}]\n").expect("write --custom");
    let out = run_plugin(
        &[
            "-n",
            &ns.name,
            "pod/app",
            "--custom",
            &custom.display().to_string(),
            "--",
            "id",
        ],
        &plugin_env(),
    );
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("error: the API server rejected the request as invalid:")
            && stderr.contains("spec.ephemeralContainers[0].ports: Forbidden"),
        "the server's cause, field by field:\n{stderr}"
    );
    assert!(
        stderr.contains("hint:") && stderr.contains("ports"),
        "{stderr}"
    );
    assert!(c.pod_json(&ns.name, "app")["spec"]["ephemeralContainers"].is_null());
}

//! Parsers of flag values: durations as kubectl takes them, image references as the kubelet
//! parses them, `--env KEY=VALUE`. Pure; each is a clap `value_parser`.

use std::time::Duration;

/// Prefix of the variables this tool sets in the debug container; `--env` may not use it.
pub(crate) const RESERVED_ENV_PREFIX: &str = "DISTROLESS_DEBUG_";

/// `KEY=VALUE` for `--env`. Keys follow Kubernetes' rule for env names; the tool's own prefix
/// and `TARGET_ROOT` are reserved.
pub fn parse_env(s: &str) -> Result<(String, String), String> {
    let Some((key, value)) = s.split_once('=') else {
        return Err("expected KEY=VALUE".to_owned());
    };
    let valid = !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if !valid {
        return Err(format!(
            "invalid name {key:?} (letters, digits, '_', '-', '.'; not starting with a digit)"
        ));
    }
    if key.starts_with(RESERVED_ENV_PREFIX) || key == "TARGET_ROOT" {
        return Err(format!("{key} is set by distroless-debug itself"));
    }
    Ok((key.to_owned(), value.to_owned()))
}

/// An image reference as the kubelet parses it (distribution's reference grammar):
/// `[HOST[:PORT]/]PATH[:TAG][@ALGO:HEX]`, PATH components lowercase letters and digits
/// separated by `.`, `_`, `__` or `-`s; at most 255 characters before the tag.
pub fn validate_image(image: &str) -> Result<(), String> {
    if image.is_empty() {
        return Err("empty".to_owned());
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let (algo, hex) = d
            .split_once(':')
            .ok_or("a digest is ALGORITHM:HEX, e.g. sha256:...")?;
        let algo_ok = !algo.is_empty()
            && algo.split(['+', '.', '_', '-']).all(|p| {
                !p.is_empty()
                    && p.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            });
        let hex_ok = hex.len() >= 32
            && hex
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'=' | b'_' | b'-'));
        if !algo_ok || !hex_ok {
            return Err(format!("invalid digest {d:?}"));
        }
    }
    // The tag is after the last ':' that follows the last '/' (a registry port is before it).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].find(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let ok = !t.is_empty()
            && t.len() <= 128
            && t.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !ok {
            return Err(format!(
                "invalid tag {t:?}: letters, digits, '_', '.' and '-', at most 128"
            ));
        }
    }
    if name.is_empty() {
        return Err("no repository name".to_owned());
    }
    if name.len() > 255 {
        return Err("the repository name is longer than 255 characters".to_owned());
    }
    let mut components: Vec<&str> = name.split('/').collect();
    // Like docker: the first component is a registry host when it has '.' or ':', is
    // localhost, or has uppercase letters.
    if components.len() > 1 {
        let first = components[0];
        if first.contains(['.', ':']) || first == "localhost" || first.to_lowercase() != first {
            validate_registry(first)?;
            components.remove(0);
        }
    }
    for c in components {
        if !is_path_component(c) {
            return Err(format!(
                "invalid repository path component {c:?}: lowercase letters and digits, separated by '.', '_', '__' or '-'"
            ));
        }
    }
    Ok(())
}

fn validate_registry(host: &str) -> Result<(), String> {
    let (h, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || host.starts_with('[') => (h, Some(p)),
        _ => (host, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(v6) = h.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
        v6.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !h.is_empty()
            && h.split('.').all(|label| {
                !label.is_empty()
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !label.starts_with('-')
                    && !label.ends_with('-')
            })
    };
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("invalid registry host {host:?}"))
    }
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn is_path_component(c: &str) -> bool {
    let b = c.as_bytes();
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

/// Durations as kubectl takes them: `0`, a bare number of seconds, or units `h`, `m`, `s`,
/// `ms` combined (`1m30s`, `500ms`).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    if s.is_empty() {
        return Err("empty duration".to_owned());
    }
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = s;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err("expected a number, e.g. 30s, 2m, 1h".to_owned());
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| "number too large".to_owned())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let part = match &rest[..unit_len] {
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "s" => Duration::from_secs(n),
            "ms" => Duration::from_millis(n),
            unit => {
                return Err(format!("unknown unit {unit:?} (use h, m, s or ms)"));
            }
        };
        total = total.saturating_add(part);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_parsing() {
        assert_eq!(parse_env("A=b=c").unwrap(), ("A".into(), "b=c".into()));
        assert_eq!(parse_env("A=").unwrap(), ("A".into(), String::new()));
        assert!(parse_env("=x").is_err());
        assert!(parse_env("1A=x").is_err());
        assert!(parse_env("TARGET_ROOT=/").is_err());
    }

    #[test]
    fn image_references() {
        for ok in [
            "busybox",
            "busybox:1.37",
            "docker.io/nicolaka/netshoot:v0.13",
            "localhost:5000/a/b_c__d-e---f:latest",
            "Registry.Example.COM/team/tool:1",
            "[::1]:5000/tool",
            "tool@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            "tool:v1@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ] {
            assert_eq!(validate_image(ok), Ok(()), "{ok}");
        }
        for (bad, want) in [
            ("UPPER/Case::bad", "tag"),
            ("UPPER/Case:bad", "path component \"Case\""),
            ("Busybox", "path component"),
            ("a b", "path component"),
            ("tool:", "tag"),
            ("tool:-x", "tag"),
            ("/tool", "path component \"\""),
            ("tool/", "path component"),
            ("a..b", "path component"),
            ("tool@sha256:abc", "digest"),
            ("tool@", "digest"),
            ("", "empty"),
            ("bad_host:x:y/tool", "registry"),
        ] {
            let err = validate_image(bad).unwrap_err();
            assert!(err.contains(want), "{bad:?}: {err}");
        }
        assert!(validate_image(&"a".repeat(256)).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("45").unwrap(), Duration::from_secs(45));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
    }
}

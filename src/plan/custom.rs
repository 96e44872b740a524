//! `--custom`: a partial container spec, parsed, checked and merged on top of ours. Pure.

use k8s_openapi::api::core::v1::EphemeralContainer;
use serde_json::Value;

/// A partial container spec from `--custom`, parsed and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Custom(pub(crate) serde_json::Map<String, Value>);

/// Fields `--custom` may not set.
const CUSTOM_REFUSED: &[&str] = &["name", "image", "command", "args", "targetContainerName"];

impl Custom {
    /// Parses JSON or YAML text (JSON is YAML, but its errors read better as JSON).
    pub fn parse(text: &str) -> Result<Custom, String> {
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?
        } else {
            serde_saphyr::from_str(text).map_err(|e| format!("invalid YAML: {e}"))?
        };
        let Value::Object(map) = value else {
            return Err("expected an object (a partial container spec)".to_owned());
        };
        if let Some(bad) = CUSTOM_REFUSED.iter().find(|k| map.contains_key(**k)) {
            return Err(format!(
                "may not set {bad:?} (use --image, -c/--container or -- COMMAND instead)"
            ));
        }
        // The audit record and the plugin's own settings are the plugin's to write.
        let reserved = map
            .get("env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("name").and_then(Value::as_str))
            .find(|n| n.starts_with(crate::cli::parse::RESERVED_ENV_PREFIX) || *n == "TARGET_ROOT");
        if let Some(name) = reserved {
            return Err(format!(
                "may not set env {name:?}: distroless-debug sets it itself"
            ));
        }
        // Unknown fields would be dropped silently by the typed struct: refuse them.
        let probe: EphemeralContainer = serde_json::from_value(Value::Object(
            map.clone()
                .into_iter()
                .chain([("name".to_owned(), Value::String("x".into()))])
                .collect(),
        ))
        .map_err(|e| format!("not a valid container spec: {e}"))?;
        let known = serde_json::to_value(&probe).map_err(|e| format!("internal: {e}"))?;
        for key in map.keys() {
            let kept = known.get(key).is_some() || map.get(key) == Some(&Value::Null);
            if !kept {
                return Err(format!("unknown or empty container field {key:?}"));
            }
        }
        Ok(Custom(map))
    }
}

/// Merges `patch` into `base` as a strategic merge patch does for a container (kubectl debug
/// applies `--custom` that way): objects merge key by key, `null` deletes, the lists with a
/// patch merge key in the API types merge by it (`env` by `name`, `volumeMounts` by
/// `mountPath`, `volumeDevices` by `devicePath`), every other list (`envFrom` too) is replaced.
pub(crate) fn merge(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, pv) in p {
                if pv.is_null() {
                    b.remove(k);
                    continue;
                }
                let key = match k.as_str() {
                    "env" => Some("name"),
                    "volumeMounts" => Some("mountPath"),
                    "volumeDevices" => Some("devicePath"),
                    _ => None,
                };
                match (b.get_mut(k), key, pv) {
                    (Some(Value::Array(bl)), Some(key), Value::Array(pl)) => {
                        for item in pl {
                            let id = item.get(key);
                            match bl.iter_mut().find(|x| id.is_some() && x.get(key) == id) {
                                Some(existing) => merge(existing, item),
                                None => bl.push(item.clone()),
                            }
                        }
                    }
                    (Some(bv @ Value::Object(_)), _, Value::Object(_)) => merge(bv, pv),
                    _ => {
                        b.insert(k.clone(), pv.clone());
                    }
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn custom_refusals() {
        for (text, want) in [
            (r#"{"name": "x"}"#, "may not set \"name\""),
            ("image: busybox", "may not set \"image\""),
            ("command: [sh]", "may not set \"command\""),
            ("args: [x]", "may not set \"args\""),
            ("[1, 2]", "expected an object"),
            ("{not json", "invalid JSON"),
            ("securityContext: [", "invalid YAML"),
            ("colour: red", "unknown or empty container field \"colour\""),
            (
                "env: [{name: DISTROLESS_DEBUG_BY, value: someone}]",
                "may not set env \"DISTROLESS_DEBUG_BY\"",
            ),
            (
                "env: [{name: TARGET_ROOT, value: /}]",
                "may not set env \"TARGET_ROOT\"",
            ),
            (
                "securityContext: {runAsUser: abc}",
                "not a valid container spec",
            ),
        ] {
            let err = Custom::parse(text).unwrap_err();
            assert!(err.contains(want), "{text}: {err}");
        }
    }

    #[test]
    fn merge_semantics() {
        let mut base = json!({"a": {"b": 1, "c": 2}, "l": [1, 2], "volumeMounts": [{"mountPath": "/x", "name": "v"}]});
        merge(
            &mut base,
            &json!({"a": {"b": null, "d": 4}, "l": [3], "volumeMounts": [{"mountPath": "/x", "readOnly": true}, {"mountPath": "/y", "name": "w"}]}),
        );
        assert_eq!(
            base,
            json!({"a": {"c": 2, "d": 4}, "l": [3], "volumeMounts": [{"mountPath": "/x", "name": "v", "readOnly": true}, {"mountPath": "/y", "name": "w"}]})
        );
        // env merges by name; envFrom has no merge key and is replaced.
        let mut base = json!({
            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
            "envFrom": [{"configMapRef": {"name": "one"}}]
        });
        merge(
            &mut base,
            &json!({
                "env": [{"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                "envFrom": [{"secretRef": {"name": "two"}}]
            }),
        );
        assert_eq!(
            base,
            json!({
                "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "3"}, {"name": "C", "value": "4"}],
                "envFrom": [{"secretRef": {"name": "two"}}]
            })
        );
    }
}

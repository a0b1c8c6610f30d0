//! What kind of file an input is: a deploy manifest, a Compose file or Kubernetes manifests.

use serde_json::Value;

/// The kind of an input file, recognised from its content (see [`Kind::detect`]) or given with
/// `--kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// preflight's own `deploy.yaml`.
    Deploy,
    /// A Docker Compose file (`compose.yaml`, `docker-compose.yml`, any name).
    Compose,
    /// Kubernetes manifests (one or several documents, `kind: List`, rendered Helm charts).
    Kubernetes,
}

impl Kind {
    /// The name as `--kind` takes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deploy => "deploy",
            Kind::Compose => "compose",
            Kind::Kubernetes => "kubernetes",
        }
    }

    /// Whether a file name is one Compose looks for (`compose.yaml`, `docker-compose.yml`, and their
    /// `*.override.*` and other variants).
    pub fn compose_name(name: &str) -> bool {
        let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
        (base.starts_with("compose") || base.starts_with("docker-compose"))
            && (base.ends_with(".yaml") || base.ends_with(".yml"))
    }

    /// Whether the text holds more than one YAML document: a `---` line after some content, as
    /// Kubernetes files and `helm template` output have (a leading `---` alone starts the first).
    pub fn several_documents(text: &str) -> bool {
        // Content, a separator, then content again (a trailing `---` starts no document).
        let (mut content, mut separated) = (false, false);
        for line in text.lines() {
            let t = line.trim_end();
            if t == "---" || t.starts_with("--- ") {
                separated = content;
            } else if !t.is_empty() && !t.starts_with('#') && !t.starts_with('%') {
                if separated {
                    return true;
                }
                content = true;
            }
        }
        false
    }

    /// Recognises a parsed document: `apiVersion` and `kind` make a Kubernetes object; `version: 1`
    /// (the number, as only deploy manifests write it), `target` or `port_plan` a deploy manifest;
    /// `services` without those a Compose file (whose `version`, when present, is `"3.8"`, 3.8 or 2),
    /// unless a service writes `ports` as a map, as only deploy manifests do. Anything else is read as
    /// a deploy manifest, so its schema says what is wrong.
    pub fn detect(value: &Value) -> Kind {
        let Some(map) = value.as_object() else {
            return Kind::Deploy;
        };
        if map.contains_key("apiVersion") && map.contains_key("kind") {
            return Kind::Kubernetes;
        }
        // Only deploy manifests write `version: 1`; Compose writes "3.8", 3.8 or 2.
        let deploy_version = map.get("version").and_then(Value::as_u64) == Some(1);
        if deploy_version || map.contains_key("target") || map.contains_key("port_plan") {
            return Kind::Deploy;
        }
        // Deploy manifests write `ports` as a map of names; Compose always as a list.
        if let Some(services) = map.get("services").and_then(Value::as_object) {
            let ports_map = services
                .values()
                .any(|s| s.get("ports").is_some_and(Value::is_object));
            return if ports_map {
                Kind::Deploy
            } else {
                Kind::Compose
            };
        }
        Kind::Deploy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognised_from_content() {
        assert_eq!(
            Kind::detect(&json!({"version": 1, "services": {}})),
            Kind::Deploy
        );
        assert_eq!(
            Kind::detect(&json!({"target": {}, "services": {}})),
            Kind::Deploy
        );
        assert_eq!(
            Kind::detect(&json!({"version": "3.8", "services": {"a": {}}})),
            Kind::Compose
        );
        assert_eq!(
            Kind::detect(&json!({"services": {"a": {"image": "x"}}})),
            Kind::Compose
        );
        assert_eq!(
            Kind::detect(&json!({"apiVersion": "v1", "kind": "Pod"})),
            Kind::Kubernetes
        );
        assert_eq!(Kind::detect(&json!([1])), Kind::Deploy);
        assert_eq!(Kind::detect(&json!({"services": []})), Kind::Deploy);
    }

    #[test]
    fn compose_versions_are_not_deploy_versions() {
        assert_eq!(
            Kind::detect(&json!({"version": 2, "services": {"a": {"ports": {"http": 80}}}})),
            Kind::Deploy
        );
        assert_eq!(
            Kind::detect(&json!({"version": 3.8, "services": {"a": {}}})),
            Kind::Compose
        );
        assert_eq!(
            Kind::detect(&json!({"version": 2, "services": {"a": {}}})),
            Kind::Compose
        );
    }

    #[test]
    fn several_documents_need_content_on_both_sides() {
        assert!(Kind::several_documents("a: 1\n---\nb: 2\n"));
        assert!(!Kind::several_documents("---\na: 1\n"));
        assert!(!Kind::several_documents("a: 1\n---\n"));
        assert!(!Kind::several_documents("a: 1\n---\n# only a comment\n"));
    }
}

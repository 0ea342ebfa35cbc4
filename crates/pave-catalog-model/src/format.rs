//! Character-level format rules for entity fields.
//!
//! These mirror Backstage's `KubernetesValidatorFunctions` and
//! `CommonValidatorFunctions` (packages/catalog-model/src/validation). They are
//! written as plain character checks instead of regular expressions: they run
//! for every field of every entity on ingestion, and the rules are small enough
//! that the hand-written form is both faster and easy to compare with the
//! regular expressions quoted on each function.

/// The longest entity name, namespace, kind, DNS label or tag, in characters.
pub const MAX_NAME_LENGTH: usize = 63;

/// The longest DNS subdomain (the prefix of an apiVersion, label key or
/// annotation key), in characters.
pub const MAX_SUBDOMAIN_LENGTH: usize = 253;

/// An object name: `metadata.name`, the name part of label and annotation keys,
/// label values and link icons.
///
/// Rule: 1-63 characters matching `^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`.
pub fn is_valid_object_name(value: &str) -> bool {
    let bytes = value.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    bytes.len() <= MAX_NAME_LENGTH
        && first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// A DNS label (RFC 1123): namespaces, and each dot-separated part of a DNS
/// subdomain.
///
/// Rule: 1-63 characters matching `^[a-z0-9]+(-[a-z0-9]+)*$`.
pub fn is_valid_dns_label(value: &str) -> bool {
    is_dash_separated(value, |byte| {
        byte.is_ascii_lowercase() || byte.is_ascii_digit()
    })
}

/// A DNS subdomain (RFC 1123): 1-253 characters, dot-separated DNS labels.
pub fn is_valid_dns_subdomain(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_SUBDOMAIN_LENGTH
        && value.split('.').all(is_valid_dns_label)
}

/// A namespace (`metadata.namespace`): a DNS label.
pub fn is_valid_namespace(value: &str) -> bool {
    is_valid_dns_label(value)
}

/// An `apiVersion`: `[dns-subdomain/]version` where version is
/// `[a-z0-9A-Z]{1,63}`, e.g. `backstage.io/v1alpha1` or `v1`.
pub fn is_valid_api_version(value: &str) -> bool {
    is_valid_prefix_and_or_suffix(value, is_valid_dns_subdomain, |version| {
        !version.is_empty()
            && version.len() <= MAX_NAME_LENGTH
            && version.bytes().all(|byte| byte.is_ascii_alphanumeric())
    })
}

/// A `kind`: 1-63 characters matching `^[a-zA-Z][a-z0-9A-Z]*$`.
pub fn is_valid_kind(value: &str) -> bool {
    let bytes = value.as_bytes();
    let Some(first) = bytes.first() else {
        return false;
    };
    bytes.len() <= MAX_NAME_LENGTH
        && first.is_ascii_alphabetic()
        && bytes.iter().all(u8::is_ascii_alphanumeric)
}

/// A label key: an optional lowercase DNS-subdomain prefix and `/`, then an
/// object name, e.g. `app.kubernetes.io/name` or `category`.
pub fn is_valid_label_key(value: &str) -> bool {
    is_valid_prefix_and_or_suffix(value, is_valid_dns_subdomain, is_valid_object_name)
}

/// A label value: empty, or an object name.
pub fn is_valid_label_value(value: &str) -> bool {
    value.is_empty() || is_valid_object_name(value)
}

/// An annotation key: same rule as a label key. (Annotation values may be any
/// string.)
pub fn is_valid_annotation_key(value: &str) -> bool {
    is_valid_label_key(value)
}

/// A tag in `metadata.tags`.
///
/// Rule: 1-63 characters matching `^[a-z0-9:+#]+(\-[a-z0-9:+#]+)*$`.
///
/// Why this rule: Backstage's sources disagree. The JSON schema only asks for a
/// non-empty string; the code validator (`makeValidator`'s `isValidTag`) is
/// `isValidDnsLabel`, which rejects common tags such as `c++` or `c#`; the
/// descriptor-format documentation says "sequences of `[a-z0-9:+#]` separated
/// by `-`, at most 63 characters". We follow the documentation: it is what
/// authors read, it accepts every tag in Backstage's own examples, and it is a
/// superset of the DNS-label rule, so nothing Backstage's code accepts is
/// rejected here.
pub fn is_valid_tag(value: &str) -> bool {
    is_dash_separated(value, |byte| {
        byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b':' | b'+' | b'#')
    })
}

/// A link URL in `metadata.links[].url`: it must look like an absolute URL with
/// a scheme.
///
/// Backstage accepts whatever the WHATWG `new URL()` parser accepts. Without a
/// URL parser we check the shape that matters: a scheme
/// (`[A-Za-z][A-Za-z0-9+.-]*`), a colon, something after it, no whitespace or
/// control characters, and for the schemes that name a host (`http`, `https`,
/// `ws`, `wss`, `ftp`) `//` followed by a non-empty host and an optional
/// numeric port. This is a little stricter than the WHATWG parser, which
/// repairs inputs such as `http:example.com`.
pub fn is_valid_url(value: &str) -> bool {
    if value
        .chars()
        .any(|character| character.is_whitespace() || character.is_control())
    {
        return false;
    }
    let Some((scheme, rest)) = value.split_once(':') else {
        return false;
    };
    if !is_valid_url_scheme(scheme) || rest.is_empty() {
        return false;
    }
    let scheme = scheme.to_ascii_lowercase();
    if !matches!(scheme.as_str(), "http" | "https" | "ws" | "wss" | "ftp") {
        return true;
    }
    let Some(after_slashes) = rest.strip_prefix("//") else {
        return false;
    };
    let authority = after_slashes
        .split(['/', '?', '#'])
        .next()
        .unwrap_or_default();
    // Credentials (`user:password@`) come before the host.
    let host_and_port = authority.rsplit('@').next().unwrap_or_default();
    let (host, port) = split_host_and_port(host_and_port);
    !host.is_empty() && port.is_none_or(|port| port.bytes().all(|byte| byte.is_ascii_digit()))
}

/// Splits `host[:port]`, keeping IPv6 literals such as `[::1]:8080` whole.
fn split_host_and_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        return match authority.split_once(']') {
            Some((host, rest)) => (host, rest.strip_prefix(':')),
            None => ("", None),
        };
    }
    match authority.split_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    }
}

fn is_valid_url_scheme(scheme: &str) -> bool {
    let bytes = scheme.as_bytes();
    bytes.first().is_some_and(u8::is_ascii_alphabetic)
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'+' | b'-' | b'.'))
}

/// Checks 1-63 characters that are runs of `allowed` characters separated by
/// single dashes, with no dash at either end: `^[x]+(-[x]+)*$`.
fn is_dash_separated(value: &str, allowed: impl Fn(u8) -> bool) -> bool {
    !value.is_empty()
        && value.len() <= MAX_NAME_LENGTH
        && value
            .split('-')
            .all(|run| !run.is_empty() && run.bytes().all(&allowed))
}

/// `<suffix>` or `<prefix>/<suffix>`, each part checked by its own rule; more
/// than one `/` is never valid (Backstage's `isValidPrefixAndOrSuffix`).
fn is_valid_prefix_and_or_suffix(
    value: &str,
    is_valid_prefix: impl Fn(&str) -> bool,
    is_valid_suffix: impl Fn(&str) -> bool,
) -> bool {
    let mut parts = value.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(suffix), None, None) => is_valid_suffix(suffix),
        (Some(prefix), Some(suffix), None) => is_valid_prefix(prefix) && is_valid_suffix(suffix),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_names() {
        for valid in [
            "a",
            "A",
            "0",
            "ab",
            "a-b",
            "a_b",
            "a.b",
            "Lorem-Ipsum_1.2",
            "a--b",
        ] {
            assert!(is_valid_object_name(valid), "{valid}");
        }
        for invalid in [
            "", "-a", "a-", "_a", "a_", ".a", "a.", "a b", "a/b", "a:b", "é", "a\n",
        ] {
            assert!(!is_valid_object_name(invalid), "{invalid:?}");
        }
        assert!(is_valid_object_name(&"a".repeat(63)));
        assert!(!is_valid_object_name(&"a".repeat(64)));
    }

    #[test]
    fn dns_labels_and_namespaces() {
        for valid in ["a", "0", "default", "a-b", "a-b-c", "a1-2b"] {
            assert!(is_valid_dns_label(valid), "{valid}");
            assert!(is_valid_namespace(valid), "{valid}");
        }
        for invalid in ["", "A", "a--b", "-a", "a-", "a_b", "a.b", "a b", "Default"] {
            assert!(!is_valid_dns_label(invalid), "{invalid:?}");
        }
        assert!(is_valid_dns_label(&"a".repeat(63)));
        assert!(!is_valid_dns_label(&"a".repeat(64)));
    }

    #[test]
    fn dns_subdomains() {
        assert!(is_valid_dns_subdomain("backstage.io"));
        assert!(is_valid_dns_subdomain("a"));
        assert!(!is_valid_dns_subdomain(""));
        assert!(!is_valid_dns_subdomain("a..b"));
        assert!(!is_valid_dns_subdomain(".a"));
        assert!(!is_valid_dns_subdomain("Backstage.io"));
        // 4 labels of 63 plus 3 dots = 255 characters: over the 253 limit.
        let label = "a".repeat(63);
        let long = [label.as_str(); 4].join(".");
        assert!(!is_valid_dns_subdomain(&long));
        let fits = format!("{}.{}", [label.as_str(); 3].join("."), "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(is_valid_dns_subdomain(&fits));
    }

    #[test]
    fn api_versions() {
        for valid in [
            "backstage.io/v1alpha1",
            "scaffolder.backstage.io/v1beta3",
            "v1",
            "1",
            "my-company.net/V2",
        ] {
            assert!(is_valid_api_version(valid), "{valid}");
        }
        for invalid in [
            "",
            "backstage.io/",
            "/v1",
            "Backstage.io/v1",
            "backstage.io/v1/x",
            "1.0",
            "backstage.io/v1-alpha",
        ] {
            assert!(!is_valid_api_version(invalid), "{invalid:?}");
        }
        assert!(is_valid_api_version(&"v".repeat(63)));
        assert!(!is_valid_api_version(&"v".repeat(64)));
    }

    #[test]
    fn kinds() {
        for valid in ["Component", "API", "a", "Kind2"] {
            assert!(is_valid_kind(valid), "{valid}");
        }
        for invalid in ["", "2Kind", "My-Kind", "My_Kind", "My Kind", "Kind!"] {
            assert!(!is_valid_kind(invalid), "{invalid:?}");
        }
        assert!(is_valid_kind(&"K".repeat(63)));
        assert!(!is_valid_kind(&"K".repeat(64)));
    }

    #[test]
    fn label_keys_and_values() {
        for valid in [
            "category",
            "goVersion",
            "backstage.io/custom",
            "app.kubernetes.io/name",
            "a/b",
        ] {
            assert!(is_valid_label_key(valid), "{valid}");
            assert!(is_valid_annotation_key(valid), "{valid}");
        }
        for invalid in [
            "",
            "/a",
            "a/",
            "a/b/c",
            "Backstage.io/custom",
            "foo_bar/baz",
            "a b",
            "-a",
        ] {
            assert!(!is_valid_label_key(invalid), "{invalid:?}");
        }
        let long_prefix = format!("{}/name", "a".repeat(254));
        assert!(!is_valid_label_key(&long_prefix));
        assert!(is_valid_label_value(""));
        assert!(is_valid_label_value("go1.15.3"));
        assert!(!is_valid_label_value("Random value Generator"));
        assert!(!is_valid_label_value(&"a".repeat(64)));
    }

    #[test]
    fn tags() {
        for valid in ["java", "c++", "c#", "a:b", "go-1", "k8s", "a-b-c", "1"] {
            assert!(is_valid_tag(valid), "{valid}");
        }
        for invalid in [
            "",
            "Java",
            "go 1.15.3",
            "a--b",
            "-a",
            "a-",
            "a.b",
            "a_b",
            "a/b",
        ] {
            assert!(!is_valid_tag(invalid), "{invalid:?}");
        }
        assert!(is_valid_tag(&"a".repeat(63)));
        assert!(!is_valid_tag(&"a".repeat(64)));
    }

    #[test]
    fn urls() {
        for valid in [
            "https://example.com",
            "http://www.acme.com/",
            "https://user:secret@example.com:8080/a?b#c",
            "http://localhost:7007/api",
            "http://[::1]:8080/",
            "mailto:team@example.com",
            "file:///tmp/x",
            "slack:channel",
        ] {
            assert!(is_valid_url(valid), "{valid}");
        }
        for invalid in [
            "",
            "example.com",
            "/relative/path",
            "https://",
            "http:example.com",
            "https://exa mple.com",
            "1http://x",
            "mailto:",
            "https://example.com:port/",
            ":nothing",
        ] {
            assert!(!is_valid_url(invalid), "{invalid:?}");
        }
    }
}

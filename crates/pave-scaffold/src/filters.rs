//! Backstage's template filters (`parseRepoUrl`, `parseEntityRef`, `pick`,
//! `projectSlug`) and the Nunjucks built-ins minijinja lacks (`dump`).
//!
//! Every filter is pure: no IO, no clock, no environment.

use std::collections::BTreeMap;

use minijinja::value::{Value, ValueKind};
use minijinja::{Error, ErrorKind};

/// The parts of a RepoUrlPicker value (`github.com?owner=o&repo=r`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RepoUrl {
    /// Host, with the port when one is given.
    pub host: String,
    /// `owner` query parameter.
    pub owner: Option<String>,
    /// `repo` query parameter.
    pub repo: String,
    /// `organization` query parameter (Azure DevOps).
    pub organization: Option<String>,
    /// `workspace` query parameter (Bitbucket Cloud).
    pub workspace: Option<String>,
    /// `project` query parameter (Azure DevOps, Bitbucket, GitLab).
    pub project: Option<String>,
}

/// Parses a RepoUrlPicker value the way Backstage's `parseRepoUrl` does
/// (`new URL("https://" + value)`), without its integration lookup: the host
/// must be present and `repo` must be given. A path after the host is ignored,
/// as in Backstage.
pub fn parse_repo_url(text: &str) -> Result<RepoUrl, String> {
    let expected = "expected a repository location like `github.com?owner=<owner>&repo=<repo>`";
    let text = text.trim();
    if text.contains("://") {
        return Err(format!(
            "`{text}` has a scheme; {expected} (the host without `https://`)"
        ));
    }
    let (location, query) = text.split_once('?').unwrap_or((text, ""));
    let host = location.split('/').next().unwrap_or("");
    if host.is_empty() {
        return Err(format!("`{text}` has no host; {expected}"));
    }
    if !host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | ':' | '[' | ']'))
    {
        return Err(format!("`{text}` has an invalid host `{host}`; {expected}"));
    }
    let mut repo_url = RepoUrl {
        host: host.to_ascii_lowercase(),
        ..RepoUrl::default()
    };
    let mut repo = None;
    for pair in query.split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = percent_decode(key);
        let value = percent_decode(value);
        // URLSearchParams.get returns the first occurrence.
        let slot = match key.as_str() {
            "owner" => &mut repo_url.owner,
            "repo" => &mut repo,
            "organization" => &mut repo_url.organization,
            "workspace" => &mut repo_url.workspace,
            "project" => &mut repo_url.project,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }
    match repo {
        Some(repo) if !repo.is_empty() => repo_url.repo = repo,
        _ => return Err(format!("`{text}` has no `repo`; {expected}")),
    }
    Ok(repo_url)
}

/// Decodes `%XX` and `+` as URLSearchParams does; invalid escapes stay as written.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        match byte {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(index + 1..index + 3)
                    .and_then(|pair| std::str::from_utf8(pair).ok())
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok());
                if let Some(decoded) = hex {
                    out.push(decoded);
                    index += 2;
                } else {
                    out.push(b'%');
                }
            }
            other => out.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An entity reference split into its parts, case kept as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRefParts {
    /// Kind, e.g. `Component`.
    pub kind: String,
    /// Namespace, `default` unless given.
    pub namespace: String,
    /// Name.
    pub name: String,
}

/// Parses `[<kind>:][<namespace>/]<name>` as Backstage's `parseEntityRef`:
/// the namespace defaults to `default_namespace` or `default`, and a missing
/// kind is an error unless `default_kind` is given.
pub fn parse_entity_ref(
    reference: &str,
    default_kind: Option<&str>,
    default_namespace: Option<&str>,
) -> Result<EntityRefParts, String> {
    let form = "expected the form [<kind>:][<namespace>/]<name>, e.g. `group:default/team-a`";
    let mut colon = reference.find(':');
    let slash = reference.find('/');
    // A colon after the first slash belongs to the name, as in Backstage.
    if let (Some(slash_at), Some(colon_at)) = (slash, colon)
        && slash_at < colon_at
    {
        colon = None;
    }
    let kind = colon.map(|at| &reference[..at]);
    let namespace = slash.map(|at| &reference[colon.map_or(0, |c| c + 1)..at]);
    let name_start = colon.map_or(0, |c| c + 1).max(slash.map_or(0, |s| s + 1));
    let name = &reference[name_start..];
    if kind == Some("") || namespace == Some("") || name.is_empty() {
        return Err(format!(
            "entity reference `{reference}` is malformed; {form}"
        ));
    }
    if name.contains('/') {
        return Err(format!(
            "entity reference `{reference}` is malformed; {form}"
        ));
    }
    let Some(kind) = kind.or(default_kind).filter(|k| !k.is_empty()) else {
        return Err(format!(
            "entity reference `{reference}` has no kind; write it as `<kind>:{reference}` or pass a defaultKind"
        ));
    };
    Ok(EntityRefParts {
        kind: kind.to_string(),
        namespace: namespace
            .or(default_namespace)
            .filter(|n| !n.is_empty())
            .unwrap_or("default")
            .to_string(),
        name: name.to_string(),
    })
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn string_argument<'a>(filter: &str, value: &'a Value, example: &str) -> Result<&'a str, Error> {
    value.as_str().ok_or_else(|| {
        let found = if value.is_undefined() {
            "undefined (is the parameter set?)".to_string()
        } else {
            format!("{}", value.kind())
        };
        invalid(format!(
            "{filter} expects a string like {example}, found {found}"
        ))
    })
}

/// `parseRepoUrl` filter: returns `{host, owner, repo, organization, workspace, project}`;
/// absent parts are undefined.
pub(crate) fn parse_repo_url_filter(value: &Value) -> Result<Value, Error> {
    let text = string_argument("parseRepoUrl", value, "`github.com?owner=o&repo=r`")?;
    let parsed =
        parse_repo_url(text).map_err(|message| invalid(format!("parseRepoUrl: {message}")))?;
    let mut map: BTreeMap<&str, Value> = BTreeMap::new();
    map.insert("host", Value::from(parsed.host));
    map.insert("repo", Value::from(parsed.repo));
    for (key, part) in [
        ("owner", parsed.owner),
        ("organization", parsed.organization),
        ("workspace", parsed.workspace),
        ("project", parsed.project),
    ] {
        if let Some(part) = part {
            map.insert(key, Value::from(part));
        }
    }
    Ok(Value::from_pairs(map))
}

/// `projectSlug` filter: `github.com?owner=o&repo=r` → `o/r`.
pub(crate) fn project_slug_filter(value: &Value) -> Result<Value, Error> {
    let text = string_argument("projectSlug", value, "`github.com?owner=o&repo=r`")?;
    let parsed =
        parse_repo_url(text).map_err(|message| invalid(format!("projectSlug: {message}")))?;
    let Some(owner) = parsed.owner else {
        return Err(invalid(format!(
            "projectSlug: `{text}` has no `owner`; add `&owner=<owner>`"
        )));
    };
    Ok(Value::from(format!("{owner}/{}", parsed.repo)))
}

/// `parseEntityRef` filter, with an optional `{defaultKind, defaultNamespace}`
/// argument. Also accepts an object `{kind, namespace, name}`.
pub(crate) fn parse_entity_ref_filter(
    value: &Value,
    context: Option<Value>,
) -> Result<Value, Error> {
    let option = |name: &str| -> Result<Option<String>, Error> {
        let Some(context) = &context else {
            return Ok(None);
        };
        if context.kind() != ValueKind::Map {
            return Err(invalid(
                "parseEntityRef: the argument must be an object like { defaultKind: 'group', defaultNamespace: 'default' }",
            ));
        }
        let found = context.get_attr(name)?;
        if found.is_undefined() || found.is_none() {
            return Ok(None);
        }
        found
            .as_str()
            .map(|s| Some(s.to_string()))
            .ok_or_else(|| invalid(format!("parseEntityRef: {name} must be a string")))
    };
    let default_kind = option("defaultKind")?;
    let default_namespace = option("defaultNamespace")?;
    let reference = if value.kind() == ValueKind::Map {
        let part = |name: &str| -> Result<Option<String>, Error> {
            let found = value.get_attr(name)?;
            Ok(found.as_str().map(str::to_string))
        };
        let Some(name) = part("name")? else {
            return Err(invalid("parseEntityRef: the object has no `name`"));
        };
        let kind = part("kind")?.map(|k| format!("{k}:")).unwrap_or_default();
        let namespace = part("namespace")?
            .map(|n| format!("{n}/"))
            .unwrap_or_default();
        format!("{kind}{namespace}{name}")
    } else {
        string_argument("parseEntityRef", value, "`group:default/team-a`")?.to_string()
    };
    let parts = parse_entity_ref(
        &reference,
        default_kind.as_deref(),
        default_namespace.as_deref(),
    )
    .map_err(|message| invalid(format!("parseEntityRef: {message}")))?;
    Ok(Value::from_pairs([
        ("kind", Value::from(parts.kind)),
        ("namespace", Value::from(parts.namespace)),
        ("name", Value::from(parts.name)),
    ]))
}

/// `pick` filter: a property by dotted path (lodash `get`), undefined when absent.
pub(crate) fn pick_filter(value: &Value, path: &str) -> Result<Value, Error> {
    let mut current = value.clone();
    for segment in path.split('.') {
        if current.is_undefined() || current.is_none() {
            return Ok(Value::UNDEFINED);
        }
        current = match (current.kind(), segment.parse::<usize>()) {
            (ValueKind::Seq, Ok(index)) => current.get_item(&Value::from(index))?,
            _ => current.get_attr(segment)?,
        };
    }
    Ok(current)
}

/// Nunjucks `dump`: `JSON.stringify(value, null, spaces)`. Undefined stays
/// undefined (JSON.stringify returns undefined for it).
pub(crate) fn dump_filter(value: &Value, spaces: Option<Value>) -> Result<Value, Error> {
    if value.is_undefined() {
        return Ok(Value::UNDEFINED);
    }
    let json = to_json(value)?;
    let indent = match &spaces {
        None => None,
        Some(spaces) if spaces.is_undefined() || spaces.is_none() => None,
        Some(spaces) => match (spaces.as_i64(), spaces.as_str()) {
            (Some(count), _) => Some(" ".repeat(usize::try_from(count.clamp(0, 10)).unwrap_or(0))),
            (None, Some(text)) => Some(text.chars().take(10).collect()),
            _ => return Err(invalid("dump: spaces must be a number or a string")),
        },
    };
    let text = match indent {
        Some(indent) if !indent.is_empty() => {
            let mut buffer = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
            serde::Serialize::serialize(&json, &mut serializer)
                .map_err(|e| invalid(format!("dump: {e}")))?;
            String::from_utf8_lossy(&buffer).into_owned()
        }
        _ => serde_json::to_string(&json).map_err(|e| invalid(format!("dump: {e}")))?,
    };
    Ok(Value::from(text))
}

/// Converts a template value to JSON; undefined object members are dropped
/// and undefined list items become null, as `JSON.stringify` does.
pub(crate) fn to_json(value: &Value) -> Result<serde_json::Value, Error> {
    serde_json::to_value(value)
        .map_err(|e| invalid(format!("the value cannot be represented as JSON: {e}")))
}

/// Writes a value into text output the way Nunjucks prints JavaScript values:
/// undefined and null print nothing, lists print their items joined by `,`,
/// integral floats print without `.0`. Objects print as JSON (Nunjucks would
/// print `[object Object]`, which is never what a template author wants).
pub(crate) fn display_like_nunjucks(value: &Value, out: &mut String) -> Result<(), Error> {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => {}
        ValueKind::Seq | ValueKind::Iterable => {
            for (index, item) in value.try_iter()?.enumerate() {
                if index > 0 {
                    out.push(',');
                }
                display_like_nunjucks(&item, out)?;
            }
        }
        // minijinja prints Python's `True`; JavaScript prints `true`.
        ValueKind::Bool => out.push_str(if value.is_true() { "true" } else { "false" }),
        ValueKind::Map => {
            let json = to_json(value)?;
            out.push_str(&json.to_string());
        }
        ValueKind::Number if !value.is_integer() => match f64::try_from(value.clone()) {
            Ok(number) if number.is_finite() && number.fract() == 0.0 && number.abs() < 1e15 => {
                // Integral and well within i64, so the cast is exact.
                out.push_str(&(number as i64).to_string());
            }
            _ => out.push_str(&value.to_string()),
        },
        _ => out.push_str(&value.to_string()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_url_parts() {
        let parsed = parse_repo_url("github.com?owner=o&repo=r").unwrap();
        assert_eq!(parsed.host, "github.com");
        assert_eq!(parsed.owner.as_deref(), Some("o"));
        assert_eq!(parsed.repo, "r");
        let azure = parse_repo_url("dev.azure.com?organization=org&project=p&repo=r%20x").unwrap();
        assert_eq!(azure.organization.as_deref(), Some("org"));
        assert_eq!(azure.project.as_deref(), Some("p"));
        assert_eq!(azure.repo, "r x");
        assert!(
            parse_repo_url("github.com?owner=o")
                .unwrap_err()
                .contains("no `repo`")
        );
        assert!(
            parse_repo_url("?owner=o&repo=r")
                .unwrap_err()
                .contains("no host")
        );
        assert!(
            parse_repo_url("https://github.com?repo=r")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(
            parse_repo_url("git hub.com?repo=r")
                .unwrap_err()
                .contains("invalid host")
        );
        assert_eq!(
            parse_repo_url("GitHub.com:8443/x?repo=r&repo=s")
                .unwrap()
                .host,
            "github.com:8443"
        );
        assert_eq!(parse_repo_url("h?repo=r&repo=s").unwrap().repo, "r");
    }

    #[test]
    fn entity_ref_parts() {
        let full = parse_entity_ref("group:ops/team-a", None, None).unwrap();
        assert_eq!(
            (
                full.kind.as_str(),
                full.namespace.as_str(),
                full.name.as_str()
            ),
            ("group", "ops", "team-a")
        );
        let defaulted = parse_entity_ref("team-a", Some("Group"), Some("prod")).unwrap();
        assert_eq!(defaulted.namespace, "prod");
        assert_eq!(defaulted.kind, "Group");
        assert_eq!(
            parse_entity_ref("user:jdoe", None, None).unwrap().namespace,
            "default"
        );
        assert!(
            parse_entity_ref("team-a", None, None)
                .unwrap_err()
                .contains("no kind")
        );
        assert!(parse_entity_ref("group:", None, None).is_err());
        assert!(parse_entity_ref(":x", None, None).is_err());
        assert!(parse_entity_ref("group:/x", None, None).is_err());
        assert!(parse_entity_ref("a/b/c", Some("k"), None).is_err());
        // A colon inside the name after the namespace belongs to the name.
        let odd = parse_entity_ref("ns/na:me", Some("k"), None).unwrap();
        assert_eq!((odd.namespace.as_str(), odd.name.as_str()), ("ns", "na:me"));
    }

    #[test]
    fn percent_decoding_keeps_invalid_escapes() {
        assert_eq!(percent_decode("a%2Fb+c%zz%"), "a/b c%zz%");
    }
}

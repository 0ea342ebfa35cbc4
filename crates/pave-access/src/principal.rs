//! Who is asking: users, service accounts and the groups they belong to.
//!
//! References use Backstage's shape, `kind:namespace/name`, so that users and
//! groups from the catalog line up with the principals tokens carry.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What kind of principal a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PrincipalKind {
    /// A person, `user:default/alice`.
    User,
    /// A machine identity such as a CI pipeline, `service:ci`.
    Service,
}

/// A reference to a user or a service account, such as `user:default/alice`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PrincipalRef {
    pub kind: PrincipalKind,
    /// `namespace/name` for users, `name` for services.
    pub id: String,
}

/// A reference to a group, such as `group:default/admins`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupRef {
    /// `namespace/name`.
    pub id: String,
}

/// A reference that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a valid {expected} reference: {reason}")]
pub struct ReferenceError {
    pub text: String,
    pub expected: &'static str,
    pub reason: String,
}

/// The namespace a reference gets when it names none, as in Backstage.
pub const DEFAULT_NAMESPACE: &str = "default";

/// The group whose members the default policies let do everything.
pub const ADMINS_GROUP: &str = "group:default/admins";

impl PrincipalRef {
    /// Reads `user:[namespace/]name` or `service:name`.
    pub fn parse(text: &str) -> Result<PrincipalRef, ReferenceError> {
        let error = |reason: &str| ReferenceError {
            text: text.to_string(),
            expected: "principal",
            reason: reason.to_string(),
        };
        let Some((kind, rest)) = text.split_once(':') else {
            return Err(error(
                "write `user:NAMESPACE/NAME` (such as `user:default/alice`) or `service:NAME`",
            ));
        };
        match kind.to_ascii_lowercase().as_str() {
            "user" => Ok(PrincipalRef {
                kind: PrincipalKind::User,
                id: namespaced(rest).map_err(|reason| error(&reason))?,
            }),
            "service" => {
                check_name(rest).map_err(|reason| error(&reason))?;
                Ok(PrincipalRef {
                    kind: PrincipalKind::Service,
                    id: rest.to_ascii_lowercase(),
                })
            }
            other => Err(error(&format!(
                "the kind `{other}` is not a principal kind; use `user` or `service`"
            ))),
        }
    }

    /// A user in the default namespace, for code that builds one.
    pub fn user(name: &str) -> Result<PrincipalRef, ReferenceError> {
        PrincipalRef::parse(&format!("user:{name}"))
    }
}

impl fmt::Display for PrincipalRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            PrincipalKind::User => write!(formatter, "user:{}", self.id),
            PrincipalKind::Service => write!(formatter, "service:{}", self.id),
        }
    }
}

impl GroupRef {
    /// Reads `group:[namespace/]name`; the `group:` prefix may be left out.
    pub fn parse(text: &str) -> Result<GroupRef, ReferenceError> {
        let error = |reason: String| ReferenceError {
            text: text.to_string(),
            expected: "group",
            reason,
        };
        let rest = match text.split_once(':') {
            Some((kind, rest)) if kind.eq_ignore_ascii_case("group") => rest,
            Some((kind, _)) => {
                return Err(error(format!(
                    "the kind `{kind}` is not `group`; write `group:NAMESPACE/NAME`"
                )));
            }
            None => text,
        };
        Ok(GroupRef {
            id: namespaced(rest).map_err(error)?,
        })
    }
}

impl fmt::Display for GroupRef {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "group:{}", self.id)
    }
}

/// `name` or `namespace/name`, checked and lower-cased (Backstage compares
/// references case-insensitively).
fn namespaced(text: &str) -> Result<String, String> {
    let (namespace, name) = match text.split_once('/') {
        Some((namespace, name)) => (namespace, name),
        None => (DEFAULT_NAMESPACE, text),
    };
    check_name(namespace).map_err(|reason| format!("namespace: {reason}"))?;
    check_name(name)?;
    Ok(format!(
        "{}/{}",
        namespace.to_ascii_lowercase(),
        name.to_ascii_lowercase()
    ))
}

/// Backstage's name rule: 1 to 63 characters of `[a-zA-Z0-9-_.]`, starting
/// and ending with a letter or digit.
fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.len() > 63 {
        return Err(format!(
            "the name is {} characters long; at most 63 are allowed",
            name.len()
        ));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return Err(format!(
            "the character `{bad}` is not allowed; use letters, digits, `-`, `_` and `.`"
        ));
    }
    let alphanumeric = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alphanumeric(name.chars().next()) || !alphanumeric(name.chars().last()) {
        return Err("the name must start and end with a letter or digit".into());
    }
    Ok(())
}

/// An authenticated caller: who it is, the groups it is in, and the token it
/// used (none for built-in callers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    #[serde(rename = "principal", serialize_with = "display")]
    pub reference: PrincipalRef,
    #[serde(serialize_with = "display_all")]
    pub groups: Vec<GroupRef>,
    #[serde(rename = "tokenId", skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

impl Principal {
    /// A principal from its reference and group references, as a person
    /// types them (`user:alice`, `admins`); for checks that involve no token.
    pub fn parse(reference: &str, groups: &[String]) -> Result<Principal, ReferenceError> {
        Ok(Principal {
            reference: PrincipalRef::parse(reference)?,
            groups: groups
                .iter()
                .map(|group| GroupRef::parse(group))
                .collect::<Result<_, _>>()?,
            token_id: None,
        })
    }

    pub fn is_in(&self, group: &str) -> bool {
        GroupRef::parse(group).is_ok_and(|group| self.groups.contains(&group))
    }
}

fn display<S: serde::Serializer, T: fmt::Display>(
    value: &T,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

fn display_all<S: serde::Serializer, T: fmt::Display>(
    values: &[T],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(values.iter().map(ToString::to_string))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_default_their_namespace_and_ignore_case() {
        let alice = PrincipalRef::parse("User:Alice").unwrap();
        assert_eq!(alice.to_string(), "user:default/alice");
        let ci = PrincipalRef::parse("service:CI-bot").unwrap();
        assert_eq!(ci.to_string(), "service:ci-bot");
        assert_eq!(
            GroupRef::parse("team-a").unwrap().to_string(),
            "group:default/team-a"
        );
        assert_eq!(
            GroupRef::parse("group:ops/sre").unwrap().to_string(),
            "group:ops/sre"
        );
    }

    #[test]
    fn bad_references_say_what_is_wrong() {
        let message = PrincipalRef::parse("alice").unwrap_err().to_string();
        assert!(message.contains("user:NAMESPACE/NAME"), "{message}");
        let message = PrincipalRef::parse("robot:x").unwrap_err().to_string();
        assert!(
            message.contains("`robot` is not a principal kind"),
            "{message}"
        );
        let message = PrincipalRef::parse("user:a b").unwrap_err().to_string();
        assert!(message.contains("character ` `"), "{message}");
        let message = GroupRef::parse("user:default/a").unwrap_err().to_string();
        assert!(message.contains("not `group`"), "{message}");
        let long = "a".repeat(64);
        assert!(
            PrincipalRef::parse(&format!("user:{long}"))
                .unwrap_err()
                .to_string()
                .contains("at most 63")
        );
        assert!(PrincipalRef::parse("user:-a").is_err());
        assert!(PrincipalRef::parse("user:default/").is_err());
    }
}

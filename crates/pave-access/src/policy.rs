//! Cedar policy sets: the schema, the default set, and compiling a set from
//! source with diagnostics a person can act on (line, column, policy id).

use std::collections::HashSet;
use std::str::FromStr;

use cedar_policy::{PolicyId, PolicySet, Schema, ValidationMode, Validator};
use serde::Serialize;

/// Pave's Cedar schema, as shipped.
pub const SCHEMA_SOURCE: &str = include_str!("../policies/pave.cedarschema");

/// The policies a new installation starts with.
pub const DEFAULT_POLICIES: &str = include_str!("../policies/default.cedar");

/// Policy sets larger than this are refused before parsing.
pub const MAX_POLICY_SOURCE_BYTES: usize = 1024 * 1024;

/// One problem found in a policy set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// What is wrong, in Cedar's words, with its help text when there is one.
    pub message: String,
    /// 1-based line of the first place the problem points at.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// 1-based column (in characters) of that place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// The policy the problem is in, when Cedar knows it.
    #[serde(rename = "policyId", skip_serializing_if = "Option::is_none")]
    pub policy_id: Option<String>,
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let (Some(line), Some(column)) = (self.line, self.column) {
            write!(formatter, "{line}:{column}: ")?;
        }
        if let Some(policy) = &self.policy_id {
            write!(formatter, "policy `{policy}`: ")?;
        }
        formatter.write_str(&self.message)
    }
}

/// Why a policy set was refused.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PolicyError {
    #[error("the policy set is {size} bytes; at most {MAX_POLICY_SOURCE_BYTES} are allowed")]
    TooLarge { size: usize },
    #[error("the policy set is invalid ({} problem(s)): {}", diagnostics.len(), summary(diagnostics))]
    Invalid { diagnostics: Vec<Diagnostic> },
}

fn summary(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Parses Pave's schema. It ships with the binary, so failure is a build bug;
/// a test makes sure it parses.
pub fn schema() -> Result<Schema, PolicyError> {
    Schema::from_cedarschema_str(SCHEMA_SOURCE)
        .map(|(schema, _warnings)| schema)
        .map_err(|error| PolicyError::Invalid {
            diagnostics: vec![diagnostic(&error, SCHEMA_SOURCE, None)],
        })
}

/// Parses `source` and validates it strictly against `schema`.
///
/// A policy annotated `@id("name")` gets `name` as its id, so decisions can
/// name the policies that made them; other policies keep Cedar's `policyN`.
pub fn compile(source: &str, schema: &Schema) -> Result<PolicySet, PolicyError> {
    if source.len() > MAX_POLICY_SOURCE_BYTES {
        return Err(PolicyError::TooLarge { size: source.len() });
    }
    let parsed = PolicySet::from_str(source).map_err(|errors| PolicyError::Invalid {
        diagnostics: errors
            .iter()
            .map(|error| diagnostic(error, source, None))
            .collect(),
    })?;
    let mut diagnostics = Vec::new();
    if parsed.templates().next().is_some() {
        diagnostics.push(Diagnostic {
            message: "policy templates (with ?principal or ?resource) are not supported yet; write static policies".into(),
            line: None,
            column: None,
            policy_id: None,
        });
    }
    let mut set = PolicySet::new();
    let mut seen = HashSet::new();
    for policy in parsed.policies() {
        let policy = match policy.annotation("id") {
            Some(id) => policy.new_id(PolicyId::new(id)),
            None => policy.clone(),
        };
        let id = policy.id().to_string();
        if !seen.insert(id.clone()) {
            diagnostics.push(Diagnostic {
                message: format!(
                    "the id `{id}` is used by more than one policy; give each policy its own @id"
                ),
                line: None,
                column: None,
                policy_id: Some(id),
            });
            continue;
        }
        if let Err(error) = set.add(policy) {
            diagnostics.push(diagnostic(&error, source, None));
        }
    }
    if diagnostics.is_empty() {
        let result = Validator::new(schema.clone()).validate(&set, ValidationMode::Strict);
        diagnostics.extend(
            result
                .validation_errors()
                .map(|error| diagnostic(error, source, Some(error.policy_id().to_string()))),
        );
    }
    if diagnostics.is_empty() {
        Ok(set)
    } else {
        Err(PolicyError::Invalid { diagnostics })
    }
}

/// Turns any Cedar error into a diagnostic at the first place it labels.
fn diagnostic(
    error: &dyn miette::Diagnostic,
    source: &str,
    policy_id: Option<String>,
) -> Diagnostic {
    let mut message = error.to_string();
    let labels: Vec<String> = error
        .labels()
        .into_iter()
        .flatten()
        .filter_map(|label| label.label().map(str::to_string))
        .collect();
    if !labels.is_empty() {
        message.push_str(&format!(" ({})", labels.join(", ")));
    }
    if let Some(help) = error.help() {
        message.push_str(&format!(". Help: {help}"));
    }
    let place = error
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| line_and_column(source, label.offset()));
    Diagnostic {
        message,
        line: place.map(|(line, _)| line),
        column: place.map(|(_, column)| column),
        policy_id,
    }
}

/// 1-based line and column of a byte offset.
pub(crate) fn line_and_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map(|text| text.chars().count() + 1)
        .unwrap_or(1);
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_schema_and_default_policies_validate() {
        let schema = schema().unwrap();
        let set = compile(DEFAULT_POLICIES, &schema).unwrap();
        let ids: Vec<String> = set.policies().map(|p| p.id().to_string()).collect();
        assert!(ids.contains(&"admins-may-do-everything".to_string()));
        assert!(ids.contains(&"signed-in-may-read".to_string()));
        assert!(ids.contains(&"signed-in-may-use-templates".to_string()));
        assert!(ids.contains(&"creators-may-read-and-cancel-their-tasks".to_string()));
        assert!(ids.contains(&"owners-may-deploy-outside-production".to_string()));
        assert!(ids.contains(&"owners-may-preview".to_string()));
        assert!(ids.contains(&"signed-in-may-make-development-environments".to_string()));
    }

    #[test]
    fn every_earlier_default_set_still_validates() {
        // An upgraded server may hold one until it is replaced at start-up.
        let schema = schema().unwrap();
        for source in [
            include_str!("../policies/previous/default-1.cedar"),
            include_str!("../policies/previous/default-2.cedar"),
        ] {
            compile(source, &schema).unwrap();
            assert_ne!(source, DEFAULT_POLICIES);
        }
    }

    #[test]
    fn syntax_errors_point_at_line_and_column() {
        let schema = schema().unwrap();
        let source =
            "permit (principal, action, resource);\npermit (principal, action resource);\n";
        let PolicyError::Invalid { diagnostics } = compile(source, &schema).unwrap_err() else {
            panic!("expected diagnostics");
        };
        assert_eq!(diagnostics[0].line, Some(2), "{diagnostics:?}");
        assert!(diagnostics[0].column.is_some());
    }

    #[test]
    fn schema_violations_name_the_policy() {
        let schema = schema().unwrap();
        let source = "@id(\"typo\")\npermit (principal in Pave::Gruop::\"x\", action, resource);\n";
        let PolicyError::Invalid { diagnostics } = compile(source, &schema).unwrap_err() else {
            panic!("expected diagnostics");
        };
        assert_eq!(diagnostics[0].policy_id.as_deref(), Some("typo"));
        assert!(diagnostics[0].message.contains("Gruop"), "{diagnostics:?}");
        assert_eq!(diagnostics[0].line, Some(2));
    }

    #[test]
    fn duplicate_ids_and_templates_are_refused() {
        let schema = schema().unwrap();
        let source = "@id(\"a\") permit (principal, action, resource);\n@id(\"a\") forbid (principal, action, resource);";
        let message = compile(source, &schema).unwrap_err().to_string();
        assert!(
            message.contains("`a` is used by more than one policy"),
            "{message}"
        );
        let template = "permit (principal == ?principal, action, resource);";
        let message = compile(template, &schema).unwrap_err().to_string();
        assert!(message.contains("templates"), "{message}");
    }

    #[test]
    fn lines_and_columns_count_characters() {
        assert_eq!(line_and_column("ab\ncdé", 0), (1, 1));
        assert_eq!(line_and_column("ab\ncdé", 4), (2, 2));
        assert_eq!(line_and_column("ab\ncdé", 99), (2, 4));
    }
}

//! The built-in kinds: which `(apiVersion, kind)` pairs get spec rules, and the
//! table of their spec fields. Validation and relation derivation both read
//! the one table, so a field that is checked as a reference is also the field
//! that yields relations.

use serde_json::{Map, Value};

use crate::relation;

/// Every kind the catalog model knows, as Backstage writes them.
pub const KNOWN_KINDS: &[&str] = &[
    "Component",
    "API",
    "Resource",
    "System",
    "Domain",
    "Group",
    "User",
    "Location",
    "Template",
];

/// The apiVersions of the `backstage.io` kinds that have spec rules (the kind
/// schemas' `apiVersion` enum).
const CATALOG_API_VERSIONS: [&str; 2] = ["backstage.io/v1alpha1", "backstage.io/v1beta1"];

/// The apiVersion of the current software template format.
pub(crate) const TEMPLATE_API_VERSION: &str = "scaffolder.backstage.io/v1beta3";

/// The `spec.type` that switches an API to the MCP server rules
/// (`API.v1alpha1.mcp-server.schema.json`): `remotes` instead of `definition`.
const MCP_SERVER_TYPE: &str = "mcp-server";

/// A kind whose spec this model validates and derives relations from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BuiltinKind {
    Component,
    Api,
    Resource,
    System,
    Domain,
    Group,
    User,
    Location,
    Template,
}

/// How an entity's `(apiVersion, kind)` is treated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Classification {
    /// A built-in kind at a supported apiVersion: spec rules apply.
    Builtin(BuiltinKind),
    /// A built-in kind name in the wrong case at a built-in apiVersion
    /// (`component`). Backstage matches kinds exactly here, so such an entity
    /// is processed by no kind validator and rejected; we say why.
    Miscased { builtin: &'static str },
    /// Any other kind, or a built-in kind at another apiVersion (legacy
    /// templates, newer kinds): envelope and metadata rules only.
    Generic,
}

impl BuiltinKind {
    /// The kind name as written in documents.
    pub(crate) fn name(self) -> &'static str {
        match self {
            BuiltinKind::Component => "Component",
            BuiltinKind::Api => "API",
            BuiltinKind::Resource => "Resource",
            BuiltinKind::System => "System",
            BuiltinKind::Domain => "Domain",
            BuiltinKind::Group => "Group",
            BuiltinKind::User => "User",
            BuiltinKind::Location => "Location",
            BuiltinKind::Template => "Template",
        }
    }

    fn all() -> [BuiltinKind; 9] {
        [
            BuiltinKind::Component,
            BuiltinKind::Api,
            BuiltinKind::Resource,
            BuiltinKind::System,
            BuiltinKind::Domain,
            BuiltinKind::Group,
            BuiltinKind::User,
            BuiltinKind::Location,
            BuiltinKind::Template,
        ]
    }

    fn accepts_api_version(self, api_version: &str) -> bool {
        match self {
            BuiltinKind::Template => api_version == TEMPLATE_API_VERSION,
            _ => CATALOG_API_VERSIONS.contains(&api_version),
        }
    }

    /// The spec fields of this kind. API depends on `spec.type`, so the spec
    /// is needed to pick the table.
    pub(crate) fn fields(self, spec: Option<&Map<String, Value>>) -> &'static [Field] {
        match self {
            BuiltinKind::Component => COMPONENT,
            BuiltinKind::Api => {
                let spec_type = spec.and_then(|spec| spec.get("type"));
                if spec_type.and_then(Value::as_str) == Some(MCP_SERVER_TYPE) {
                    API_MCP_SERVER
                } else {
                    API
                }
            }
            BuiltinKind::Resource => RESOURCE,
            BuiltinKind::System => SYSTEM,
            BuiltinKind::Domain => DOMAIN,
            BuiltinKind::Group => GROUP,
            BuiltinKind::User => USER,
            BuiltinKind::Location => LOCATION,
            BuiltinKind::Template => TEMPLATE,
        }
    }
}

/// Decides which rules apply to an entity from its apiVersion and kind.
///
/// Kind names match exactly, as in Backstage's kind validators and kind
/// schemas (`"enum": ["Component"]`).
pub(crate) fn classify(api_version: &str, kind: &str) -> Classification {
    for builtin in BuiltinKind::all() {
        if !builtin.accepts_api_version(api_version) {
            continue;
        }
        if kind == builtin.name() {
            return Classification::Builtin(builtin);
        }
        if kind.eq_ignore_ascii_case(builtin.name()) {
            return Classification::Miscased {
                builtin: builtin.name(),
            };
        }
    }
    Classification::Generic
}

/// One spec field of a built-in kind.
#[derive(Debug)]
pub(crate) struct Field {
    /// The key under `spec`.
    pub(crate) name: &'static str,
    /// Whether the field must be present.
    pub(crate) required: bool,
    /// What the value must look like.
    pub(crate) shape: Shape,
}

/// The shape of a spec field's value.
#[derive(Debug)]
pub(crate) enum Shape {
    /// A non-empty string.
    Text,
    /// An array of non-empty strings.
    TextList,
    /// A non-empty string that is an entity reference.
    Reference(Derives),
    /// An array of entity references.
    ReferenceList(Derives),
    /// A user or group profile: an object whose `displayName`, `email` and
    /// `picture` are non-empty strings when present.
    Profile,
    /// One of the listed strings.
    OneOf(&'static [&'static str]),
    /// The MCP server `remotes`: a non-empty array of `{type, url}` objects.
    Remotes,
}

/// What a reference field means: its default kind and the relation pair it
/// yields.
#[derive(Debug)]
pub(crate) struct Derives {
    /// The kind a bare name refers to; `None` when the reference must name
    /// its kind (`dependsOn`, `dependencyOf`).
    pub(crate) default_kind: Option<&'static str>,
    /// The relation from the entity holding the field to the referenced one.
    pub(crate) outgoing: &'static str,
    /// The relation back from the referenced entity.
    pub(crate) incoming: &'static str,
}

const fn field(name: &'static str, required: bool, shape: Shape) -> Field {
    Field {
        name,
        required,
        shape,
    }
}

const fn derives(
    default_kind: Option<&'static str>,
    outgoing: &'static str,
    incoming: &'static str,
) -> Derives {
    Derives {
        default_kind,
        outgoing,
        incoming,
    }
}

const OWNER: Field = field(
    "owner",
    true,
    Shape::Reference(derives(
        Some("Group"),
        relation::OWNED_BY,
        relation::OWNER_OF,
    )),
);
const SYSTEM_FIELD: Field = field(
    "system",
    false,
    Shape::Reference(derives(
        Some("System"),
        relation::PART_OF,
        relation::HAS_PART,
    )),
);
const DEPENDS_ON: Field = field(
    "dependsOn",
    false,
    Shape::ReferenceList(derives(None, relation::DEPENDS_ON, relation::DEPENDENCY_OF)),
);
const DEPENDENCY_OF: Field = field(
    "dependencyOf",
    false,
    Shape::ReferenceList(derives(None, relation::DEPENDENCY_OF, relation::DEPENDS_ON)),
);

const COMPONENT: &[Field] = &[
    field("type", true, Shape::Text),
    field("lifecycle", true, Shape::Text),
    OWNER,
    SYSTEM_FIELD,
    field(
        "subcomponentOf",
        false,
        Shape::Reference(derives(
            Some("Component"),
            relation::PART_OF,
            relation::HAS_PART,
        )),
    ),
    field(
        "providesApis",
        false,
        Shape::ReferenceList(derives(
            Some("API"),
            relation::PROVIDES_API,
            relation::API_PROVIDED_BY,
        )),
    ),
    field(
        "consumesApis",
        false,
        Shape::ReferenceList(derives(
            Some("API"),
            relation::CONSUMES_API,
            relation::API_CONSUMED_BY,
        )),
    ),
    DEPENDS_ON,
    DEPENDENCY_OF,
];

const API: &[Field] = &[
    field("type", true, Shape::Text),
    field("lifecycle", true, Shape::Text),
    OWNER,
    SYSTEM_FIELD,
    field("definition", true, Shape::Text),
];

const API_MCP_SERVER: &[Field] = &[
    field("type", true, Shape::Text),
    field("lifecycle", true, Shape::Text),
    OWNER,
    SYSTEM_FIELD,
    field("remotes", true, Shape::Remotes),
];

const RESOURCE: &[Field] = &[
    field("type", true, Shape::Text),
    OWNER,
    SYSTEM_FIELD,
    DEPENDS_ON,
    DEPENDENCY_OF,
];

const SYSTEM: &[Field] = &[
    OWNER,
    field(
        "domain",
        false,
        Shape::Reference(derives(
            Some("Domain"),
            relation::PART_OF,
            relation::HAS_PART,
        )),
    ),
    field("type", false, Shape::Text),
];

const DOMAIN: &[Field] = &[
    OWNER,
    field(
        "subdomainOf",
        false,
        Shape::Reference(derives(
            Some("Domain"),
            relation::PART_OF,
            relation::HAS_PART,
        )),
    ),
    field("type", false, Shape::Text),
];

const GROUP: &[Field] = &[
    field("type", true, Shape::Text),
    field("profile", false, Shape::Profile),
    field(
        "parent",
        false,
        Shape::Reference(derives(
            Some("Group"),
            relation::CHILD_OF,
            relation::PARENT_OF,
        )),
    ),
    // Required, but may be empty: leaf groups write `children: []`.
    field(
        "children",
        true,
        Shape::ReferenceList(derives(
            Some("Group"),
            relation::PARENT_OF,
            relation::CHILD_OF,
        )),
    ),
    field(
        "members",
        false,
        Shape::ReferenceList(derives(
            Some("User"),
            relation::HAS_MEMBER,
            relation::MEMBER_OF,
        )),
    ),
];

const USER: &[Field] = &[
    field("profile", false, Shape::Profile),
    // Required, but may be empty.
    field(
        "memberOf",
        true,
        Shape::ReferenceList(derives(
            Some("Group"),
            relation::MEMBER_OF,
            relation::HAS_MEMBER,
        )),
    ),
];

const LOCATION: &[Field] = &[
    field("type", false, Shape::Text),
    field("target", false, Shape::Text),
    field("targets", false, Shape::TextList),
    field("presence", false, Shape::OneOf(&["required", "optional"])),
];

/// The flat Template fields; parameters, steps and output are checked in
/// `template.rs`.
const TEMPLATE: &[Field] = &[
    field("type", true, Shape::Text),
    field(
        "owner",
        false,
        Shape::Reference(derives(
            Some("Group"),
            relation::OWNED_BY,
            relation::OWNER_OF,
        )),
    ),
    field("lifecycle", false, Shape::Text),
];

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn classifies_by_api_version_and_exact_kind() {
        assert_eq!(
            classify("backstage.io/v1alpha1", "Component"),
            Classification::Builtin(BuiltinKind::Component)
        );
        assert_eq!(
            classify("backstage.io/v1beta1", "API"),
            Classification::Builtin(BuiltinKind::Api)
        );
        assert_eq!(
            classify("scaffolder.backstage.io/v1beta3", "Template"),
            Classification::Builtin(BuiltinKind::Template)
        );
        assert_eq!(
            classify("backstage.io/v1alpha1", "component"),
            Classification::Miscased {
                builtin: "Component"
            }
        );
        // Legacy templates, other apiVersions and newer kinds are generic.
        for (api_version, kind) in [
            ("backstage.io/v1beta2", "Template"),
            ("backstage.io/v1alpha1", "Template"),
            ("backstage.io/v1alpha2", "API"),
            ("backstage.io/v1alpha1", "Environment"),
            ("backstage.io/v1alpha1", "AiResource"),
            ("example.com/v1", "Component"),
            ("scaffolder.backstage.io/v1beta3", "Component"),
        ] {
            assert_eq!(
                classify(api_version, kind),
                Classification::Generic,
                "{api_version} {kind}"
            );
        }
    }

    #[test]
    fn every_known_kind_is_builtin() {
        let names: Vec<&str> = BuiltinKind::all().iter().map(|kind| kind.name()).collect();
        assert_eq!(names, KNOWN_KINDS);
    }

    #[test]
    fn api_fields_depend_on_the_type() {
        let mcp = json!({"type": "mcp-server"});
        let fields = BuiltinKind::Api.fields(mcp.as_object());
        assert!(fields.iter().any(|field| field.name == "remotes"));
        assert!(!fields.iter().any(|field| field.name == "definition"));
        let openapi = json!({"type": "openapi"});
        let fields = BuiltinKind::Api.fields(openapi.as_object());
        assert!(fields.iter().any(|field| field.name == "definition"));
    }
}

//! Relation types between entities (Backstage's `kinds/relations.ts`) and the
//! [`Relation`] edge that [`crate::Entity::relations`] derives.

use serde::Serialize;

use crate::EntityRef;

/// `source` is owned by `target` (a Group or User).
pub const OWNED_BY: &str = "ownedBy";
/// `source` owns `target`; the inverse of [`OWNED_BY`].
pub const OWNER_OF: &str = "ownerOf";
/// `source` is a part of `target` (a System, Domain or Component).
pub const PART_OF: &str = "partOf";
/// `source` has `target` as a part; the inverse of [`PART_OF`].
pub const HAS_PART: &str = "hasPart";
/// `source` (a Component) provides the API `target`.
pub const PROVIDES_API: &str = "providesApi";
/// `source` (an API) is provided by `target`; the inverse of [`PROVIDES_API`].
pub const API_PROVIDED_BY: &str = "apiProvidedBy";
/// `source` (a Component) consumes the API `target`.
pub const CONSUMES_API: &str = "consumesApi";
/// `source` (an API) is consumed by `target`; the inverse of [`CONSUMES_API`].
pub const API_CONSUMED_BY: &str = "apiConsumedBy";
/// `source` depends on `target`.
pub const DEPENDS_ON: &str = "dependsOn";
/// `source` is a dependency of `target`; the inverse of [`DEPENDS_ON`].
pub const DEPENDENCY_OF: &str = "dependencyOf";
/// `source` (a User or Group) is a member of the Group `target`.
pub const MEMBER_OF: &str = "memberOf";
/// `source` (a Group) has `target` as a member; the inverse of [`MEMBER_OF`].
pub const HAS_MEMBER: &str = "hasMember";
/// `source` (a Group) is a child of the Group `target`.
pub const CHILD_OF: &str = "childOf";
/// `source` (a Group) is the parent of the Group `target`; the inverse of [`CHILD_OF`].
pub const PARENT_OF: &str = "parentOf";

/// Every relation type paired with its inverse, each pair listed both ways.
const PAIRS: [(&str, &str); 14] = [
    (OWNED_BY, OWNER_OF),
    (OWNER_OF, OWNED_BY),
    (PART_OF, HAS_PART),
    (HAS_PART, PART_OF),
    (PROVIDES_API, API_PROVIDED_BY),
    (API_PROVIDED_BY, PROVIDES_API),
    (CONSUMES_API, API_CONSUMED_BY),
    (API_CONSUMED_BY, CONSUMES_API),
    (DEPENDS_ON, DEPENDENCY_OF),
    (DEPENDENCY_OF, DEPENDS_ON),
    (MEMBER_OF, HAS_MEMBER),
    (HAS_MEMBER, MEMBER_OF),
    (CHILD_OF, PARENT_OF),
    (PARENT_OF, CHILD_OF),
];

/// The inverse of a known relation type (`ownedBy` → `ownerOf`), or `None` for
/// a type this model does not know. Matching is exact: relation types are
/// case-sensitive identifiers.
pub fn inverse(relation_type: &str) -> Option<&'static str> {
    PAIRS
        .iter()
        .find(|(forward, _)| *forward == relation_type)
        .map(|(_, backward)| *backward)
}

/// A directed, typed edge between two entities.
///
/// Relations are derived from spec fields and always come in pairs: `X ownedBy
/// Y` together with `Y ownerOf X`. The target need not exist (dangling
/// references are kept, as Backstage keeps them).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Relation {
    /// One of the constants in this module, e.g. [`OWNED_BY`].
    pub r#type: &'static str,
    /// The entity the relation starts from.
    pub source: EntityRef,
    /// The entity the relation points to.
    pub target: EntityRef,
}

impl Relation {
    /// The same edge seen from the other end, when the type has a known inverse.
    pub fn inverted(&self) -> Option<Relation> {
        inverse(self.r#type).map(|r#type| Relation {
            r#type,
            source: self.target.clone(),
            target: self.source.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_has_an_inverse_that_inverts_back() {
        for (forward, _) in PAIRS {
            let backward = inverse(forward).unwrap();
            assert_ne!(backward, forward);
            assert_eq!(inverse(backward), Some(forward));
        }
        assert_eq!(inverse(OWNED_BY), Some(OWNER_OF));
        assert_eq!(inverse(DEPENDENCY_OF), Some(DEPENDS_ON));
        assert_eq!(inverse("ownedby"), None);
        assert_eq!(inverse("unknown"), None);
    }

    #[test]
    fn relations_invert() {
        let relation = Relation {
            r#type: OWNED_BY,
            source: EntityRef::new("component", "default", "x"),
            target: EntityRef::new("group", "default", "team-a"),
        };
        let inverted = relation.inverted().unwrap();
        assert_eq!(inverted.r#type, OWNER_OF);
        assert_eq!(inverted.source, relation.target);
        assert_eq!(inverted.inverted().unwrap(), relation);
    }
}

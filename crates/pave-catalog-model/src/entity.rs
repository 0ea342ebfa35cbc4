//! [`Entity`]: a validated catalog entity, its reference, and the relations
//! its spec implies.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::kind::{Classification, Derives, Shape, classify};
use crate::metadata::Metadata;
use crate::reference::{EntityRef, parse_ref};
use crate::relation::Relation;

/// A catalog entity that passed [`crate::validate`].
#[derive(Debug, Clone, PartialEq)]
pub struct Entity {
    /// The `apiVersion`, e.g. `backstage.io/v1alpha1`.
    pub api_version: String,
    /// The kind as written, e.g. `Component`.
    pub kind: String,
    /// The typed metadata.
    pub metadata: Metadata,
    /// The spec as written; `Value::Null` when the document has none.
    pub spec: Value,
    /// The document exactly as given to [`crate::validate`].
    pub raw: Value,
}

impl Entity {
    /// The entity's own reference, `kind:namespace/name`, lower-cased.
    pub fn reference(&self) -> EntityRef {
        EntityRef::new(&self.kind, &self.metadata.namespace, &self.metadata.name)
    }

    /// The relations this entity's spec implies, each in both directions
    /// (`X ownedBy Y` and `Y ownerOf X`), deduplicated and sorted.
    ///
    /// Only built-in kinds at their apiVersions yield relations (as only they
    /// have reference fields with known meaning). Targets need not exist.
    pub fn relations(&self) -> Vec<Relation> {
        let own = self.reference();
        let mut relations = BTreeSet::new();
        for (_, derives, target) in self.reference_fields() {
            relations.insert(Relation {
                r#type: derives.outgoing,
                source: own.clone(),
                target: target.clone(),
            });
            relations.insert(Relation {
                r#type: derives.incoming,
                source: target,
                target: own.clone(),
            });
        }
        relations.into_iter().collect()
    }

    /// Every reference the spec makes, as `(spec field, reference)` pairs in
    /// document order (e.g. `("owner", group:default/team-a)`), with the
    /// field's default kind and this entity's namespace filled in.
    pub fn referenced(&self) -> Vec<(String, EntityRef)> {
        self.reference_fields()
            .into_iter()
            .map(|(field, _, target)| (field.to_owned(), target))
            .collect()
    }

    /// The parsed references of the reference-valued spec fields, with what
    /// each field means. Values that do not parse are skipped: `validate`
    /// reports them, and an `Entity` built by hand must not make this panic.
    fn reference_fields(&self) -> Vec<(&'static str, &'static Derives, EntityRef)> {
        let Classification::Builtin(kind) = classify(&self.api_version, &self.kind) else {
            return Vec::new();
        };
        let Some(spec) = self.spec.as_object() else {
            return Vec::new();
        };
        let namespace = &self.metadata.namespace;
        let mut found = Vec::new();
        for field in kind.fields(Some(spec)) {
            let (derives, values): (&'static Derives, Vec<&Value>) =
                match (&field.shape, spec.get(field.name)) {
                    (Shape::Reference(derives), Some(value)) => (derives, vec![value]),
                    (Shape::ReferenceList(derives), Some(Value::Array(values))) => {
                        (derives, values.iter().collect())
                    }
                    _ => continue,
                };
            for text in values.into_iter().filter_map(Value::as_str) {
                if let Ok(target) = parse_ref(text, derives.default_kind, namespace) {
                    found.push((field.name, derives, target));
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests;

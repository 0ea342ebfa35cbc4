//! The Backstage catalog entity model: entity references, validation of entity
//! documents, and the relations an entity's spec implies.
//!
//! This crate owns the rules of the model as Backstage defines them
//! (`@backstage/catalog-model` and the relation derivation of
//! `BuiltinKindsEntityProcessor`): the envelope and metadata formats, the spec
//! fields of the built-in kinds and their JSON schemas, the
//! `[kind:][namespace/]name` reference syntax, and the relation pairs.
//!
//! **Architecture invariant:** pure data and rules, no IO. Nothing here reads
//! files, talks to the network or a database, or looks at the clock. Callers
//! parse YAML or JSON, resolve `$text`/`$json`/`$yaml` placeholders and read
//! locations; this crate only judges the resulting `serde_json::Value`.
//! Nothing a document contains can make it panic.
//!
//! Entry points: [`validate`] turns a document into an [`Entity`] or lists
//! every [`EntityProblem`]; [`Entity::relations`] derives the relations;
//! [`parse_ref`] and [`parse_ref_value`] read references.
//!
//! ```
//! use pave_catalog_model::{Rules, relation, validate};
//! use serde_json::json;
//!
//! let document = json!({
//!     "apiVersion": "backstage.io/v1alpha1",
//!     "kind": "Component",
//!     "metadata": {"name": "artist-web"},
//!     "spec": {"type": "website", "lifecycle": "production", "owner": "team-a"},
//! });
//! let entity = validate(&document, &Rules::default()).unwrap();
//! assert_eq!(entity.reference().to_string(), "component:default/artist-web");
//! let relations = entity.relations();
//! assert_eq!(relations.len(), 2);
//! assert_eq!(relations[0].r#type, relation::OWNED_BY);
//! assert_eq!(relations[0].target.to_string(), "group:default/team-a");
//!
//! let broken = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
//!                     "metadata": {"name": "bad name"}, "spec": {}});
//! let problems = validate(&broken, &Rules::default()).unwrap_err();
//! assert_eq!(problems[0].path, "metadata.name");
//! assert_eq!(problems.len(), 4); // the name, and spec.type, lifecycle, owner
//! ```

mod check;
mod entity;
pub mod format;
mod kind;
mod metadata;
mod problem;
mod reference;
pub mod relation;
mod spec;
mod template;
mod validate;

pub use entity::Entity;
pub use kind::KNOWN_KINDS;
pub use metadata::{Link, Metadata};
pub use problem::EntityProblem;
pub use reference::{DEFAULT_NAMESPACE, EntityRef, RefError, parse_ref, parse_ref_value};
pub use relation::Relation;
pub use validate::{Rules, validate};

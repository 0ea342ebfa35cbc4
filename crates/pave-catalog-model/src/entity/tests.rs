use serde_json::{Value, json};

use crate::{Entity, Rules, validate};

fn entity(api_version: &str, kind: &str, name: &str, spec: Value) -> Entity {
    let document = json!({
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    });
    validate(&document, &Rules::default()).unwrap()
}

fn catalog(kind: &str, name: &str, spec: Value) -> Entity {
    entity("backstage.io/v1alpha1", kind, name, spec)
}

/// Relations as "source type target" lines, sorted by source for reading.
/// Also checks that `relations()` itself is sorted (by type, then source,
/// then target) and free of duplicates.
fn lines(entity: &Entity) -> Vec<String> {
    let relations = entity.relations();
    assert!(relations.windows(2).all(|pair| pair[0] < pair[1]));
    let mut lines: Vec<String> = relations
        .iter()
        .map(|relation| {
            format!(
                "{} {} {}",
                relation.source, relation.r#type, relation.target
            )
        })
        .collect();
    lines.sort();
    lines
}

#[test]
fn component_relations_in_both_directions() {
    let component = catalog(
        "Component",
        "artist-web",
        json!({
            "type": "website",
            "lifecycle": "production",
            "owner": "team-a",
            "system": "artist-engagement-portal",
            "subcomponentOf": "artist-platform",
            "providesApis": ["artist-api"],
            "consumesApis": ["api:search/search-api"],
            "dependsOn": ["resource:artists-db"],
            "dependencyOf": ["component:frontend"],
        }),
    );
    assert_eq!(
        lines(&component),
        [
            "api:default/artist-api apiProvidedBy component:default/artist-web",
            "api:search/search-api apiConsumedBy component:default/artist-web",
            "component:default/artist-platform hasPart component:default/artist-web",
            "component:default/artist-web consumesApi api:search/search-api",
            "component:default/artist-web dependencyOf component:default/frontend",
            "component:default/artist-web dependsOn resource:default/artists-db",
            "component:default/artist-web ownedBy group:default/team-a",
            "component:default/artist-web partOf component:default/artist-platform",
            "component:default/artist-web partOf system:default/artist-engagement-portal",
            "component:default/artist-web providesApi api:default/artist-api",
            "component:default/frontend dependsOn component:default/artist-web",
            "group:default/team-a ownerOf component:default/artist-web",
            "resource:default/artists-db dependencyOf component:default/artist-web",
            "system:default/artist-engagement-portal hasPart component:default/artist-web",
        ]
    );
    let referenced: Vec<String> = component
        .referenced()
        .iter()
        .map(|(field, target)| format!("{field} {target}"))
        .collect();
    assert_eq!(
        referenced,
        [
            "owner group:default/team-a",
            "system system:default/artist-engagement-portal",
            "subcomponentOf component:default/artist-platform",
            "providesApis api:default/artist-api",
            "consumesApis api:search/search-api",
            "dependsOn resource:default/artists-db",
            "dependencyOf component:default/frontend",
        ]
    );
}

#[test]
fn api_relations() {
    let api = catalog(
        "API",
        "petstore",
        json!({"type": "openapi", "lifecycle": "experimental", "owner": "team-c",
               "system": "pets", "definition": "openapi: 3.0.0"}),
    );
    assert_eq!(
        lines(&api),
        [
            "api:default/petstore ownedBy group:default/team-c",
            "api:default/petstore partOf system:default/pets",
            "group:default/team-c ownerOf api:default/petstore",
            "system:default/pets hasPart api:default/petstore",
        ]
    );
}

#[test]
fn resource_relations() {
    let resource = catalog(
        "Resource",
        "artists-db",
        json!({"type": "database", "owner": "user:guest", "system": "artists",
               "dependsOn": ["resource:storage"], "dependencyOf": ["component:artist-lookup"]}),
    );
    assert_eq!(
        lines(&resource),
        [
            "component:default/artist-lookup dependsOn resource:default/artists-db",
            "resource:default/artists-db dependencyOf component:default/artist-lookup",
            "resource:default/artists-db dependsOn resource:default/storage",
            "resource:default/artists-db ownedBy user:default/guest",
            "resource:default/artists-db partOf system:default/artists",
            "resource:default/storage dependencyOf resource:default/artists-db",
            "system:default/artists hasPart resource:default/artists-db",
            "user:default/guest ownerOf resource:default/artists-db",
        ]
    );
}

#[test]
fn system_and_domain_relations() {
    let system = catalog(
        "System",
        "podcast",
        json!({"owner": "team-b", "domain": "playback"}),
    );
    assert_eq!(
        lines(&system),
        [
            "domain:default/playback hasPart system:default/podcast",
            "group:default/team-b ownerOf system:default/podcast",
            "system:default/podcast ownedBy group:default/team-b",
            "system:default/podcast partOf domain:default/playback",
        ]
    );
    let domain = catalog(
        "Domain",
        "artists",
        json!({"owner": "team-a", "subdomainOf": "audio"}),
    );
    assert_eq!(
        lines(&domain),
        [
            "domain:default/artists ownedBy group:default/team-a",
            "domain:default/artists partOf domain:default/audio",
            "domain:default/audio hasPart domain:default/artists",
            "group:default/team-a ownerOf domain:default/artists",
        ]
    );
}

#[test]
fn group_and_user_relations() {
    let group = catalog(
        "Group",
        "backstage",
        json!({"type": "business-unit", "parent": "infrastructure",
               "children": ["team-a", "team-b"], "members": ["guest"]}),
    );
    assert_eq!(
        lines(&group),
        [
            "group:default/backstage childOf group:default/infrastructure",
            "group:default/backstage hasMember user:default/guest",
            "group:default/backstage parentOf group:default/team-a",
            "group:default/backstage parentOf group:default/team-b",
            "group:default/infrastructure parentOf group:default/backstage",
            "group:default/team-a childOf group:default/backstage",
            "group:default/team-b childOf group:default/backstage",
            "user:default/guest memberOf group:default/backstage",
        ]
    );
    let user = catalog(
        "User",
        "guest",
        json!({"memberOf": ["team-a", "ops/admins"]}),
    );
    assert_eq!(
        lines(&user),
        [
            "group:default/team-a hasMember user:default/guest",
            "group:ops/admins hasMember user:default/guest",
            "user:default/guest memberOf group:default/team-a",
            "user:default/guest memberOf group:ops/admins",
        ]
    );
}

#[test]
fn location_has_no_relations() {
    let location = catalog("Location", "all", json!({"targets": ["./a.yaml"]}));
    assert!(location.relations().is_empty());
    assert!(location.referenced().is_empty());
}

#[test]
fn template_relations_come_from_its_owner() {
    let template = entity(
        "scaffolder.backstage.io/v1beta3",
        "Template",
        "react-app",
        json!({"type": "website", "owner": "web-team", "steps": []}),
    );
    assert_eq!(
        lines(&template),
        [
            "group:default/web-team ownerOf template:default/react-app",
            "template:default/react-app ownedBy group:default/web-team",
        ]
    );
    // A legacy template is generic: no spec rules, so no relations.
    let legacy = entity(
        "backstage.io/v1beta2",
        "Template",
        "old",
        json!({"type": "website", "owner": "web-team"}),
    );
    assert!(legacy.relations().is_empty());
}

#[test]
fn references_take_the_entity_namespace_and_are_deduplicated() {
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "Different-Namespace", "namespace": "alternative"},
        "spec": {"type": "service", "lifecycle": "experimental", "owner": "default/team-a",
                 "providesApis": ["petstore", "API:Petstore", "api:alternative/petstore"]},
    });
    let entity = validate(&document, &Rules::default()).unwrap();
    assert_eq!(
        entity.reference().to_string(),
        "component:alternative/different-namespace"
    );
    assert_eq!(
        lines(&entity),
        [
            "api:alternative/petstore apiProvidedBy component:alternative/different-namespace",
            "component:alternative/different-namespace ownedBy group:default/team-a",
            "component:alternative/different-namespace providesApi api:alternative/petstore",
            "group:default/team-a ownerOf component:alternative/different-namespace",
        ]
    );
    // `referenced` keeps every mention.
    assert_eq!(entity.referenced().len(), 4);
}

#[test]
fn generic_kinds_have_no_relations() {
    let environment = entity(
        "backstage.io/v1alpha1",
        "AiResource",
        "plugin",
        json!({"type": "plugin", "owner": "team-a", "skills": ["airesource:default/x"]}),
    );
    assert!(environment.relations().is_empty());
}

#[test]
fn a_hand_built_entity_with_bad_references_does_not_panic() {
    let mut entity = catalog(
        "Component",
        "x",
        json!({"type": "service", "lifecycle": "production", "owner": "team-a"}),
    );
    entity.spec = json!({"owner": "a:b:c", "providesApis": "not-a-list", "dependsOn": ["bare", 3]});
    assert!(entity.relations().is_empty());
    entity.spec = Value::Null;
    assert!(entity.referenced().is_empty());
}

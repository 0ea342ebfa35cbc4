//! The model against Backstage's own example entities, sample templates and
//! JSON schemas in the shared corpus (see `shared/corpus/README.md`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

use pave_catalog_model::{Entity, EntityRef, Relation, Rules, relation, validate};
use serde_json::Value;

use support::crafted::{self, SchemaVerdict};
use support::{Schemas, corpus, documents, documents_from, yaml_files};

fn examples() -> Vec<(PathBuf, Value)> {
    let directory = corpus().join("catalog-model-examples");
    // `*.oas.yaml` are OpenAPI documents, the targets of `$text` placeholders.
    let is_definition = |path: &Path| path.to_string_lossy().ends_with(".oas.yaml");
    yaml_files(&directory, &is_definition)
        .into_iter()
        .flat_map(|path| {
            documents(&path)
                .into_iter()
                .map(move |document| (path.clone(), document))
        })
        .collect()
}

fn valid_entities() -> Vec<Entity> {
    examples()
        .iter()
        .map(|(path, document)| {
            validate(document, &Rules::default())
                .unwrap_or_else(|problems| panic!("{}: {problems:?}", path.display()))
        })
        .collect()
}

/// Relative path and entity name, for messages.
fn label(path: &Path, document: &Value) -> String {
    let relative = path.strip_prefix(corpus()).unwrap_or(path);
    format!("{} ({})", relative.display(), document["metadata"]["name"])
}

/// Asserts that our verdict and the schemas' agree on every document, except
/// the listed `(file suffix, reason)` exceptions, where the schemas accept and
/// we reject (Backstage's code rejects them too).
fn assert_agreement(documents: &[(PathBuf, Value)], exceptions: &[(&str, &str)]) {
    let schemas = Schemas::load();
    let mut disagreements = Vec::new();
    for (path, document) in documents {
        let ours = validate(document, &Rules::default()).map(|_| ());
        let theirs = schemas.judge(document);
        let excepted = exceptions
            .iter()
            .any(|(suffix, _)| path.to_string_lossy().ends_with(suffix));
        if excepted {
            assert!(theirs.is_ok() && ours.is_err(), "{}", label(path, document));
        } else if ours.is_ok() != theirs.is_ok() {
            disagreements.push(format!(
                "{}: ours {ours:?}, schemas {theirs:?}",
                label(path, document)
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn every_example_entity_validates() {
    let entities = valid_entities();
    // The README counts 59 entities besides the 9 Location fan-outs
    // (all.yaml, all-*.yaml, acme-corp.yaml and the Location in org.yaml).
    let locations = entities
        .iter()
        .filter(|entity| entity.kind == "Location")
        .count();
    assert_eq!((entities.len(), locations), (68, 9));
    let references: BTreeSet<EntityRef> = entities.iter().map(Entity::reference).collect();
    assert_eq!(
        references.len(),
        entities.len(),
        "entity references are unique"
    );
}

#[test]
fn examples_agree_with_the_schemas() {
    let documents = examples();
    let schemas = Schemas::load();
    for (path, document) in &documents {
        assert!(
            schemas.judge(document).is_ok(),
            "the schemas reject {}",
            label(path, document)
        );
    }
    assert_agreement(&documents, &[]);
}

/// The sample templates and the entities beside them. `skeleton/` folders are
/// scaffolder input, not entities (their `{%- if %}` lines are not even YAML
/// until rendered). `azure-devops-demo/python-sample/catalog-info.yaml` is
/// skeleton content too (`${{ values.name }}` in names and owners); we render
/// its two values as the scaffolder would before judging it.
fn sample_templates(directory: &Path) -> Vec<(PathBuf, Value)> {
    let skip = |path: &Path| {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        name == "skeleton" || name == "template" || name.contains("{{")
    };
    let mut found = Vec::new();
    for path in yaml_files(directory, &skip) {
        let text = fs::read_to_string(&path).unwrap();
        let rendered = text
            .replace("${{ values.name }}", "python-sample")
            .replace("${{ values.owner }}", "team-a");
        for document in documents_from(&rendered, &path) {
            found.push((path.clone(), document));
        }
    }
    found
}

#[test]
fn sample_templates_agree_with_the_schemas() {
    let documents = sample_templates(&corpus().join("sample-templates"));
    // The README counts 15 entities and templates here.
    assert_eq!(documents.len(), 15);
    let templates = documents
        .iter()
        .filter(|(_, document)| document["kind"] == "Template")
        .count();
    assert_eq!(templates, 8);
    for (path, document) in &documents {
        let entity = validate(document, &Rules::default())
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", label(path, document)));
        if entity.kind == "Template" {
            assert_eq!(entity.api_version, "scaffolder.backstage.io/v1beta3");
        }
    }
    assert_agreement(&documents, &[]);
}

#[test]
fn crafted_invalid_entities_are_rejected_in_agreement_with_the_schemas() {
    let schemas = Schemas::load();
    let cases = crafted::cases();
    assert!(cases.len() >= 15);
    for case in &cases {
        let problems = validate(&case.document, &Rules::default())
            .err()
            .unwrap_or_else(|| panic!("{}: accepted", case.label));
        assert!(
            problems.iter().any(|problem| problem.path == case.path),
            "{}: no problem at {}: {problems:?}",
            case.label,
            case.path
        );
        let theirs = schemas.judge(&case.document);
        match case.schema {
            SchemaVerdict::Rejects => {
                assert!(theirs.is_err(), "{}: the schemas accept it", case.label)
            }
            SchemaVerdict::Accepts(rule) => assert!(
                theirs.is_ok(),
                "{}: expected the schemas to accept it (only {rule} rejects it): {theirs:?}",
                case.label
            ),
        }
    }
}

#[test]
fn legacy_examples_agree_with_the_schemas_except_the_invalid_component() {
    let directory = corpus().join("legacy/catalog-model-examples");
    let documents: Vec<(PathBuf, Value)> = yaml_files(&directory, &|_| false)
        .into_iter()
        .flat_map(|path| documents(&path).into_iter().map(move |d| (path.clone(), d)))
        .collect();
    // Expected failures per the corpus README: the old APIs without
    // lifecycle/owner or definition fail both ways; the Environment kind has no
    // released schema and is a generic entity for us, accepted both ways.
    let rejected: BTreeSet<String> = documents
        .iter()
        .filter(|(_, document)| validate(document, &Rules::default()).is_err())
        .map(|(path, _)| path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = [
        "hello-world-api.yaml",
        "invalid-component.yaml",
        "spotify-api.yaml",
        "streetlights-api.yaml",
    ]
    .map(str::to_owned)
    .into();
    assert_eq!(rejected, expected);
    assert_agreement(
        &documents,
        &[(
            "components/invalid-component.yaml",
            "name `invalid component` passes the schema's minLength but not FieldFormatEntityPolicy",
        )],
    );
}

#[test]
fn legacy_sample_templates_are_generic_entities() {
    let directory = corpus().join("legacy/sample-templates");
    let documents = sample_templates(&directory);
    assert!(documents.len() >= 10, "{}", documents.len());
    for (path, document) in &documents {
        let entity = validate(document, &Rules::default())
            .unwrap_or_else(|problems| panic!("{}: {problems:?}", label(path, document)));
        if entity.kind == "Template" {
            // backstage.io/v1alpha1 and v1beta2 templates: envelope rules only.
            assert_ne!(entity.api_version, "scaffolder.backstage.io/v1beta3");
            assert!(entity.relations().is_empty());
        }
    }
    assert_agreement(&documents, &[]);
}

#[test]
fn the_legacy_invalid_component_names_its_bad_name_and_tag() {
    let path = corpus().join("legacy/catalog-model-examples/components/invalid-component.yaml");
    let document = documents(&path).remove(0);
    let problems = validate(&document, &Rules::default()).unwrap_err();
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(lines[0].starts_with("metadata.name: `invalid component` is not a valid name"));
    assert!(lines[1].starts_with("metadata.tags[1]: `go 1.15.3` is not a valid tag"));
    // The JSON schema alone accepts it; Backstage's field-format policy does not.
    assert!(Schemas::load().judge(&document).is_ok());
}

#[test]
fn variants_are_judged_as_documented() {
    let directory = corpus().join("variants");
    let schemas = Schemas::load();
    let mut verdicts = BTreeMap::new();
    for path in yaml_files(&directory, &|_| false) {
        for document in documents(&path) {
            let ours = validate(&document, &Rules::default()).is_ok();
            let theirs = schemas.judge(&document).is_ok();
            let relative = path.strip_prefix(&directory).unwrap().display().to_string();
            verdicts.insert(relative, (ours, theirs));
        }
    }
    let expected: BTreeMap<String, (bool, bool)> = [
        (
            "f2f89445/catalog-model-examples/acme/org.yaml",
            (true, true),
        ),
        // `allowedTools` as a list: the released skill schema wants a string.
        // AiResource is a generic kind here (envelope and metadata only), so
        // we accept it. Documented disagreement.
        (
            "0797d2b3/catalog-model-examples/ai-resources/frontend-design-skill.yaml",
            (true, false),
        ),
        (
            "1d9bce13/catalog-model-examples/ai-resources/use-internal-apis-rule.yaml",
            (true, true),
        ),
    ]
    .into_iter()
    .map(|(path, verdict)| (path.to_owned(), verdict))
    .collect();
    assert_eq!(verdicts, expected);
}

fn entity_at(file: &str, name: &str) -> Entity {
    let path = corpus().join("catalog-model-examples").join(file);
    let document = documents(&path)
        .into_iter()
        .find(|document| document["metadata"]["name"] == name)
        .unwrap();
    validate(&document, &Rules::default()).unwrap()
}

fn relation(source: &str, relation_type: &'static str, target: &str) -> Relation {
    Relation {
        r#type: relation_type,
        source: source.parse().unwrap(),
        target: target.parse().unwrap(),
    }
}

#[test]
fn org_relations_match_backstage() {
    let path = corpus().join("catalog-model-examples/acme/org.yaml");
    let relations: Vec<Relation> = documents(&path)
        .iter()
        .flat_map(|document| validate(document, &Rules::default()).unwrap().relations())
        .collect();
    // acme-corp has `children: [infrastructure]`; the Location has none.
    assert_eq!(
        relations,
        [
            relation(
                "group:default/infrastructure",
                relation::CHILD_OF,
                "group:default/acme-corp"
            ),
            relation(
                "group:default/acme-corp",
                relation::PARENT_OF,
                "group:default/infrastructure"
            ),
        ]
    );
}

#[test]
fn team_relations_match_backstage() {
    let path = corpus().join("catalog-model-examples/acme/team-a-group.yaml");
    let entities: Vec<Entity> = documents(&path)
        .iter()
        .map(|document| validate(document, &Rules::default()).unwrap())
        .collect();
    let relations: BTreeSet<Relation> = entities.iter().flat_map(Entity::relations).collect();
    // team-a: parent backstage (2 relations); five users memberOf team-a (2
    // each), one of them in namespace `development` naming `group:default/team-a`.
    assert_eq!(relations.len(), 12);
    assert!(relations.contains(&relation(
        "user:development/guest",
        relation::MEMBER_OF,
        "group:default/team-a"
    )));
    assert!(relations.contains(&relation(
        "group:default/team-a",
        relation::CHILD_OF,
        "group:default/backstage"
    )));
    assert!(relations.contains(&relation(
        "group:default/backstage",
        relation::PARENT_OF,
        "group:default/team-a"
    )));
    assert!(relations.contains(&relation(
        "user:default/guest",
        relation::MEMBER_OF,
        "group:default/team-a"
    )));
    assert!(relations.contains(&relation(
        "group:default/team-a",
        relation::HAS_MEMBER,
        "user:default/guest"
    )));
}

#[test]
fn component_and_api_relations_match_backstage() {
    let petstore = entity_at("components/petstore-component.yaml", "petstore");
    let own = "component:default/petstore";
    let mut expected = vec![
        relation(own, relation::OWNED_BY, "group:default/team-c"),
        relation("group:default/team-c", relation::OWNER_OF, own),
    ];
    for api in ["petstore", "streetlights", "hello-world"] {
        let api = format!("api:default/{api}");
        expected.push(relation(own, relation::PROVIDES_API, &api));
        expected.push(relation(&api, relation::API_PROVIDED_BY, own));
    }
    expected.sort();
    assert_eq!(petstore.relations(), expected);

    let search = entity_at("components/wayback-search-component.yaml", "wayback-search");
    let relations = search.relations();
    assert_eq!(relations.len(), 6);
    assert!(relations.contains(&relation(
        "api:default/wayback-archive",
        relation::API_CONSUMED_BY,
        "component:default/wayback-search"
    )));

    // `owner: user:guest` names its kind; `owner: guest` would be a group.
    let searcher = entity_at("components/searcher-component.yaml", "searcher");
    assert!(searcher.relations().contains(&relation(
        "user:default/guest",
        relation::OWNER_OF,
        "component:default/searcher"
    )));
    let playback = entity_at("components/playback-order-component.yaml", "playback-order");
    assert!(playback.relations().contains(&relation(
        "component:default/playback-order",
        relation::OWNED_BY,
        "group:default/guest"
    )));

    let storage = entity_at(
        "components/wayback-archive-storage-component.yaml",
        "wayback-archive-storage",
    );
    assert!(storage.relations().contains(&relation(
        "component:default/wayback-archive",
        relation::HAS_PART,
        "component:default/wayback-archive-storage"
    )));

    let api = entity_at("apis/petstore-webhook-api.yaml", "petstore-webhook");
    assert_eq!(
        api.relations(),
        [
            relation(
                "api:default/petstore-webhook",
                relation::OWNED_BY,
                "group:default/team-c"
            ),
            relation(
                "group:default/team-c",
                relation::OWNER_OF,
                "api:default/petstore-webhook"
            ),
        ]
    );
    let artists = entity_at("domains/artists-domain.yaml", "artists");
    assert!(artists.relations().contains(&relation(
        "domain:default/audio",
        relation::HAS_PART,
        "domain:default/artists"
    )));
}

#[test]
fn corpus_relations_come_in_pairs_and_keep_dangling_targets() {
    let entities = valid_entities();
    let known: BTreeSet<EntityRef> = entities.iter().map(Entity::reference).collect();
    let relations: BTreeSet<Relation> = entities.iter().flat_map(Entity::relations).collect();
    for relation in &relations {
        assert!(
            relations.contains(&relation.inverted().unwrap()),
            "{relation:?}"
        );
    }
    let mut by_type: BTreeMap<&str, usize> = BTreeMap::new();
    for relation in &relations {
        *by_type.entry(relation.r#type).or_default() += 1;
    }
    let dangling: BTreeSet<String> = relations
        .iter()
        .flat_map(|relation| [&relation.source, &relation.target])
        .filter(|reference| !known.contains(reference))
        .map(ToString::to_string)
        .collect();
    let expected: BTreeMap<&str, usize> = [
        (relation::OWNED_BY, 30),
        (relation::OWNER_OF, 30),
        (relation::MEMBER_OF, 17),
        (relation::HAS_MEMBER, 17),
        (relation::PART_OF, 13),
        (relation::HAS_PART, 13),
        (relation::CHILD_OF, 7),
        (relation::PARENT_OF, 7),
        (relation::PROVIDES_API, 5),
        (relation::API_PROVIDED_BY, 5),
        (relation::CONSUMES_API, 1),
        (relation::API_CONSUMED_BY, 1),
    ]
    .into();
    assert_eq!(by_type, expected);
    assert_eq!(relations.len(), 146);
    // `playback-order` says `owner: guest`; owner's default kind is Group and
    // only a User `guest` exists, so the target dangles, in Backstage too. The
    // corpus README's three dangling AiResource references come from
    // AiResource `skills`/`plugins`: AiResource is a generic kind here and
    // yields no relations.
    let expected_dangling: BTreeSet<String> = ["group:default/guest".to_owned()].into();
    assert_eq!(dangling, expected_dangling);
}

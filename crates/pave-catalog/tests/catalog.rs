//! The catalog engine against the Backstage corpus and real files, git
//! repositories and databases (SQLite, or PostgreSQL with
//! `PAVE_TEST_DATABASE_URL`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use pave_catalog::{
    Catalog, CatalogConfig, Filter, LocationSpec, Order, OrphanStrategy, QueryRequest,
};
use pave_catalog_model::{EntityRef, Rules};
use pave_store::testing::TestDatabase;
use serde_json::Value;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/backstage")
        .canonicalize()
        .expect("the corpus is at ../shared/corpus")
}

struct Fixture {
    catalog: Catalog,
    _database: TestDatabase,
    _cache: tempfile::TempDir,
}

async fn catalog_with(strategy: OrphanStrategy) -> Fixture {
    let database = TestDatabase::create().await.unwrap();
    let store = database.open().await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let catalog = Catalog::new(
        store,
        CatalogConfig {
            locations: Vec::new(),
            rules: Rules::default(),
            orphan_strategy: strategy,
            refresh_interval: Duration::from_secs(3600),
            cache_dir: cache.path().to_path_buf(),
        },
    );
    Fixture {
        catalog,
        _database: database,
        _cache: cache,
    }
}

fn file(path: &Path) -> LocationSpec {
    LocationSpec {
        r#type: "file".into(),
        target: path.display().to_string(),
    }
}

async fn kinds(catalog: &Catalog) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for entity in catalog
        .list(&Filter::default(), &["kind".into()], 0, None, None)
        .await
        .unwrap()
    {
        *counts
            .entry(entity["kind"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

fn relation_targets(entity: &Value, kind: &str) -> Vec<String> {
    let mut targets: Vec<String> = entity["relations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|relation| relation["type"] == kind)
        .map(|relation| relation["targetRef"].as_str().unwrap().to_string())
        .collect();
    targets.sort();
    targets
}

#[tokio::test]
async fn the_backstage_examples_ingest_with_both_way_relations() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let catalog = &fixture.catalog;
    let examples = corpus().join("catalog-model-examples");
    // Three APIs take their definition from github.com, which this machine
    // cannot reach: those three fail with a clear error, as they would in
    // Backstage without network, and everything else loads.
    let all = catalog
        .register(file(&examples.join("all.yaml")), false)
        .await
        .unwrap();
    let mut failed: Vec<String> = all
        .location
        .errors
        .iter()
        .filter_map(|p| p.entity_ref.clone())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        vec![
            "api:default/spotify",
            "api:default/wayback-archive",
            "api:default/wayback-search"
        ],
        "{:?}",
        all.location.errors
    );
    assert!(
        all.location
            .errors
            .iter()
            .all(|p| p.message.starts_with("$text: url `https://github.com/")),
        "{:?}",
        all.location.errors
    );
    let acme = catalog
        .register(file(&examples.join("acme-corp.yaml")), false)
        .await
        .unwrap();
    assert!(
        acme.location.errors.is_empty(),
        "{:?}",
        acme.location.errors
    );
    let counts = kinds(catalog).await;
    let expected: BTreeMap<String, usize> = [
        ("API", 7),
        ("AiResource", 3),
        ("Component", 13),
        ("Domain", 3),
        ("Group", 8),
        ("Location", 9),
        ("Resource", 1),
        ("System", 3),
        ("User", 17),
    ]
    .into_iter()
    .map(|(kind, count)| (kind.to_string(), count))
    .collect();
    assert_eq!(counts, expected);

    let artist = catalog
        .entity_by_ref(&EntityRef::new("component", "default", "artist-lookup"))
        .await
        .unwrap();
    assert_eq!(
        relation_targets(&artist, "ownedBy"),
        vec!["group:default/team-a"]
    );
    assert_eq!(
        relation_targets(&artist, "partOf"),
        vec!["system:default/artist-engagement-portal"]
    );
    let team = catalog
        .entity_by_ref(&EntityRef::new("group", "default", "team-a"))
        .await
        .unwrap();
    assert!(
        relation_targets(&team, "ownerOf").contains(&"component:default/artist-lookup".to_string())
    );
    assert!(!relation_targets(&team, "hasMember").is_empty());
    assert!(!relation_targets(&team, "childOf").is_empty());

    // $text placeholders were substituted with the file's content.
    let webhook = catalog
        .entity_by_ref(&EntityRef::new("api", "default", "petstore-webhook"))
        .await
        .unwrap();
    assert!(
        webhook["spec"]["definition"]
            .as_str()
            .unwrap()
            .starts_with("openapi: 3.1.0")
    );
    // Managed-by annotations say where each entity came from.
    let annotations = &artist["metadata"]["annotations"];
    assert!(
        annotations["backstage.io/managed-by-location"]
            .as_str()
            .unwrap()
            .starts_with("file:/")
    );
    assert!(
        annotations["backstage.io/managed-by-origin-location"]
            .as_str()
            .unwrap()
            .ends_with("all.yaml")
    );
}

#[tokio::test]
async fn the_invalid_legacy_component_is_rejected_naming_name_and_tag() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let path = corpus().join("legacy/catalog-model-examples/components/invalid-component.yaml");
    let registered = fixture.catalog.register(file(&path), false).await.unwrap();
    let messages: Vec<String> = registered
        .location
        .errors
        .iter()
        .map(ToString::to_string)
        .collect();
    assert!(
        messages.iter().any(|m| m.contains("metadata.name")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("metadata.tags")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .all(|m| m.contains("invalid-component.yaml:")),
        "{messages:?}"
    );
    assert!(registered.entities.is_empty());
}

#[tokio::test]
async fn unreachable_remote_targets_fail_clearly_and_the_rest_loads() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let path = corpus().join("sample-templates/all-templates.yaml");
    let started = std::time::Instant::now();
    let registered = fixture.catalog.register(file(&path), false).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(120));
    let remote: Vec<String> = registered
        .location
        .errors
        .iter()
        .filter(|p| p.location.contains("github.com"))
        .map(ToString::to_string)
        .collect();
    assert_eq!(remote.len(), 6, "{:?}", registered.location.errors);
    let templates = fixture
        .catalog
        .list(
            &Filter::parse(&["kind=template".into()]).unwrap(),
            &[],
            0,
            None,
            None,
        )
        .await
        .unwrap();
    assert!(
        templates.len() >= 4,
        "the local templates still load: {}",
        templates.len()
    );
}

fn write(directory: &Path, name: &str, text: &str) -> PathBuf {
    let path = directory.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn component(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n  tags: [java, web]\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner}\n"
    )
}

#[tokio::test]
async fn bad_files_get_clear_errors_and_lose_nothing() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().canonicalize().unwrap();
    let good = write(&root, "good.yaml", &component("keeper", "team-a"));
    let location = fixture
        .catalog
        .register(file(&good), false)
        .await
        .unwrap()
        .location;

    let cases: Vec<(&str, String, &str)> = vec![
        ("malformed.yaml", "kind: Component\nmetadata: [\n".into(), "malformed.yaml:"),
        ("many.yaml", "a: 1\n---\n".repeat(10_000), "too many documents"),
        ("deep.yaml", format!("{}1{}", "[".repeat(500), "]".repeat(500)), "nested too deeply"),
        (
            "escape.yaml",
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: sneaky\nspec:\n  type: openapi\n  lifecycle: production\n  owner: a\n  definition:\n    $text: ../../etc/passwd\n".into(),
            "leads outside",
        ),
    ];
    for (name, text, expected) in cases {
        let path = write(&root, name, &text);
        let registered = fixture.catalog.register(file(&path), false).await.unwrap();
        let messages: Vec<String> = registered
            .location
            .errors
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            messages.iter().any(|m| m.contains(expected)),
            "{name}: {messages:?}"
        );
        assert!(registered.entities.is_empty(), "{name}");
    }
    let keeper = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "keeper"))
        .await
        .unwrap();
    assert_eq!(keeper["spec"]["owner"], "team-a");
    assert!(
        fixture
            .catalog
            .location(&location.id)
            .await
            .unwrap()
            .errors
            .is_empty()
    );
}

#[tokio::test]
async fn a_broken_file_keeps_the_last_good_entities_with_errors() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().canonicalize().unwrap();
    let path = write(
        &root,
        "catalog-info.yaml",
        &format!("{}---\n{}", component("one", "a"), component("two", "a")),
    );
    let location = fixture
        .catalog
        .register(file(&path), false)
        .await
        .unwrap()
        .location;
    write(
        &root,
        "catalog-info.yaml",
        &format!(
            "{}---\n{}  bad: [\n",
            component("one", "b"),
            component("two", "b")
        ),
    );
    fixture
        .catalog
        .refresh_location(&location.id)
        .await
        .unwrap();
    let one = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "one"))
        .await
        .unwrap();
    assert_eq!(one["spec"]["owner"], "a", "the last good version stays");
    let items = one["status"]["items"]
        .as_array()
        .expect("the entity carries the error");
    assert!(
        items[0]["message"]
            .as_str()
            .unwrap()
            .contains("catalog-info.yaml:"),
        "{items:?}"
    );
    let errors = fixture.catalog.location(&location.id).await.unwrap().errors;
    assert!(
        errors[0].line.is_some() && errors[0].column.is_some(),
        "{errors:?}"
    );

    // An invalid document keeps its last good version too.
    write(
        &root,
        "catalog-info.yaml",
        &format!(
            "{}---\n{}",
            component("one", "c"),
            component("two", "c").replace("  lifecycle: production\n", "")
        ),
    );
    fixture
        .catalog
        .refresh_location(&location.id)
        .await
        .unwrap();
    let two = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "two"))
        .await
        .unwrap();
    assert_eq!(two["spec"]["owner"], "a");
    assert!(
        two["status"]["items"][0]["message"]
            .as_str()
            .unwrap()
            .contains("lifecycle"),
        "{two}"
    );
    let one = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "one"))
        .await
        .unwrap();
    assert_eq!(one["spec"]["owner"], "c");
    assert!(one.get("status").is_none());
}

#[tokio::test]
async fn the_first_location_keeps_a_conflicting_entity() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let directory = tempfile::tempdir().unwrap();
    let root = directory.path().canonicalize().unwrap();
    let first = write(&root, "a/catalog-info.yaml", &component("shared", "first"));
    let second = write(&root, "b/catalog-info.yaml", &component("shared", "second"));
    fixture.catalog.register(file(&first), false).await.unwrap();
    let registered = fixture
        .catalog
        .register(file(&second), false)
        .await
        .unwrap();
    assert!(
        registered.location.errors[0].message.contains("conflict"),
        "{:?}",
        registered.location.errors
    );
    let shared = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "shared"))
        .await
        .unwrap();
    assert_eq!(shared["spec"]["owner"], "first");
}

#[tokio::test]
async fn vanished_entities_are_deleted_or_orphaned_and_unchanged_ones_are_not_rewritten() {
    for strategy in [OrphanStrategy::Delete, OrphanStrategy::Keep] {
        let fixture = catalog_with(strategy).await;
        let directory = tempfile::tempdir().unwrap();
        let root = directory.path().canonicalize().unwrap();
        let path = write(
            &root,
            "catalog-info.yaml",
            &format!("{}---\n{}", component("stays", "a"), component("goes", "a")),
        );
        let location = fixture
            .catalog
            .register(file(&path), false)
            .await
            .unwrap()
            .location;
        let before = fixture
            .catalog
            .entity_by_ref(&EntityRef::new("component", "default", "stays"))
            .await
            .unwrap();
        write(&root, "catalog-info.yaml", &component("stays", "a"));
        let applied = fixture
            .catalog
            .refresh_location(&location.id)
            .await
            .unwrap();
        assert_eq!(applied.unchanged, 1);
        let after = fixture
            .catalog
            .entity_by_ref(&EntityRef::new("component", "default", "stays"))
            .await
            .unwrap();
        assert_eq!(
            before["metadata"]["etag"], after["metadata"]["etag"],
            "unchanged entities keep their etag"
        );
        let goes = fixture
            .catalog
            .entity_by_ref(&EntityRef::new("component", "default", "goes"))
            .await;
        match strategy {
            OrphanStrategy::Delete => assert!(goes.is_err()),
            OrphanStrategy::Keep => {
                assert_eq!(
                    goes.unwrap()["metadata"]["annotations"]["backstage.io/orphan"],
                    "true"
                );
                let orphans = fixture
                    .catalog
                    .list(
                        &Filter::parse(&["metadata.annotations.backstage.io/orphan=true".into()])
                            .unwrap(),
                        &[],
                        0,
                        None,
                        None,
                    )
                    .await
                    .unwrap();
                assert_eq!(orphans.len(), 1);
            }
        }
        fixture.catalog.delete_location(&location.id).await.unwrap();
        assert!(
            fixture
                .catalog
                .list(&Filter::default(), &[], 0, None, None)
                .await
                .unwrap()
                .is_empty()
        );
    }
}

#[tokio::test]
async fn filters_follow_backstage_semantics() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let examples = corpus().join("catalog-model-examples");
    fixture
        .catalog
        .register(file(&examples.join("all.yaml")), false)
        .await
        .unwrap();
    fixture
        .catalog
        .register(file(&examples.join("acme-corp.yaml")), false)
        .await
        .unwrap();
    let list = |filters: &[&str]| {
        let filter =
            Filter::parse(&filters.iter().map(|f| f.to_string()).collect::<Vec<_>>()).unwrap();
        let catalog = &fixture.catalog;
        async move {
            catalog
                .list(
                    &filter,
                    &["kind".into(), "metadata.name".into()],
                    0,
                    None,
                    None,
                )
                .await
                .unwrap()
        }
    };
    let components = list(&["kind=Component"]).await;
    assert_eq!(components.len(), 13);
    assert_eq!(
        list(&["KIND=component"]).await.len(),
        13,
        "keys and values are case-insensitive"
    );
    let users_or_groups = list(&["kind=user", "kind=group"]).await;
    assert_eq!(users_or_groups.len(), 25, "repeated filters OR");
    let services = list(&["kind=component,spec.type=service"]).await;
    assert!(!services.is_empty() && services.len() < 13, "commas AND");
    let owned = list(&["relations.ownedBy=group:default/team-a"]).await;
    assert!(
        owned
            .iter()
            .any(|e| e["metadata"]["name"] == "artist-lookup")
    );
    let with_system = list(&["kind=component,spec.system"]).await;
    assert!(
        !with_system.is_empty() && with_system.len() <= 13,
        "existence"
    );
    let tagged = list(&["metadata.tags=java"]).await;
    assert!(tagged.iter().all(|e| e["kind"] == "Component"
        || e["kind"] == "API"
        || e["kind"] == "System"
        || e["kind"] == "Resource"
        || e["kind"] == "Domain"));

    let page = fixture
        .catalog
        .query(
            &QueryRequest {
                filter: vec!["kind=component".into()],
                limit: Some(5),
                orders: vec![Order::parse("metadata.name,desc").unwrap()],
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(page.total_items, 13);
    assert_eq!(page.items.len(), 5);
    let names: Vec<&str> = page
        .items
        .iter()
        .map(|e| e["metadata"]["name"].as_str().unwrap())
        .collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(names, sorted);
    let cursor = page.page_info.next_cursor.clone().unwrap();
    let next = fixture
        .catalog
        .query(&pave_catalog::decode_cursor(&cursor).unwrap(), None)
        .await
        .unwrap();
    assert_eq!(next.items.len(), 5);
    assert!(next.page_info.prev_cursor.is_some());

    let searched = fixture
        .catalog
        .query(
            &QueryRequest {
                full_text_term: Some("ARTIST".into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
    assert!(
        searched
            .items
            .iter()
            .any(|e| e["metadata"]["name"] == "artist-lookup")
    );

    let facets = fixture
        .catalog
        .facets(&["kind".into()], &Filter::default(), None)
        .await
        .unwrap();
    let kinds = &facets["kind"];
    assert!(
        kinds
            .iter()
            .any(|f| f["value"] == "Component" && f["count"] == 13),
        "{kinds:?}"
    );

    let refs = fixture
        .catalog
        .entities_by_refs(
            &[
                "component:default/artist-lookup".into(),
                "component:default/nope".into(),
                "garbage".into(),
            ],
            &[],
        )
        .await
        .unwrap();
    assert!(refs[0].is_some() && refs[1].is_none() && refs[2].is_none());
}

fn git(directory: &Path, args: &[&str]) {
    let status = std::process::Command::new("git")
        .args(args)
        .current_dir(directory)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

#[tokio::test]
async fn url_locations_read_from_git_at_a_ref() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let directory = tempfile::tempdir().unwrap();
    let work = directory.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    write(
        &work,
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: repo\nspec:\n  targets: [./services/api.yaml]\n",
    );
    write(
        &work,
        "services/api.yaml",
        &component("from-git", "team-git"),
    );
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "first"]);
    let bare = directory.path().join("repo.git");
    git(
        directory.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    let url = format!("file://{}/blob/main/catalog-info.yaml", bare.display());
    let registered = fixture
        .catalog
        .register(
            LocationSpec {
                r#type: "url".into(),
                target: url,
            },
            false,
        )
        .await
        .unwrap();
    assert!(
        registered.location.errors.is_empty(),
        "{:?}",
        registered.location.errors
    );
    let entity = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", "from-git"))
        .await
        .unwrap();
    assert_eq!(entity["spec"]["owner"], "team-git");
}

/// Many matches page in entity_ref order (the ordered index walk used from
/// 2,000 matches on agrees with sorting), and cached id lists and the text
/// index follow every change: an edited file, a deleted entity.
#[tokio::test]
async fn large_filters_page_in_order_and_follow_changes() {
    let fixture = catalog_with(OrphanStrategy::Delete).await;
    let directory = tempfile::tempdir().unwrap();
    // Files of 900 documents: one file may hold at most 1,000.
    let write = |documents: &[String]| {
        for (number, chunk) in documents.chunks(900).enumerate() {
            let path = directory.path().join(format!("many-{number}.yaml"));
            std::fs::write(path, chunk.join("---\n")).unwrap();
        }
    };
    let count = 4500;
    let document = |index: usize, kind: &str| {
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: part-{:05}\n  description: Widget number {index}\nspec:\n  type: {kind}\n  lifecycle: production\n  owner: team-a\n",
            (index * 7919) % count
        )
    };
    let kind_of = |index: usize| {
        if index.is_multiple_of(3) {
            "website"
        } else {
            "service"
        }
    };
    let text: Vec<String> = (0..count).map(|i| document(i, kind_of(i))).collect();
    write(&text);
    let registered = fixture
        .catalog
        .register(file(&directory.path().join("many-*.yaml")), false)
        .await
        .unwrap();
    assert_eq!(
        registered.entities.len(),
        count,
        "{:?}",
        registered.location.errors
    );

    let mut expected: Vec<String> = (0..count)
        .filter(|&i| kind_of(i) == "service")
        .map(|i| format!("part-{:05}", (i * 7919) % count))
        .collect();
    expected.sort();
    assert!(expected.len() > 2000, "enough matches for the ordered walk");
    let page = |offset: u64, orders: Vec<Order>| QueryRequest {
        filter: vec!["kind=component,spec.type=service".into()],
        fields: vec!["metadata.name".into()],
        limit: Some(100),
        offset: Some(offset),
        orders,
        ..QueryRequest::default()
    };
    let names = |page: &pave_catalog::QueryPage| -> Vec<String> {
        page.items
            .iter()
            .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
            .collect()
    };
    for offset in [0u64, 1500, 2950] {
        let walked = fixture
            .catalog
            .query(&page(offset, Vec::new()), None)
            .await
            .unwrap();
        assert_eq!(walked.total_items as usize, expected.len());
        let start = offset as usize;
        let end = (start + 100).min(expected.len());
        assert_eq!(names(&walked), expected[start..end], "page at {offset}");
        let sorted = fixture
            .catalog
            .query(
                &page(offset, vec![Order::parse("metadata.name").unwrap()]),
                None,
            )
            .await
            .unwrap();
        assert_eq!(names(&sorted), names(&walked), "both orders agree");
    }

    // An edit: one service becomes a website, and its description changes.
    let mut edited = text.clone();
    edited[1] = document(1, "website").replace("Widget number 1\n", "Gadget number 1\n");
    write(&edited);
    let location = fixture.catalog.locations().await.unwrap()[0].id.clone();
    fixture.catalog.refresh_location(&location).await.unwrap();
    let after = fixture
        .catalog
        .query(&page(0, Vec::new()), None)
        .await
        .unwrap();
    assert_eq!(
        after.total_items as usize,
        expected.len() - 1,
        "the cached list moved"
    );
    let gadget = QueryRequest {
        full_text_term: Some("gadget".into()),
        ..QueryRequest::default()
    };
    let found = fixture.catalog.query(&gadget, None).await.unwrap();
    assert_eq!(found.total_items, 1, "the text index follows the edit");

    // A deletion.
    let victim = fixture
        .catalog
        .entity_by_ref(&EntityRef::new("component", "default", &expected[0]))
        .await
        .unwrap();
    fixture
        .catalog
        .delete_entity(victim["metadata"]["uid"].as_str().unwrap())
        .await
        .unwrap();
    let after = fixture
        .catalog
        .query(&page(0, Vec::new()), None)
        .await
        .unwrap();
    assert_eq!(after.total_items as usize, expected.len() - 2);
    assert_eq!(names(&after)[0], expected[1]);
}

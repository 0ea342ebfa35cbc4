use serde_json::{Value, json};

use crate::{Link, Rules, validate};

/// A generic entity (no spec rules) with the given metadata.
fn with_metadata(metadata: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": metadata})
}

fn problems(metadata: Value) -> Vec<String> {
    match validate(&with_metadata(metadata), &Rules::default()) {
        Ok(_) => Vec::new(),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

/// Sorted, for checks over object keys, whose order depends on serde_json's
/// features.
fn sorted_problems(metadata: Value) -> Vec<String> {
    let mut found = problems(metadata);
    found.sort();
    found
}

fn accepted(metadata: Value) -> bool {
    problems(metadata).is_empty()
}

#[test]
fn metadata_must_be_an_object_with_a_name() {
    assert_eq!(
        problems(json!("x")),
        ["metadata: must be an object, found a string"]
    );
    assert_eq!(problems(json!({})), ["metadata.name: is required"]);
    assert_eq!(
        problems(json!({"name": 5})),
        ["metadata.name: must be a string, found a number"]
    );
}

#[test]
fn names() {
    for valid in ["a", "Z9", "artist-web", "Lorem_Service.v2", &"a".repeat(63)] {
        assert!(accepted(json!({"name": valid})), "{valid}");
    }
    for invalid in ["", "-a", "a-", "a b", "a/b", "é", &"a".repeat(64)] {
        assert!(!accepted(json!({"name": invalid})), "{invalid:?}");
    }
    assert_eq!(
        problems(json!({"name": "invalid component"})),
        [
            "metadata.name: `invalid component` is not a valid name: expected at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]"
        ]
    );
    let long = problems(json!({"name": "a".repeat(64)}));
    assert!(long[0].contains("it has 64 characters"), "{long:?}");
}

#[test]
fn namespaces() {
    for valid in ["default", "a", "team-1", &"n".repeat(63)] {
        assert!(
            accepted(json!({"name": "x", "namespace": valid})),
            "{valid}"
        );
    }
    for invalid in ["", "Default", "a--b", "-a", "a_b", "a.b", &"n".repeat(64)] {
        assert!(
            !accepted(json!({"name": "x", "namespace": invalid})),
            "{invalid:?}"
        );
    }
    let entity = validate(&with_metadata(json!({"name": "x"})), &Rules::default()).unwrap();
    assert_eq!(entity.metadata.namespace, "default");
    assert!(!accepted(json!({"name": "x", "namespace": null})));
}

#[test]
fn labels() {
    let valid = json!({"name": "x", "labels": {
        "category": "music",
        "goVersion": "go1.15.3",
        "example.com/empty": "",
        "app.kubernetes.io/name": "artist-web",
    }});
    let entity = validate(&with_metadata(valid), &Rules::default()).unwrap();
    assert_eq!(entity.metadata.labels["goVersion"], "go1.15.3");
    assert_eq!(entity.metadata.labels.len(), 4);
    assert_eq!(
        sorted_problems(json!({"name": "x", "labels": {"foo/bar/baz": "v", "Foo.com/x": "v"}})),
        [
            "metadata.labels.Foo.com/x: `Foo.com/x` is not a valid label key: expected an optional lower-case DNS subdomain and `/` (e.g. `example.com/`), then at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]",
            "metadata.labels.foo/bar/baz: `foo/bar/baz` is not a valid label key: expected an optional lower-case DNS subdomain and `/` (e.g. `example.com/`), then at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]",
        ]
    );
    assert_eq!(
        sorted_problems(
            json!({"name": "x", "labels": {"product": "Random value Generator", "n": 1}})
        ),
        [
            "metadata.labels.n: must be a string, found a number",
            "metadata.labels.product: `Random value Generator` is not a valid label value: expected an empty string, or at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]",
        ]
    );
    assert!(!accepted(
        json!({"name": "x", "labels": {"k": "v".repeat(64)}})
    ));
    assert!(accepted(
        json!({"name": "x", "labels": {"k": "v".repeat(63)}})
    ));
    assert!(!accepted(json!({"name": "x", "labels": ["k"]})));
}

#[test]
fn annotations() {
    let valid = json!({"name": "x", "annotations": {
        "backstage.io/techdocs-ref": "dir:.",
        "backstage.io/managed-by-location": "url:https://example.com/a:b/catalog-info.yaml",
        "free": "Any text at all, with spaces: fine.",
        "empty": "",
    }});
    let entity = validate(&with_metadata(valid), &Rules::default()).unwrap();
    assert_eq!(
        entity.metadata.annotations["backstage.io/techdocs-ref"],
        "dir:."
    );
    assert_eq!(
        sorted_problems(json!({"name": "x", "annotations": {"a b": "x", "k": true}})),
        [
            "metadata.annotations.a b: `a b` is not a valid annotation key: expected an optional lower-case DNS subdomain and `/` (e.g. `example.com/`), then at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]",
            "metadata.annotations.k: must be a string, found a boolean",
        ]
    );
}

#[test]
fn tags() {
    let entity = validate(
        &with_metadata(json!({"name": "x", "tags": ["java", "c++", "c#", "a:b", "go-1"]})),
        &Rules::default(),
    )
    .unwrap();
    assert_eq!(entity.metadata.tags, ["java", "c++", "c#", "a:b", "go-1"]);
    assert_eq!(
        problems(json!({"name": "x", "tags": ["go", "go 1.15.3", 7, "Java"]})),
        [
            "metadata.tags[1]: `go 1.15.3` is not a valid tag: expected at most 63 characters: runs of [a-z0-9:+#] separated by single dashes",
            "metadata.tags[2]: must be a string, found a number",
            "metadata.tags[3]: `Java` is not a valid tag: expected at most 63 characters: runs of [a-z0-9:+#] separated by single dashes",
        ]
    );
    assert!(accepted(json!({"name": "x", "tags": ["t".repeat(63)]})));
    assert!(!accepted(json!({"name": "x", "tags": ["t".repeat(64)]})));
    assert!(!accepted(json!({"name": "x", "tags": [""]})));
    assert_eq!(
        problems(json!({"name": "x", "tags": "java"})),
        ["metadata.tags: must be an array, found a string"]
    );
}

#[test]
fn links() {
    let entity = validate(
        &with_metadata(json!({"name": "x", "links": [
            {"url": "https://example.com/dashboard", "title": "Dashboard", "icon": "dashboard", "type": "metrics"},
            {"url": "mailto:team@example.com"},
        ]})),
        &Rules::default(),
    )
    .unwrap();
    assert_eq!(
        entity.metadata.links,
        [
            Link {
                url: "https://example.com/dashboard".to_owned(),
                title: Some("Dashboard".to_owned()),
                icon: Some("dashboard".to_owned()),
                r#type: Some("metrics".to_owned()),
            },
            Link {
                url: "mailto:team@example.com".to_owned(),
                ..Link::default()
            },
        ]
    );
    assert_eq!(
        problems(json!({"name": "x", "links": [
            {"title": "No URL"},
            {"url": "example.com/relative", "title": "  ", "icon": "bad icon", "type": ""},
            "https://example.com",
        ]})),
        [
            "metadata.links[0].url: is required",
            "metadata.links[1].url: `example.com/relative` is not a valid URL: expected an absolute URL with a scheme, such as https://example.com/docs",
            "metadata.links[1].title: must not be empty or blank",
            "metadata.links[1].icon: `bad icon` is not a valid icon: expected at most 63 characters: runs of [a-zA-Z0-9] separated by any of [-_.]",
            "metadata.links[1].type: must not be empty",
            "metadata.links[2]: must be an object, found a string",
        ]
    );
}

#[test]
fn title_description_and_output_only_fields() {
    let entity = validate(
        &with_metadata(json!({
            "name": "x", "title": "Artist Web", "description": "",
            "uid": "e01199ab-08cc-44c2-8e19-5c29ded82521", "etag": "abc", "generation": 1,
            "somethingElse": {"free": "form"},
        })),
        &Rules::default(),
    )
    .unwrap();
    assert_eq!(entity.metadata.title.as_deref(), Some("Artist Web"));
    assert_eq!(entity.metadata.description.as_deref(), Some(""));
    assert_eq!(
        problems(json!({"name": "x", "title": "", "description": 3, "uid": ""})),
        [
            "metadata.uid: must not be empty",
            "metadata.title: must not be empty",
            "metadata.description: must be a string, found a number",
        ]
    );
}

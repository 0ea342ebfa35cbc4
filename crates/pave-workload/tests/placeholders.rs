//! Placeholder substitution: escapes, dotted keys, resource outputs, errors.

use std::collections::{BTreeMap, HashMap};

use pave_workload::{
    Context, FileContent, OutputError, PlaceholderErrorKind, ResourceOutputs, parse, substitute,
    substitute_workload,
};
use serde_json::{Value, json};

fn outputs() -> BTreeMap<String, Value> {
    BTreeMap::from([
        (
            "db".to_owned(),
            json!({"host": "db.local", "port": 5432, "nested": {"a.b": "dotted"}}),
        ),
        ("dns".to_owned(), json!({"host": "app.localhost"})),
    ])
}

fn metadata() -> Value {
    json!({
        "name": "web",
        "annotations": {"my.key": "dotted", "plain": "p"},
        "team": {"owner": "payments"}
    })
}

fn render(text: &str) -> Result<String, pave_workload::PlaceholderError> {
    let outputs = outputs();
    let context = Context::new(metadata(), &outputs);
    substitute(text, &context)
}

fn kind(text: &str) -> PlaceholderErrorKind {
    render(text).expect_err(text).kind
}

#[test]
fn plain_text_is_unchanged() {
    for text in ["", "abc", "$abc", "a $ b", "100$", "{x}", "ünïcödé $"] {
        assert_eq!(render(text).unwrap(), text);
    }
}

#[test]
fn metadata_paths() {
    assert_eq!(
        render("my name is ${metadata.name}").unwrap(),
        "my name is web"
    );
    assert_eq!(render("${metadata.annotations.plain}").unwrap(), "p");
    assert_eq!(render("${metadata.team.owner}").unwrap(), "payments");
    assert_eq!(
        render("${metadata.team}").unwrap(),
        r#"{"owner":"payments"}"#
    );
}

#[test]
fn escaped_dot_in_key() {
    assert_eq!(
        render(r"${metadata.annotations.my\.key}").unwrap(),
        "dotted"
    );
    assert_eq!(render(r"${resources.db.nested.a\.b}").unwrap(), "dotted");
    assert_eq!(
        kind(r"${metadata.annotations.my\.other}"),
        PlaceholderErrorKind::MissingMetadataKey("my.other".into())
    );
}

#[test]
fn dollar_escapes() {
    assert_eq!(render("abc $$ abc").unwrap(), "abc $ abc");
    assert_eq!(render("$${abc}").unwrap(), "${abc}");
    assert_eq!(render("$$$${abc}").unwrap(), "$${abc}");
    assert_eq!(
        render("$${abc .4t3298y *(^&(*}").unwrap(),
        "${abc .4t3298y *(^&(*}"
    );
    assert_eq!(render("$$${metadata.name}").unwrap(), "$web");
    assert_eq!(
        kind("$$${abc}"),
        PlaceholderErrorKind::UnknownSection("abc".into())
    );
    assert_eq!(render("$${").unwrap(), "${");
}

#[test]
fn resource_outputs() {
    assert_eq!(
        render("postgres://${resources.db.host}:${resources.db.port}/x").unwrap(),
        "postgres://db.local:5432/x"
    );
    assert_eq!(render("${resources.dns.host}").unwrap(), "app.localhost");
    // Score's legacy form: the resource alone renders its name.
    assert_eq!(render("${resources.db}").unwrap(), "db");
}

#[test]
fn hash_map_outputs_work_too() {
    let outputs: HashMap<String, Value> =
        HashMap::from([("q".to_owned(), json!({"url": "amqp://"}))]);
    let context = Context::new(json!({"name": "w"}), &outputs);
    assert_eq!(
        substitute("${resources.q.url}", &context).unwrap(),
        "amqp://"
    );
}

#[test]
fn custom_output_provider() {
    struct Secrets;
    impl ResourceOutputs for Secrets {
        fn output(&self, resource: &str, keys: &[String]) -> Result<Value, OutputError> {
            Ok(Value::String(format!("<{resource}:{}>", keys.join("/"))))
        }
    }
    let context = Context::new(json!({}), &Secrets);
    assert_eq!(
        substitute("${resources.s.a.b}", &context).unwrap(),
        "<s:a/b>"
    );
}

#[test]
fn each_error_kind() {
    assert_eq!(kind("${}"), PlaceholderErrorKind::Empty);
    assert_eq!(kind("${metadata.name"), PlaceholderErrorKind::Unterminated);
    assert_eq!(
        kind("${env.HOME}"),
        PlaceholderErrorKind::UnknownSection("env".into())
    );
    assert_eq!(kind("${metadata}"), PlaceholderErrorKind::MetadataKeyNeeded);
    assert_eq!(
        kind("${resources}"),
        PlaceholderErrorKind::ResourceNameNeeded
    );
    assert_eq!(
        kind("${metadata.missing}"),
        PlaceholderErrorKind::MissingMetadataKey("missing".into())
    );
    assert_eq!(
        kind("${metadata.name.x}"),
        PlaceholderErrorKind::MetadataNotAMap("x".into())
    );
    assert_eq!(
        kind("${resources.cache.host}"),
        PlaceholderErrorKind::Output(OutputError::UnknownResource("cache".into()))
    );
    assert_eq!(
        kind("${resources.db.user}"),
        PlaceholderErrorKind::Output(OutputError::MissingOutput {
            resource: "db".into(),
            key: "user".into()
        })
    );
    assert_eq!(
        kind("${resources.db.port.x}"),
        PlaceholderErrorKind::Output(OutputError::NotAMap { key: "x".into() })
    );
}

#[test]
fn errors_quote_the_placeholder() {
    let error = render("x ${resources.db.user} y").unwrap_err();
    assert_eq!(error.placeholder, "${resources.db.user}");
    assert_eq!(error.file, None);
    let message = error.to_string();
    assert!(
        message.starts_with(
            "placeholder `${resources.db.user}` is invalid: resource `db` has no output `user`"
        ),
        "{message}"
    );

    let error = render(&format!("a ${{metadata.{}", "x".repeat(200))).unwrap_err();
    assert!(error.placeholder.starts_with("${metadata.xxx"));
    assert!(
        error.placeholder.chars().count() <= 41,
        "{}",
        error.placeholder
    );
}

const WORKLOAD: &str = r#"apiVersion: score.dev/v1b1
metadata:
  name: web
  annotations:
    my.key: dotted
containers:
  web:
    image: nginx
    command: ["sh", "-c", "echo ${metadata.name}"]
    variables:
      NAME: ${metadata.name}
      DB: postgres://${resources.db.host}:${resources.db.port}
      LITERAL: $${NOT_EXPANDED}
      ANNOTATION: ${metadata.annotations.my\.key}
    files:
      /etc/app.conf:
        content: "host=${resources.db.host}"
      /etc/raw.conf:
        content: "host=${resources.db.host}"
        noExpand: true
      /etc/bin:
        binaryContent: JHtyZXNvdXJjZXMuZGIuaG9zdH0=
    volumes:
      /data:
        source: ${resources.data}
resources:
  db:
    type: postgres
  data:
    type: volume
"#;

#[test]
fn workload_substitution() {
    let workload = parse(WORKLOAD, "score.yaml").unwrap();
    let mut outputs = outputs();
    outputs.insert("data".into(), json!({}));
    let context = Context::for_workload(&workload, &outputs);
    let done = substitute_workload(&workload, "score.yaml", &context).unwrap();
    let web = &done.containers["web"];
    assert_eq!(web.variables["NAME"], "web");
    assert_eq!(web.variables["DB"], "postgres://db.local:5432");
    assert_eq!(web.variables["LITERAL"], "${NOT_EXPANDED}");
    assert_eq!(web.variables["ANNOTATION"], "dotted");
    assert_eq!(
        web.files["/etc/app.conf"].content,
        FileContent::Inline("host=db.local".into())
    );
    assert_eq!(
        web.files["/etc/raw.conf"].content,
        FileContent::Inline("host=${resources.db.host}".into())
    );
    assert_eq!(
        web.files["/etc/bin"].content,
        workload.containers["web"].files["/etc/bin"].content
    );
    assert_eq!(web.volumes["/data"].source, "data");
    // Commands are left alone.
    assert_eq!(web.command, workload.containers["web"].command);
}

#[test]
fn workload_errors_name_file_field_and_placeholder() {
    let workload = parse(WORKLOAD, "services/web/score.yaml").unwrap();
    let outputs: BTreeMap<String, Value> = BTreeMap::new();
    let context = Context::for_workload(&workload, &outputs);
    let errors = substitute_workload(&workload, "services/web/score.yaml", &context)
        .unwrap_err()
        .0;
    // DB (one error: the first bad placeholder), app.conf content, /data source.
    assert_eq!(errors.len(), 3, "{errors:?}");
    let db = errors
        .iter()
        .find(|e| e.field.as_deref() == Some("containers.web.variables.DB"))
        .expect("DB error");
    assert_eq!(db.file.as_deref(), Some("services/web/score.yaml"));
    assert_eq!(db.placeholder, "${resources.db.host}");
    assert_eq!(
        db.to_string(),
        "services/web/score.yaml: containers.web.variables.DB: placeholder `${resources.db.host}` is invalid: \
         no outputs are known for resource `db`; declare it under `resources` and make sure it is provisioned"
    );
    assert!(errors.iter().any(|e| e.field.as_deref() == Some(r#"containers.web.files["/etc/app.conf"].content"#)));
    assert!(
        errors
            .iter()
            .any(|e| e.field.as_deref() == Some(r#"containers.web.volumes["/data"].source"#))
    );
}

#[test]
fn corpus_resource_examples_substitute() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/score/examples/resources");
    for name in ["amqp", "mysql", "postgres", "redis"] {
        let file = root.join(name).join("score.yaml");
        let text = std::fs::read_to_string(&file).expect("corpus file");
        let workload = parse(&text, name).unwrap();
        let outputs: BTreeMap<String, Value> = workload
            .resources
            .keys()
            .map(|resource| {
                let values = ["host", "port", "vhost", "database", "username", "password"]
                    .map(|key| (key.to_owned(), json!(format!("{resource}-{key}"))));
                (
                    resource.clone(),
                    Value::Object(values.into_iter().collect()),
                )
            })
            .collect();
        let context = Context::for_workload(&workload, &outputs);
        let done = substitute_workload(&workload, name, &context).unwrap_or_else(|e| panic!("{e}"));
        for value in done.containers.values().flat_map(|c| c.variables.values()) {
            assert!(!value.contains("${"), "{name}: {value}");
        }
    }
}

#[test]
fn arbitrary_text_never_panics() {
    let outputs = outputs();
    let context = Context::new(metadata(), &outputs);
    for text in [
        "$",
        "$$",
        "${",
        "$${",
        "${$",
        "${}}",
        "${\\",
        "${.}",
        "${resources.}",
        "${metadata..}",
        "é${é",
        "${metadata.name}$",
    ] {
        let _ = substitute(text, &context);
    }
}

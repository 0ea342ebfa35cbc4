//! `${{ }}` expressions: context, filters, types, errors and limits.

use pave_scaffold::{
    Context, EachItem, ExpressionErrorKind, UserContext, each_items, evaluate_condition,
    parse_template, render_step_input, render_value,
};
use serde_json::{Value, json};

fn context() -> Context {
    let mut context = Context::new(json!({
        "name": "orders",
        "count": 3,
        "ratio": 1.5,
        "whole": 2.0,
        "enabled": true,
        "tags": ["a", "b"],
        "owner": { "name": "team-a", "kind": "group" },
        "repoUrl": "github.com?owner=acme&repo=orders",
        "empty": "",
        "nothing": null,
        "spaced": "  x  ",
    }));
    context.steps.insert(
        "publish".into(),
        json!({ "remoteUrl": "https://github.com/acme/orders" }),
    );
    context.user = Some(UserContext {
        entity: Some(
            json!({ "metadata": { "name": "jdoe" }, "spec": { "profile": { "email": "jdoe@example.com" } } }),
        ),
        entity_ref: "user:default/jdoe".into(),
    });
    context.secrets.insert("token".into(), "t0k3n".into());
    context
}

fn render(text: &str) -> Value {
    render_value(&json!(text), &context()).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn render_error(text: &str) -> pave_scaffold::ExpressionError {
    render_value(&json!({ "key": text }), &context()).expect_err(text)
}

#[test]
fn whole_value_expressions_keep_their_json_type() {
    assert_eq!(render("${{ parameters.count }}"), json!(3));
    assert_eq!(render("  ${{ parameters.ratio }}  "), json!(1.5));
    assert_eq!(render("${{ parameters.enabled }}"), json!(true));
    assert_eq!(render("${{ parameters.tags }}"), json!(["a", "b"]));
    assert_eq!(
        render("${{ parameters.owner }}"),
        json!({ "name": "team-a", "kind": "group" })
    );
    assert_eq!(render("${{ parameters.nothing }}"), Value::Null);
    assert_eq!(render("${{ parameters.count + 1 }}"), json!(4));
    assert_eq!(render("${{ parameters.name }}"), json!("orders"));
    // A number-looking string stays a string.
    assert_eq!(
        render_value(
            &json!("${{ parameters.v }}"),
            &Context::new(json!({ "v": "1.0" }))
        )
        .unwrap(),
        json!("1.0")
    );
}

#[test]
fn mixed_text_renders_a_string_like_nunjucks() {
    assert_eq!(render("n=${{ parameters.count }}"), json!("n=3"));
    assert_eq!(render("${{ parameters.enabled }}!"), json!("true!"));
    assert_eq!(render("${{ parameters.tags }}"), json!(["a", "b"]));
    assert_eq!(render("[${{ parameters.tags }}]"), json!("[a,b]"));
    assert_eq!(render("[${{ parameters.whole }}]"), json!("[2]"));
    assert_eq!(
        render("[${{ parameters.nothing }}][${{ parameters.missing }}]"),
        json!("[][]")
    );
    assert_eq!(
        render("${{ parameters.name }}-${{ parameters.count }}"),
        json!("orders-3")
    );
    // Literal {{ }} (Helm, GitHub Actions) is not ours.
    assert_eq!(
        render("{{ .Values.x }} ${{ parameters.name }}"),
        json!("{{ .Values.x }} orders")
    );
    assert_eq!(
        render("{% raw %}${{ github.sha }}{% endraw %}"),
        json!("${{ github.sha }}")
    );
    assert_eq!(render("line\n"), json!("line\n"));
    assert_eq!(render("${{ parameters.name }}\n"), json!("orders"));
    assert_eq!(render("a ${{ parameters.name }}\n"), json!("a orders\n"));
    assert_eq!(
        render("{% if parameters.enabled %}on{% else %}off{% endif %}"),
        json!("on")
    );
}

#[test]
fn rendering_is_recursive_and_leaves_keys_alone() {
    let input = json!({
        "${{ parameters.name }}": "${{ parameters.count }}",
        "list": ["${{ parameters.name }}", 1, false, null, "${{ parameters.missing }}"],
        "nested": { "deeper": { "url": "${{ steps.publish.output.remoteUrl }}" } },
        "dropped": "${{ parameters.missing }}",
    });
    let rendered = render_value(&input, &context()).unwrap();
    assert_eq!(
        rendered,
        json!({
            "${{ parameters.name }}": 3,
            "list": ["orders", 1, false, null, null],
            "nested": { "deeper": { "url": "https://github.com/acme/orders" } },
        })
    );
}

#[test]
fn the_whole_context_is_readable() {
    assert_eq!(
        render("${{ steps.publish.output.remoteUrl }}"),
        json!("https://github.com/acme/orders")
    );
    assert_eq!(
        render("${{ steps['publish'].output.remoteUrl }}"),
        json!("https://github.com/acme/orders")
    );
    assert_eq!(
        render("${{ user.entity.spec.profile.email }}"),
        json!("jdoe@example.com")
    );
    assert_eq!(render("${{ user.ref }}"), json!("user:default/jdoe"));
    assert_eq!(render("${{ secrets.token }}"), json!("t0k3n"));
    // Undefined is chainable, as in Nunjucks.
    assert_eq!(
        render("x${{ parameters.missing.deeper.still }}x"),
        json!("xx")
    );
    assert_eq!(render("x${{ each.value }}x"), json!("xx"));
}

#[test]
fn nunjucks_operators_and_literals() {
    assert_eq!(render("${{ parameters.name === 'orders' }}"), json!(true));
    assert_eq!(
        render("${{ parameters.name !== \"orders\" }}"),
        json!(false)
    );
    assert_eq!(render("${{ parameters.name === 'a === b' }}"), json!(false));
    assert_eq!(render("${{ parameters.nothing == null }}"), json!(true));
    assert_eq!(
        render("${{ parameters.name + '/' + parameters.name }}"),
        json!("orders/orders")
    );
    assert_eq!(
        render("${{ parameters.name ~ '-' ~ parameters.count }}"),
        json!("orders-3")
    );
    assert_eq!(
        render("${{ parameters.enabled and not parameters.empty }}"),
        json!(true)
    );
    assert_eq!(
        render("${{ 'yes' if parameters.enabled else 'no' }}"),
        json!("yes")
    );
}

#[test]
fn nunjucks_builtin_filters() {
    // As in Backstage (`JSON.parse` of the dumped dump), a whole-value dump is the JSON text.
    assert_eq!(
        render("${{ parameters.owner | dump }}"),
        json!(r#"{"kind":"group","name":"team-a"}"#)
    );
    assert_eq!(
        render("x${{ parameters.owner | dump }}"),
        json!(r#"x{"kind":"group","name":"team-a"}"#)
    );
    assert_eq!(
        render("x${{ parameters.name | dump }}"),
        json!(r#"x"orders""#)
    );
    assert_eq!(
        render("x${{ parameters.tags | dump(2) }}"),
        json!("x[\n  \"a\",\n  \"b\"\n]")
    );
    assert_eq!(render("x${{ parameters.missing | dump }}x"), json!("xx"));
    assert_eq!(
        render("${{ parameters.name | replace('o', '0') }}"),
        json!("0rders")
    );
    assert_eq!(
        render("${{ parameters.name | replace('r', 'R', 1) }}"),
        json!("oRders")
    );
    assert_eq!(render("${{ parameters.name | upper }}"), json!("ORDERS"));
    assert_eq!(render("${{ parameters.enabled | string }}"), json!("true"));
    assert_eq!(render("${{ 'ABC' | lower }}"), json!("abc"));
    assert_eq!(render("${{ parameters.spaced | trim }}"), json!("x"));
    assert_eq!(render("${{ parameters.tags | join('-') }}"), json!("a-b"));
    assert_eq!(render("${{ parameters.tags | length }}"), json!(2));
    assert_eq!(render("${{ parameters.name | length }}"), json!(6));
    assert_eq!(
        render("${{ parameters.missing | default('fallback') }}"),
        json!("fallback")
    );
    assert_eq!(
        render("${{ parameters.empty | default('fallback', true) }}"),
        json!("fallback")
    );
    assert_eq!(
        render("${{ parameters.empty | default('fallback') }}"),
        json!("")
    );
}

#[test]
fn parse_repo_url_filter() {
    assert_eq!(
        render("${{ parameters.repoUrl | parseRepoUrl }}"),
        json!({ "host": "github.com", "owner": "acme", "repo": "orders" })
    );
    assert_eq!(
        render("${{ (parameters.repoUrl | parseRepoUrl).owner }}"),
        json!("acme")
    );
    assert_eq!(
        render("${{ 'dev.azure.com?organization=o&project=p&repo=r' | parseRepoUrl }}"),
        json!({ "host": "dev.azure.com", "organization": "o", "project": "p", "repo": "r" })
    );
    assert_eq!(
        render(
            "${{ 'bitbucket.org?workspace=w&project=p&repo=r' | parseRepoUrl | pick('workspace') }}"
        ),
        json!("w")
    );
    let error = render_error("${{ 'github.com?owner=o' | parseRepoUrl }}");
    assert!(error.message.contains("no `repo`"), "{error}");
    let error = render_error("${{ parameters.missing | parseRepoUrl }}");
    assert!(error.message.contains("undefined"), "{error}");
    let error = render_error("${{ parameters.count | parseRepoUrl }}");
    assert!(error.message.contains("expects a string"), "{error}");
}

#[test]
fn project_slug_filter() {
    assert_eq!(
        render("${{ parameters.repoUrl | projectSlug }}"),
        json!("acme/orders")
    );
    assert_eq!(
        render("${{ 'gitlab.com?owner=a%2Fb&repo=c' | projectSlug }}"),
        json!("a/b/c")
    );
    let error = render_error("${{ 'gitlab.com?project=p&repo=c' | projectSlug }}");
    assert!(error.message.contains("no `owner`"), "{error}");
}

#[test]
fn parse_entity_ref_filter() {
    assert_eq!(
        render("${{ 'group:ops/team-a' | parseEntityRef }}"),
        json!({ "kind": "group", "namespace": "ops", "name": "team-a" })
    );
    assert_eq!(
        render("${{ 'user:jdoe' | parseEntityRef }}"),
        json!({ "kind": "user", "namespace": "default", "name": "jdoe" })
    );
    assert_eq!(
        render(
            "${{ ('team-a' | parseEntityRef({ 'defaultKind': 'Group', 'defaultNamespace': 'prod' })).namespace }}"
        ),
        json!("prod")
    );
    assert_eq!(
        render("${{ (parameters.owner | parseEntityRef).name }}"),
        json!("team-a")
    );
    let error = render_error("${{ 'team-a' | parseEntityRef }}");
    assert!(error.message.contains("no kind"), "{error}");
    let error = render_error("${{ 'group:' | parseEntityRef }}");
    assert!(error.message.contains("malformed"), "{error}");
    let error = render_error("${{ 'x' | parseEntityRef('Group') }}");
    assert!(error.message.contains("must be an object"), "{error}");
}

#[test]
fn pick_filter() {
    assert_eq!(
        render("${{ parameters.owner | pick('name') }}"),
        json!("team-a")
    );
    assert_eq!(
        render("${{ user.entity | pick('spec.profile.email') }}"),
        json!("jdoe@example.com")
    );
    assert_eq!(render("${{ parameters | pick('tags.1') }}"), json!("b"));
    assert_eq!(
        render("x${{ parameters.owner | pick('nope.deeper') }}x"),
        json!("xx")
    );
    assert_eq!(
        render("x${{ parameters.missing | pick('name') }}x"),
        json!("xx")
    );
}

#[test]
fn errors_name_the_step_the_key_and_the_expression() {
    let entity = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": { "name": "t" },
        "spec": {
            "type": "service",
            "steps": [{
                "id": "publish",
                "action": "publish:github",
                "input": { "values": { "list": ["ok", "${{ parameters.owner | parseEntityRef }}"] } }
            }]
        }
    });
    let template = parse_template(&entity).unwrap();
    let mut context = context();
    context.parameters = json!({ "owner": "team-a" });
    let error = render_step_input(&template.steps[0], &context).unwrap_err();
    assert_eq!(error.step_id.as_deref(), Some("publish"));
    assert_eq!(error.key_path, "values.list[1]");
    assert_eq!(error.expression, "${{ parameters.owner | parseEntityRef }}");
    assert_eq!(error.kind, ExpressionErrorKind::Evaluation);
    let text = error.to_string();
    assert!(text.starts_with("step `publish`, input `values.list[1]`: expression `${{ parameters.owner | parseEntityRef }}`"), "{text}");
    assert!(text.contains("no kind"), "{text}");

    let syntax = render_error("${{ parameters.name | }}");
    assert_eq!(syntax.kind, ExpressionErrorKind::Syntax);
    assert_eq!(syntax.key_path, "key");
    assert!(syntax.to_string().contains("syntax error"), "{syntax}");
    let unknown = render_error("${{ parameters.name | noSuchFilter }}");
    assert!(unknown.to_string().contains("noSuchFilter"), "{unknown}");
    let unclosed = render_error("a ${{ parameters.name");
    assert_eq!(unclosed.kind, ExpressionErrorKind::Syntax);
}

#[test]
fn expressions_cannot_read_files_or_the_environment() {
    for source in [
        "{% include '/etc/passwd' %}",
        "{% import 'macros.njk' as m %}",
        "{% from 'x' import y %}",
        "{% extends 'base' %}",
        "${{ parameters.name }}{% include 'x' %}",
    ] {
        let error = render_error(source);
        assert_eq!(error.kind, ExpressionErrorKind::Syntax, "{source}: {error}");
        assert!(
            error.message.contains("cannot read files"),
            "{source}: {error}"
        );
    }
    // No env/file globals exist: they are simply undefined.
    assert_eq!(render("x${{ env }}${{ process.env.HOME }}x"), json!("xx"));
    let error = render_error("${{ lookup('file', '/etc/passwd') }}");
    assert_eq!(error.kind, ExpressionErrorKind::Evaluation);
}

#[test]
fn runaway_expressions_are_stopped() {
    let error = render_error(
        "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}",
    );
    assert_eq!(error.kind, ExpressionErrorKind::LimitExceeded, "{error}");
    let error = render_error("${{ 'x' * 100000000 }}");
    assert_eq!(error.kind, ExpressionErrorKind::LimitExceeded, "{error}");
    let error = render_error("${{ parameters.tags | join('y' * 10000000) }}");
    assert!(
        matches!(error.kind, ExpressionErrorKind::LimitExceeded),
        "{error}"
    );
    let deep = format!("${{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
    let error = render_error(&deep);
    assert_ne!(error.kind, ExpressionErrorKind::Evaluation, "{error}");
    // Many modest strings add up to the per-input cap.
    let big = "z".repeat(900_000);
    let input = Value::Array((0..6).map(|_| json!(big.clone())).collect());
    let error = render_value(&input, &context()).unwrap_err();
    assert_eq!(error.kind, ExpressionErrorKind::LimitExceeded);
    assert_eq!(error.key_path, "[4]");
}

#[test]
fn deeply_nested_inputs_are_refused() {
    let mut value = json!("${{ parameters.name }}");
    for _ in 0..200 {
        value = json!({ "a": value });
    }
    let error = render_value(&value, &context()).unwrap_err();
    assert_eq!(error.kind, ExpressionErrorKind::LimitExceeded);
    assert!(error.to_string().contains("nested deeper"), "{error}");
}

#[test]
fn conditions_follow_backstage_truthiness() {
    let context = context();
    for (condition, expected) in [
        (json!(true), true),
        (json!(false), false),
        (json!("${{ parameters.enabled }}"), true),
        (json!("${{ parameters.missing }}"), false),
        (json!("${{ parameters.nothing }}"), false),
        (json!("${{ parameters.empty }}"), false),
        (json!("${{ parameters.count - 3 }}"), false),
        (json!("${{ [] }}"), false),
        (json!("${{ parameters.tags }}"), true),
        (json!("${{ parameters.name === 'orders' }}"), true),
        (json!("${{ not parameters.enabled }}"), false),
    ] {
        assert_eq!(
            evaluate_condition(&condition, &context).unwrap(),
            expected,
            "{condition}"
        );
    }
}

#[test]
fn each_loops_expose_key_and_value() {
    let entity = json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3",
        "kind": "Template",
        "metadata": { "name": "t" },
        "spec": {
            "type": "service",
            "steps": [
                { "id": "list", "action": "debug:log", "each": "${{ parameters.tags }}",
                  "input": { "message": "${{ each.key }}=${{ each.value }}" } },
                { "id": "map", "action": "debug:log", "each": { "x": 1, "y": 2 },
                  "input": { "n": "${{ each.value }}" } },
                { "id": "bad", "action": "debug:log", "each": "${{ parameters.count }}" }
            ]
        }
    });
    let template = parse_template(&entity).unwrap();
    let context = context();
    let items = each_items(&template.steps[0], &context).unwrap().unwrap();
    let messages: Vec<Value> = items
        .into_iter()
        .map(|item| {
            render_step_input(&template.steps[0], &context.with_each(item)).unwrap()["message"]
                .clone()
        })
        .collect();
    assert_eq!(messages, [json!("0=a"), json!("1=b")]);
    let items = each_items(&template.steps[1], &context).unwrap().unwrap();
    assert_eq!(
        items[1],
        EachItem {
            key: json!("y"),
            value: json!(2)
        }
    );
    let rendered =
        render_step_input(&template.steps[1], &context.with_each(items[1].clone())).unwrap();
    assert_eq!(rendered["n"], json!(2));
    let error = each_items(&template.steps[2], &context).unwrap_err();
    assert_eq!(error.step_id.as_deref(), Some("bad"));
    assert_eq!(error.key_path, "each");
    assert!(error.message.contains("list or a mapping"), "{error}");
}

//! Invalid input gets errors that name the file, the field and the problem.

use pave_workload::{Limits, WorkloadError, parse, parse_with_limits};

const VALID: &str = "apiVersion: score.dev/v1b1
metadata:
  name: web
containers:
  web:
    image: nginx
";

/// The problems of an `Invalid` error as `path: message` lines.
fn problems(text: &str) -> Vec<String> {
    match parse(text, "score.yaml") {
        Err(WorkloadError::Invalid { file, problems }) => {
            assert_eq!(file, "score.yaml");
            problems.iter().map(ToString::to_string).collect()
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

fn has(problems: &[String], path: &str, needle: &str) -> bool {
    problems
        .iter()
        .any(|p| p.starts_with(&format!("{path}: ")) && p.contains(needle))
}

#[test]
fn valid_minimal_workload_parses() {
    let workload = parse(VALID, "score.yaml").unwrap();
    assert_eq!(workload.containers["web"].image, "nginx");
    assert!(workload.service.is_none());
    assert!(workload.resources.is_empty());
}

#[test]
fn json_input_parses() {
    let text = r#"{"apiVersion":"score.dev/v1b1","metadata":{"name":"web"},"containers":{"web":{"image":"nginx"}}}"#;
    assert_eq!(parse(text, "score.json").unwrap().metadata.name, "web");
}

#[test]
fn missing_api_version() {
    let found = problems("metadata:\n  name: web\ncontainers:\n  web:\n    image: nginx\n");
    assert!(
        has(
            &found,
            "apiVersion",
            "required field `apiVersion` is missing"
        ),
        "{found:?}"
    );
    assert!(has(&found, "apiVersion", "score.dev/v1b1"), "{found:?}");
}

#[test]
fn wrong_api_version() {
    let found = problems(&VALID.replace("v1b1", "v1b2"));
    assert!(has(&found, "apiVersion", "score.dev/v1b2"), "{found:?}");
    assert!(
        has(&found, "apiVersion", "only `apiVersion: score.dev/v1b1`"),
        "{found:?}"
    );
}

#[test]
fn container_without_image() {
    let found = problems(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\ncontainers:\n  web:\n    command: [sh]\n",
    );
    assert!(
        has(
            &found,
            "containers.web.image",
            "required field `image` is missing"
        ),
        "{found:?}"
    );
}

#[test]
fn bad_port_type() {
    let text = format!("{VALID}service:\n  ports:\n    http:\n      port: eighty\n");
    let found = problems(&text);
    assert!(
        has(&found, "service.ports.http.port", "integer"),
        "{found:?}"
    );
}

#[test]
fn port_out_of_range() {
    let text = format!("{VALID}service:\n  ports:\n    http:\n      port: 70000\n");
    let found = problems(&text);
    assert!(has(&found, "service.ports.http.port", "65535"), "{found:?}");
}

#[test]
fn unknown_top_level_field() {
    let found = problems(&format!("{VALID}extras: 1\n"));
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("(document root): unknown field `extras`")),
        "{found:?}"
    );
}

#[test]
fn variable_must_be_a_string() {
    let text = format!("{VALID}    variables:\n      PORT: [1]\n");
    let found = problems(&text);
    assert!(
        has(&found, "containers.web.variables.PORT", "string"),
        "{found:?}"
    );
}

#[test]
fn all_problems_are_reported() {
    let text = "apiVersion: score.dev/v1\nmetadata:\n  name: Web_App\ncontainers:\n  web:\n    args: x\nbogus: true\n";
    let found = problems(text);
    assert!(has(&found, "apiVersion", "v1"), "{found:?}");
    assert!(has(&found, "metadata.name", "Web_App"), "{found:?}");
    assert!(has(&found, "containers.web.image", "missing"), "{found:?}");
    assert!(has(&found, "containers.web.args", "array"), "{found:?}");
    assert!(found.iter().any(|p| p.contains("`bogus`")), "{found:?}");
    let error = parse(text, "score.yaml").unwrap_err().to_string();
    assert!(
        error.starts_with("score.yaml: not a valid Score workload ("),
        "{error}"
    );
}

#[test]
fn file_with_two_contents_is_refused() {
    let text =
        format!("{VALID}    files:\n      /etc/a:\n        content: a\n        source: a.txt\n");
    let found = problems(&text);
    assert!(
        found
            .iter()
            .any(|p| p.starts_with(r#"containers.web.files["/etc/a"]"#)),
        "{found:?}"
    );
}

#[test]
fn legacy_file_list_needs_a_target() {
    let text = format!("{VALID}    files:\n      - content: a\n");
    let found = problems(&text);
    assert!(
        has(&found, "containers.web.files[0]", "needs a `target`"),
        "{found:?}"
    );
}

#[test]
fn legacy_file_list_rejects_duplicate_targets() {
    let text = format!(
        "{VALID}    files:\n      - {{target: /a, content: x}}\n      - {{target: /a, content: y}}\n"
    );
    let found = problems(&text);
    assert!(
        has(&found, "containers.web.files[1]", "appears twice"),
        "{found:?}"
    );
}

#[test]
fn yaml_syntax_error_has_line_and_column() {
    let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: [web\ncontainers: {}\n";
    match parse(text, "bad.yaml") {
        Err(error @ WorkloadError::Syntax { line, column, .. }) => {
            assert!(line >= 3, "line {line}");
            assert!(column >= 1, "column {column}");
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("bad.yaml:{line}:{column}: invalid YAML")),
                "{message}"
            );
            assert_eq!(message.matches("line").count(), 1, "{message}");
        }
        other => panic!("expected Syntax, got {other:?}"),
    }
}

#[test]
fn bad_indentation_is_a_syntax_error() {
    let text = "apiVersion: score.dev/v1b1\nmetadata:\n  name: web\n containers: x\n";
    let error = parse(text, "bad.yaml").unwrap_err();
    assert!(
        matches!(error, WorkloadError::Syntax { line: 4, .. }),
        "{error:?}"
    );
}

#[test]
fn empty_file_is_refused() {
    for text in ["", "# only a comment\n", "---\n"] {
        let error = parse(text, "empty.yaml").unwrap_err();
        assert!(
            matches!(error, WorkloadError::Documents { .. }),
            "{error:?}"
        );
        assert!(error.to_string().contains("no YAML document"), "{error}");
    }
}

#[test]
fn two_documents_are_refused() {
    let error = parse(&format!("{VALID}---\n{VALID}"), "two.yaml").unwrap_err();
    assert!(
        matches!(error, WorkloadError::Documents { .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains("one workload per file"),
        "{error}"
    );
}

#[test]
fn not_a_map_is_invalid() {
    let found = problems("- a\n- b\n");
    assert!(found.iter().any(|p| p.contains("object")), "{found:?}");
}

#[test]
fn deep_document_is_refused() {
    let deep = format!(
        "{VALID}    variables:\n      X: {}1{}\n",
        "[".repeat(500),
        "]".repeat(500)
    );
    let error = parse(&deep, "deep.yaml").unwrap_err();
    assert!(matches!(error, WorkloadError::TooLarge { .. }), "{error:?}");
    assert!(
        error.to_string().starts_with("deep.yaml: refused:"),
        "{error}"
    );

    let mut block = String::from("a:\n");
    for level in 1..200 {
        block.push_str(&"  ".repeat(level));
        block.push_str("a:\n");
    }
    let error = parse(&block, "deep-block.yaml").unwrap_err();
    assert!(matches!(error, WorkloadError::TooLarge { .. }), "{error:?}");
}

#[test]
fn large_document_is_refused() {
    let big = format!(
        "{VALID}    variables:\n      X: \"{}\"\n",
        "x".repeat(2 * 1024 * 1024)
    );
    let error = parse(&big, "big.yaml").unwrap_err();
    assert!(matches!(error, WorkloadError::TooLarge { .. }), "{error:?}");
    assert!(error.to_string().contains("bytes"), "{error}");
}

#[test]
fn too_many_nodes_are_refused() {
    let limits = Limits {
        max_nodes: 50,
        ..Limits::default()
    };
    let mut text = format!("{VALID}    variables:\n");
    for index in 0..100 {
        text.push_str(&format!("      V{index}: x\n"));
    }
    let error = parse_with_limits(&text, "many.yaml", &limits).unwrap_err();
    assert!(matches!(error, WorkloadError::TooLarge { .. }), "{error:?}");
    assert!(parse(&text, "many.yaml").is_ok());
}

#[test]
fn alias_bomb_is_refused() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..12 {
        let previous = format!("*a{}", level - 1);
        let items = [previous.as_str(); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    let error = parse(&text, "bomb.yaml").unwrap_err();
    assert!(matches!(error, WorkloadError::TooLarge { .. }), "{error:?}");
}

#[test]
fn arbitrary_bytes_never_panic() {
    let samples = [
        "\u{0}",
        "{",
        "}",
        "[",
        ": :",
        "&a *a",
        "!!binary x",
        "? [a]\n: b",
        "a: !!int x",
        "\u{feff}apiVersion: x",
        "%YAML 9.9\n---\n",
        "'",
        "\"\\x\"",
        "a:\n\t- b",
        "containers: {web: {image: 1}}",
    ];
    for sample in samples {
        let _ = parse(sample, "fuzz.yaml");
    }
    // Every prefix of a valid document.
    for end in 0..VALID.len() {
        if VALID.is_char_boundary(end) {
            let _ = parse(&VALID[..end], "prefix.yaml");
        }
    }
}

#[test]
fn file_without_content_is_refused() {
    let text = format!("{VALID}    files:\n      /etc/a:\n        mode: \"0600\"\n");
    let found = problems(&text);
    assert!(
        has(
            &found,
            r#"containers.web.files["/etc/a"]"#,
            "exactly one of"
        ),
        "{found:?}"
    );
}

#[test]
fn target_in_map_form_is_refused() {
    let text =
        format!("{VALID}    files:\n      /etc/a:\n        target: /etc/a\n        content: x\n");
    let found = problems(&text);
    assert!(
        has(
            &found,
            r#"containers.web.files["/etc/a"]"#,
            "deprecated list form"
        ),
        "{found:?}"
    );
}

#[test]
fn probe_needs_a_kind() {
    let text = format!("{VALID}    livenessProbe: {{}}\n");
    let found = problems(&text);
    assert!(
        has(
            &found,
            "containers.web.livenessProbe",
            "`httpGet` or `exec`"
        ),
        "{found:?}"
    );
}

#[test]
fn unquoted_number_variable_gets_a_hint() {
    let text = format!("{VALID}    variables:\n      PORT: 8080\n");
    let found = problems(&text);
    assert!(
        has(&found, "containers.web.variables.PORT", "quote the value"),
        "{found:?}"
    );
}

#[test]
fn yaml_1_1_booleans_stay_strings() {
    let text = format!("{VALID}    variables:\n      DEBUG: yes\n      SHORT: y\n      ON: on\n");
    let workload = parse(&text, "score.yaml").unwrap();
    let variables = &workload.containers["web"].variables;
    assert_eq!(variables["DEBUG"], "yes");
    assert_eq!(variables["SHORT"], "y");
    assert_eq!(variables["ON"], "on");
}

#[test]
fn error_messages_read_well() {
    // Printed with `cargo test -- --nocapture` to review the wording.
    let text = "apiVersion: score.dev/v2\nmetadata: {name: x}\ncontainers:\n  Web:\n    image: ''\n    files: {/a: {}}\n    variables: {PORT: 80}\nservice: {ports: {http: {port: '80'}}}\n";
    let message = parse(text, "demo/score.yaml").unwrap_err().to_string();
    println!("{message}");
    assert!(
        message.starts_with("demo/score.yaml: not a valid Score workload"),
        "{message}"
    );
    assert!(message.contains("metadata.name"), "{message}");
    assert!(message.contains("containers.Web.image"), "{message}");
}

#[test]
fn bad_container_name() {
    let found = problems(&VALID.replace("  web:\n", "  Web_1:\n"));
    assert!(
        has(&found, "containers", "the name \"Web_1\" is invalid"),
        "{found:?}"
    );
    assert!(has(&found, "containers", "lowercase letters"), "{found:?}");
}

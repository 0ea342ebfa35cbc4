use serde_json::json;

use super::super::test_support::{read, run, workspace, write_files};
use crate::actions::ActionError;

#[tokio::test]
async fn renders_contents_and_names() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("skeleton"),
        &[
            ("${{ values.name }}/README.md", b"# ${{ values.name | upper }}\n"),
            ("catalog-info.yaml", b"name: ${{ values.name }}\n{% if values.owner %}owner: ${{ values.owner }}\n{% endif %}"),
            ("helm.yaml", b"image: {{ .Values.image }}\n"),
        ],
    );
    let (result, log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "./skeleton", "targetPath": "out", "values": {"name": "svc", "owner": "team-a"}}),
    )
    .await;
    assert_eq!(result.unwrap(), json!({}));
    assert_eq!(read(&workspace, "out/svc/README.md"), "# SVC\n");
    assert_eq!(
        read(&workspace, "out/catalog-info.yaml"),
        "name: svc\nowner: team-a\n"
    );
    assert_eq!(
        read(&workspace, "out/helm.yaml"),
        "image: {{ .Values.image }}\n"
    );
    assert!(
        log.iter().any(|line| line.contains("Processing")),
        "{log:?}"
    );
}

#[tokio::test]
async fn copy_without_templating_keeps_contents_but_renders_names() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("s"),
        &[
            (
                ".github/workflows/ci-${{ values.name }}.yml",
                b"sha: ${{ github.sha }}",
            ),
            ("static/deep/page.html", b"${{ raw }}"),
            ("main.txt", b"${{ values.name }}"),
        ],
    );
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({
            "url": "s",
            "values": {"name": "svc"},
            "copyWithoutTemplating": [".github/workflows/*", "./static"]
        }),
    )
    .await;
    result.unwrap();
    assert_eq!(
        read(&workspace, ".github/workflows/ci-svc.yml"),
        "sha: ${{ github.sha }}"
    );
    assert_eq!(read(&workspace, "static/deep/page.html"), "${{ raw }}");
    assert_eq!(read(&workspace, "main.txt"), "svc");
}

#[tokio::test]
async fn deprecated_copy_without_render_keeps_names_too() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("s"),
        &[(
            ".github/workflows/${{ values.name }}.yml",
            b"${{ github.sha }}",
        )],
    );
    let (result, log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s", "values": {"name": "svc"}, "copyWithoutRender": [".github/workflows/*"]}),
    )
    .await;
    result.unwrap();
    assert_eq!(
        read(&workspace, ".github/workflows/${{ values.name }}.yml"),
        "${{ github.sha }}"
    );
    assert!(
        log.iter().any(|line| line.contains("deprecated")),
        "{log:?}"
    );
}

#[tokio::test]
async fn template_file_extension_limits_templating_and_is_stripped() {
    for (setting, file) in [
        (json!(true), "a.txt.njk"),
        (json!("tmpl"), "a.txt.tmpl"),
        (json!(".tmpl"), "a.txt.tmpl"),
    ] {
        let (directories, workspace) = workspace();
        write_files(
            &directories.template.path().join("s"),
            &[
                (file, b"${{ values.x }}"),
                ("${{ values.x }}.txt", b"${{ values.x }}"),
            ],
        );
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:template",
            json!({"url": "s", "values": {"x": "y"}, "templateFileExtension": setting}),
        )
        .await;
        result.unwrap();
        assert_eq!(read(&workspace, "a.txt"), "y", "{setting}");
        // Names are rendered, contents of other files are not.
        assert_eq!(read(&workspace, "y.txt"), "${{ values.x }}", "{setting}");
    }
}

#[tokio::test]
async fn template_file_extension_cannot_be_combined_with_copy_globs() {
    let (directories, workspace) = workspace();
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s", "templateFileExtension": true, "copyWithoutTemplating": ["x"]}),
    )
    .await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("templateFileExtension"), "{error}");
}

#[tokio::test]
async fn cookiecutter_compat_reads_plain_braces() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("s"),
        &[(
            "{{ cookiecutter.name }}.md",
            b"{{ cookiecutter.name }} ${{ not_an_expression }}",
        )],
    );
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s", "values": {"name": "svc"}, "cookiecutterCompat": true}),
    )
    .await;
    result.unwrap();
    assert_eq!(read(&workspace, "svc.md"), "svc $");
}

#[tokio::test]
async fn binary_files_are_copied_as_is() {
    let (directories, workspace) = workspace();
    let bytes: &[u8] = &[0x89, b'P', b'N', b'G', 0xff, b'$', b'{', b'{'];
    write_files(
        &directories.template.path().join("s"),
        &[("logo.png", bytes)],
    );
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s"}),
    )
    .await;
    result.unwrap();
    assert_eq!(
        std::fs::read(workspace.root().join("logo.png")).unwrap(),
        bytes
    );
}

#[tokio::test]
async fn existing_files_are_kept_unless_replace() {
    let (directories, workspace) = workspace();
    write_files(&directories.template.path().join("s"), &[("a.txt", b"new")]);
    write_files(workspace.root(), &[("a.txt", b"old")]);
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s"}),
    )
    .await;
    result.unwrap();
    assert_eq!(read(&workspace, "a.txt"), "old");
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s", "replace": true}),
    )
    .await;
    result.unwrap();
    assert_eq!(read(&workspace, "a.txt"), "new");
}

#[tokio::test]
async fn names_rendering_empty_are_skipped() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("s"),
        &[
            ("{% if values.docs %}docs{% endif %}/index.md", b"docs"),
            ("{% if values.ci %}ci.yml{% endif %}", b"ci"),
            ("kept.txt", b"kept"),
        ],
    );
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s", "values": {}}),
    )
    .await;
    result.unwrap();
    assert_eq!(read(&workspace, "kept.txt"), "kept");
    let names: Vec<_> = std::fs::read_dir(workspace.root())
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["kept.txt"]);
}

#[tokio::test]
async fn values_cannot_steer_names_out_of_the_target() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("s"),
        &[("${{ values.name }}.txt", b"x")],
    );
    for name in ["../../escape", "../escape", "a/../../escape"] {
        let (result, _log) = run(
            &directories,
            &workspace,
            "fetch:template",
            json!({"url": "s", "targetPath": "out", "values": {"name": name}}),
        )
        .await;
        let error = result.unwrap_err().to_string();
        assert!(
            error.contains("climbs out of the target directory"),
            "{name}: {error}"
        );
    }
    let parent = workspace.root().parent().unwrap();
    assert!(!parent.join("escape.txt").exists());
}

#[tokio::test]
async fn render_errors_name_the_file() {
    let (directories, workspace) = workspace();
    write_files(
        &directories.template.path().join("s"),
        &[("bad.txt", b"ok\n${{ values.x | nosuch }}")],
    );
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s"}),
    )
    .await;
    let error = result.unwrap_err();
    assert!(matches!(error, ActionError::Template { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("`bad.txt`") && text.contains("line 2"),
        "{text}"
    );
}

#[tokio::test]
async fn invalid_globs_name_the_key() {
    let (directories, workspace) = workspace();
    write_files(&directories.template.path().join("s"), &[("a", b"a")]);
    let (result, _log) = run(
        &directories,
        &workspace,
        "fetch:template",
        json!({"url": "s", "copyWithoutTemplating": ["ok", "bad[glob"]}),
    )
    .await;
    let error = result.unwrap_err().to_string();
    assert!(error.contains("copyWithoutTemplating[1]"), "{error}");
}

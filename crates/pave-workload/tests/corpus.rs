//! Every Score example in the shared corpus parses and validates.

use std::path::{Path, PathBuf};

use pave_workload::{FileContent, HttpScheme, Protocol, Readiness, parse};

fn corpus_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/score")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

fn load(relative: &str) -> pave_workload::Workload {
    let path = corpus_root().join(relative);
    let text = std::fs::read_to_string(&path).expect("corpus file");
    parse(&text, relative).unwrap_or_else(|error| panic!("{error}"))
}

#[test]
fn every_corpus_file_parses() {
    let mut files = Vec::new();
    yaml_files(&corpus_root(), &mut files);
    assert!(
        files.len() >= 15,
        "expected the Score corpus at {}, found {} files",
        corpus_root().display(),
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).expect("read corpus file");
        let name = path.display().to_string();
        match parse(&text, &name) {
            Ok(workload) => {
                assert_eq!(workload.api_version, "score.dev/v1b1");
                assert!(!workload.containers.is_empty(), "{name}");
                // The model serializes back to a document that validates again.
                let json = serde_json::to_string(&workload).expect("serialize");
                let again = parse(&json, &name).unwrap_or_else(|error| panic!("{error}"));
                assert_eq!(again, workload, "{name} does not round-trip");
            }
            Err(error) => failures.push(error.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn full_sample_has_every_field() {
    let workload = load("spec/samples/score-full.yaml");
    assert_eq!(workload.metadata.name, "example-workload-name123");
    assert_eq!(workload.metadata.extra["extra-key"], "extra-value");
    assert_eq!(
        workload.metadata.annotations["prefix.com/Another-Key_Annotation.2"],
        "something else"
    );

    let ports = &workload.service.as_ref().expect("service").ports;
    assert_eq!(ports["port-one"].port, 1000);
    assert_eq!(ports["port-one"].target_port_or_default(), 10000);
    assert_eq!(ports["port-two2"].target_port_or_default(), 8000);
    assert_eq!(ports["port-two2"].protocol_or_default(), Protocol::Tcp);

    let one = &workload.containers["container-one1"];
    assert_eq!(one.image, "localhost:4000/repo/my-image:tag");
    assert_eq!(
        one.command.as_deref(),
        Some(&["/bin/sh".to_owned(), "-c".to_owned()][..])
    );
    assert_eq!(one.variables["SOME_VAR"], "some content here");
    let resources = one.resources.as_ref().expect("resources");
    assert_eq!(
        resources.requests.as_ref().unwrap().cpu.as_deref(),
        Some("1000m")
    );
    assert_eq!(
        resources.limits.as_ref().unwrap().memory.as_deref(),
        Some("128M")
    );
    assert_eq!(
        one.files["/my/file"].content,
        FileContent::Source("file.txt".into())
    );
    assert_eq!(one.files["/my/file"].mode.as_deref(), Some("0600"));
    assert_eq!(
        one.files["/my/other/file"].content,
        FileContent::Inline("some multiline\ncontent\n".into())
    );
    assert_eq!(
        one.files["/my/other/binaryfile"].content,
        FileContent::Binary("ADBgwpA=".into())
    );
    assert_eq!(
        one.volumes["/mnt/something"].path.as_deref(),
        Some("/sub/path")
    );
    assert_eq!(one.volumes["/mnt/something"].read_only, Some(false));

    let liveness = one.liveness_probe.as_ref().expect("liveness");
    assert_eq!(liveness.http_get.as_ref().unwrap().path, "/livez");
    assert_eq!(liveness.exec.as_ref().unwrap().command[0], "/bin/curl");
    let readiness = one
        .readiness_probe
        .as_ref()
        .unwrap()
        .http_get
        .as_ref()
        .unwrap();
    assert_eq!(readiness.scheme_or_default(), HttpScheme::Http);
    assert_eq!(readiness.host.as_deref(), Some("127.0.0.1"));
    assert_eq!(readiness.http_headers[0].name, "SOME_HEADER");

    assert_eq!(workload.containers["container-two2"].image, ".");

    let resource = &workload.resources["resource-one1"];
    assert_eq!(resource.resource_type, "Resource-One");
    assert_eq!(resource.class_or_default(), "default");
    assert_eq!(resource.params["extra"]["data"], "here");
    assert_eq!(resource.metadata["extra-key"], "extra-value");
    assert_eq!(
        workload.resources["resource-two2"].class_or_default(),
        "default"
    );
    assert_eq!(
        workload.resources["resource-three"].id.as_deref(),
        Some("shared-type-three")
    );
    let _ = Readiness::Started;
}

#[test]
fn deprecated_arrays_become_maps() {
    let workload = load("spec/samples/score-deprecated-files-and-volumes.yaml");
    let main = &workload.containers["main"];
    assert_eq!(
        main.files["/mnt/some-path"].content,
        FileContent::Inline("my content here".into())
    );
    assert_eq!(main.volumes["/mnt/vol"].source, "some-volume");
}

#[test]
fn service_example_has_udp() {
    let workload = load("examples/specification/service/score.yaml");
    let ports = &workload.service.unwrap().ports;
    assert_eq!(ports["stream"].protocol_or_default(), Protocol::Udp);
    assert_eq!(ports["www"].target_port, Some(3001));
}

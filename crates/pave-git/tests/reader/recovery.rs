//! Damaged, half-written and leftover mirrors are detected and rebuilt.

use std::path::Path;
use std::time::Duration;

use crate::fixture::{Expect, ExpectSome, Fixture, git};

fn entries(directory: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(directory)
        .or_fail("read mirrors")
        .flatten()
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Damages the mirror with `damage`, then checks resolve and read recover.
async fn recovers_from(damage: impl Fn(&Path)) {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let remote = fixture.remote.as_str();
    reader.resolve(remote, None).await.or_fail("first resolve");
    let mirror = reader.mirror_path(remote).or_fail("mirror path");
    damage(&mirror);

    let commit = reader
        .resolve(remote, Some("feature/x"))
        .await
        .or_fail("resolve after damage");
    assert_eq!(commit, fixture.commits.feature);
    let content = reader
        .read_file(remote, &commit, "feature.yaml")
        .await
        .or_fail("read after damage");
    assert_eq!(content, b"feature: x\n");
    git(&mirror, &["fsck", "--no-progress"]);
    let mirrors = mirror.parent().or_fail_some("parent or file name");
    assert_eq!(
        entries(mirrors).len(),
        1,
        "leftovers: {:?}",
        entries(mirrors)
    );
}

fn remove_files_under(directory: &Path) {
    for entry in std::fs::read_dir(directory).or_fail("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            remove_files_under(&path);
        } else {
            std::fs::remove_file(&path).or_fail("remove");
        }
    }
}

#[tokio::test]
async fn a_garbage_config_is_rebuilt() {
    recovers_from(|mirror| {
        std::fs::write(mirror.join("config"), "[[[ not config").or_fail("write")
    })
    .await;
}

#[tokio::test]
async fn a_mirror_without_head_is_rebuilt() {
    recovers_from(|mirror| std::fs::remove_file(mirror.join("HEAD")).or_fail("remove HEAD")).await;
}

#[tokio::test]
async fn a_half_written_empty_directory_is_rebuilt() {
    recovers_from(|mirror| {
        std::fs::remove_dir_all(mirror).or_fail("remove");
        std::fs::create_dir_all(mirror.join("objects")).or_fail("create");
    })
    .await;
}

#[tokio::test]
async fn lost_objects_are_rebuilt() {
    recovers_from(|mirror| remove_files_under(&mirror.join("objects"))).await;
}

#[tokio::test]
async fn truncated_packs_are_rebuilt() {
    recovers_from(|mirror| {
        for entry in std::fs::read_dir(mirror.join("objects/pack"))
            .or_fail("packs")
            .flatten()
        {
            let path = entry.path();
            if path
                .extension()
                .is_some_and(|extension| extension == "pack")
            {
                let length = std::fs::metadata(&path).or_fail("metadata").len();
                let file = std::fs::OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .or_fail("open");
                file.set_len(length / 2).or_fail("truncate");
            }
        }
    })
    .await;
}

#[tokio::test]
async fn a_mirror_of_another_remote_is_rebuilt() {
    let other = Fixture::new();
    let url = other.remote.clone();
    recovers_from(move |mirror| {
        git(mirror, &["config", "remote.origin.url", &url]);
    })
    .await;
}

#[tokio::test]
async fn a_mirror_deleted_between_resolve_and_read_is_fetched_again() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let commit = reader
        .resolve(&fixture.remote, Some("v1"))
        .await
        .or_fail("resolve");
    std::fs::remove_dir_all(reader.mirror_path(&fixture.remote).or_fail("path")).or_fail("remove");
    let files = reader
        .list_files(&fixture.remote, &commit, "services/*/catalog-info.yaml")
        .await
        .or_fail("list");
    assert_eq!(
        files,
        [
            "services/a/catalog-info.yaml",
            "services/b/catalog-info.yaml"
        ]
    );
}

#[tokio::test]
async fn a_clone_cancelled_midway_leaves_nothing_that_breaks_the_next_call() {
    let fixture = Fixture::new();
    // Make the clone take a little while, so cancellations land inside it.
    for index in 0..200 {
        crate::fixture::write(
            &fixture.work,
            &format!("bulk/{index}.txt"),
            format!("{index}\n").repeat(500).as_bytes(),
        );
    }
    let pushed = fixture.push_to_main("bulk/marker.txt", b"marker\n");
    let reader = fixture.reader();
    // Dropping the future mid-clone is what a killed task or process does.
    let mut partials_left = 0;
    for delay in [0_u64, 1, 2, 3, 5, 8, 12, 20, 30, 50, 80, 120] {
        let cache = reader.cache_dir().to_path_buf();
        let _ = std::fs::remove_dir_all(&cache);
        let cancelled = tokio::time::timeout(
            Duration::from_millis(delay),
            reader.resolve(&fixture.remote, None),
        )
        .await;
        if cancelled.is_ok() {
            // Finished before the deadline: nothing was cut short.
            continue;
        }
        let mirrors = cache.join("mirrors");
        if mirrors.exists()
            && entries(&mirrors)
                .iter()
                .any(|name| name.contains(".partial-"))
        {
            partials_left += 1;
        }
        let commit = reader
            .resolve(&fixture.remote, None)
            .await
            .or_fail(&format!("after cancel at {delay} ms"));
        assert_eq!(commit, pushed);
        assert_eq!(
            entries(&mirrors).len(),
            1,
            "leftovers after {delay} ms: {:?}",
            entries(&mirrors)
        );
    }
    assert!(
        partials_left > 0,
        "no cancellation landed inside a clone; the test proved nothing"
    );
}

#[tokio::test]
async fn leftover_partial_directories_are_removed() {
    let fixture = Fixture::new();
    let reader = fixture.reader();
    let mirror = reader.mirror_path(&fixture.remote).or_fail("path");
    let name = mirror
        .file_name()
        .or_fail_some("parent or file name")
        .to_string_lossy()
        .into_owned();
    let mirrors = mirror
        .parent()
        .or_fail_some("parent or file name")
        .to_path_buf();
    let partial = mirrors.join(format!("{name}.partial-1-2"));
    std::fs::create_dir_all(partial.join("objects")).or_fail("create partial");
    std::fs::write(partial.join("HEAD"), "garbage").or_fail("write");

    reader
        .resolve(&fixture.remote, None)
        .await
        .or_fail("resolve");
    assert_eq!(entries(&mirrors), [name]);
}

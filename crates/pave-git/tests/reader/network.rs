//! Remotes that cannot be reached fail fast and clearly; remotes that hang
//! are cut off by the timeout. Traffic stays on this machine: github.com
//! does not resolve here, and the other remotes are on 127.0.0.1.

use std::time::{Duration, Instant};

use pave_git::{GitError, GitReader};

use crate::fixture::Expect;

fn reader(timeout: Duration) -> (tempfile::TempDir, GitReader) {
    let cache = tempfile::tempdir().or_fail("temp dir");
    let reader = GitReader::new(cache.path()).with_timeout(timeout);
    (cache, reader)
}

/// Command lines of running processes whose arguments contain `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| std::fs::read(entry.path().join("cmdline")).ok())
        .map(|bytes| String::from_utf8_lossy(&bytes).replace('\0', " "))
        .filter(|line| line.contains(marker))
        .collect()
}

async fn expect_unreachable(remote: &str) {
    let (_cache, reader) = reader(Duration::from_secs(20));
    let started = Instant::now();
    let result = reader.resolve(remote, None).await;
    let elapsed = started.elapsed();
    let error = match result {
        Err(error) => error,
        Ok(commit) => panic!("{remote}: resolved to {commit}"),
    };
    let GitError::Unreachable {
        remote: shown,
        detail,
    } = &error
    else {
        panic!("{remote}: expected Unreachable, got {error:?}");
    };
    assert_eq!(shown, remote);
    assert!(!detail.is_empty() && !detail.contains('\n'), "{detail:?}");
    assert!(error.is_transient());
    assert!(
        elapsed < Duration::from_secs(10),
        "{remote} took {elapsed:?}"
    );
}

#[tokio::test]
async fn an_unresolvable_host_is_unreachable_quickly() {
    expect_unreachable("https://github.com/backstage/backstage").await;
}

#[tokio::test]
async fn a_closed_local_port_is_unreachable_quickly() {
    expect_unreachable("http://127.0.0.1:9/x.git").await;
}

#[tokio::test]
async fn a_hanging_server_times_out_and_its_git_processes_are_killed() {
    // Accepts connections and never answers, like a stuck server.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .or_fail("bind");
    let port = listener.local_addr().or_fail("address").port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    let remote = format!("http://127.0.0.1:{port}/stuck.git");
    let (cache, reader) = reader(Duration::from_millis(1500));

    let started = Instant::now();
    let result = reader.resolve(&remote, None).await;
    let elapsed = started.elapsed();
    match result {
        Err(error @ GitError::Timeout { .. }) => {
            assert!(error.to_string().contains("1.5 s"), "{error}");
            assert!(error.is_transient());
        }
        other => panic!("expected Timeout, got {other:?}"),
    }
    assert!(elapsed < Duration::from_secs(6), "took {elapsed:?}");

    let marker = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(3);
    while !processes_with(&marker).is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        processes_with(&marker),
        Vec::<String>::new(),
        "git processes left behind"
    );
    // The failed clone leaves no mirror and no partial directory.
    let mirrors = cache.path().join("mirrors");
    let left: Vec<_> = std::fs::read_dir(&mirrors)
        .or_fail("mirrors")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    assert!(left.is_empty(), "{left:?}");
    holder.abort();
}

//! Reading, rotating and following logs.

use std::time::Duration;

use pave_runtime::{LocalOptions, LogStream, Runtime, RuntimeError};

use crate::fixture::{Fixture, eventually, fast_options, instance, plan};

#[tokio::test]
async fn tail_returns_the_last_lines_of_each_stream() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let main = fixture.shell(
        "main",
        "for i in $(seq 1 50); do echo out $i; echo err $i >&2; done; exec sleep 1000",
    );
    runtime
        .apply(&plan("dev", vec![instance("talk-1", vec![main], &[])]))
        .await
        .expect("apply");
    eventually(Duration::from_secs(5), "50 lines", || async {
        runtime
            .logs("talk-1", "main", 3)
            .await
            .expect("logs")
            .iter()
            .any(|line| line.text == "err 50")
    })
    .await;
    let lines = runtime.logs("talk-1", "main", 3).await.expect("logs");
    let seen: Vec<(LogStream, &str)> = lines
        .iter()
        .map(|line| (line.stream, line.text.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (LogStream::Stdout, "out 48"),
            (LogStream::Stdout, "out 49"),
            (LogStream::Stdout, "out 50"),
            (LogStream::Stderr, "err 48"),
            (LogStream::Stderr, "err 49"),
            (LogStream::Stderr, "err 50"),
        ]
    );
    assert!(lines.iter().all(|line| line.time.is_none()));

    let error = runtime
        .logs("talk-1", "nope", 3)
        .await
        .expect_err("unknown process");
    assert!(
        matches!(error, RuntimeError::UnknownProcess { .. }),
        "{error}"
    );
    assert!(error.to_string().contains("main"), "{error}");
    let error = runtime
        .logs("nobody", "main", 3)
        .await
        .expect_err("unknown instance");
    assert!(
        matches!(error, RuntimeError::UnknownInstance { .. }),
        "{error}"
    );

    // Logs stay readable after a shutdown, from disk.
    runtime.shutdown().await.expect("shutdown");
    let lines = runtime
        .logs("talk-1", "main", 1)
        .await
        .expect("logs after shutdown");
    assert_eq!(lines.len(), 2);
}

#[tokio::test]
async fn rotation_keeps_log_files_bounded() {
    let fixture = Fixture::with_options(LocalOptions {
        log_max_bytes: 4096,
        ..fast_options()
    });
    let runtime = &fixture.runtime;
    // About 100 bytes per line, as fast as the shell goes.
    let line = "x".repeat(95);
    let main = fixture.shell(
        "main",
        &format!("i=0; while true; do i=$((i+1)); echo \"$i {line}\"; done"),
    );
    runtime
        .apply(&plan("dev", vec![instance("noisy-1", vec![main], &[])]))
        .await
        .expect("apply");
    let log = fixture
        .instance_dir("dev", "noisy-1")
        .join("logs/main.out.log");
    let rotated = fixture
        .instance_dir("dev", "noisy-1")
        .join("logs/main.out.log.1");
    eventually(Duration::from_secs(5), "a rotation", || async {
        rotated.exists()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let written_in_a_second = {
        let lines = runtime.logs("noisy-1", "main", 1).await.expect("logs");
        let first: u64 = lines
            .first()
            .and_then(|line| line.text.split_whitespace().next()?.parse().ok())
            .expect("a numbered line");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        let lines = runtime.logs("noisy-1", "main", 1).await.expect("logs");
        let last: u64 = lines
            .first()
            .and_then(|line| line.text.split_whitespace().next()?.parse().ok())
            .expect("a numbered line");
        (last - first) * 100
    };
    assert!(
        written_in_a_second > 8192,
        "the writer is too slow to test rotation: {written_in_a_second} B/s"
    );
    // Checked 4 times a second: at most a quarter second of output over the limit.
    let bound = 4096 + written_in_a_second / 2;
    for path in [&log, &rotated] {
        let size = std::fs::metadata(path).expect("log file").len();
        assert!(
            size <= bound,
            "{} is {size} bytes, over {bound}",
            path.display()
        );
    }
    let lines = runtime.logs("noisy-1", "main", 100).await.expect("logs");
    assert_eq!(
        lines.len(),
        100,
        "the tail reaches into the rotated file when needed"
    );
}

#[tokio::test]
async fn follow_yields_new_lines_until_the_instance_is_removed() {
    let fixture = Fixture::new();
    let runtime = &fixture.runtime;
    let main = fixture.shell(
        "main",
        "echo before; sleep 0.3; i=0; while true; do i=$((i+1)); echo tick $i; echo warn $i >&2; sleep 0.05; done",
    );
    runtime
        .apply(&plan("dev", vec![instance("ticker-1", vec![main], &[])]))
        .await
        .expect("apply");
    eventually(Duration::from_secs(5), "the first line", || async {
        !runtime
            .logs("ticker-1", "main", 1)
            .await
            .expect("logs")
            .is_empty()
    })
    .await;
    let mut follower = runtime
        .follow_logs("ticker-1", "main")
        .await
        .expect("follow");
    let mut stdout = Vec::new();
    let mut stderr = 0;
    while stdout.len() < 5 {
        let line = tokio::time::timeout(Duration::from_secs(3), follower.next())
            .await
            .expect("a line in time")
            .expect("not ended");
        assert!(line.time.is_some());
        assert_ne!(line.text, "before", "old lines are not repeated");
        match line.stream {
            LogStream::Stdout => stdout.push(line.text),
            LogStream::Stderr => stderr += 1,
        }
    }
    assert!(
        stdout.iter().all(|text| text.starts_with("tick ")),
        "{stdout:?}"
    );
    let numbers: Vec<u32> = stdout
        .iter()
        .filter_map(|text| text.strip_prefix("tick ")?.parse().ok())
        .collect();
    assert!(
        numbers.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "lines lost or reordered: {numbers:?}"
    );
    assert!(stderr > 0 || stdout.len() == 5);

    runtime.delete_environment("dev").await.expect("delete");
    let ended = tokio::time::timeout(Duration::from_secs(3), async {
        while follower.next().await.is_some() {}
    })
    .await;
    assert!(ended.is_ok(), "the follower did not end");
}

//! Log files: reading the tail, following, rotating.
//!
//! Processes write their stdout and stderr straight into
//! `logs/<process>.out.log` and `logs/<process>.err.log` (opened with
//! `O_APPEND`), not through a pipe to Pave: a pipe would break when Pave
//! dies, and the process with it. The price is that lines carry no
//! timestamp and the two streams cannot be interleaved exactly, so:
//! - [`tail`] returns the last lines of stdout, then the last lines of
//!   stderr, without times;
//! - [`follow`] polls both files and stamps each line with the time it was
//!   read, which is within one poll interval of when it was written.
//!
//! Rotation is copy-and-truncate: when a file passes the size limit it is
//! copied to `<file>.1` (replacing the previous one) and truncated; the
//! process keeps writing through its `O_APPEND` descriptor at the new end.
//! Lines written between the copy and the truncation are lost, and nothing
//! rotates while Pave is down.

use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::sync::mpsc;

use crate::error::RuntimeError;
use crate::local::state;
use crate::status::{LogLine, LogStream};

/// Longer lines are cut (followed ones are split) at this many bytes.
const MAX_LINE: usize = 64 * 1024;

/// [`tail`] never reads more than this from the end of one file.
const MAX_TAIL_BYTES: u64 = 16 * 1024 * 1024;

/// [`follow`] reads at most this much of one file per poll.
const MAX_FOLLOW_READ: u64 = 1024 * 1024;

pub(crate) fn log_path(instance_dir: &Path, process: &str, stream: LogStream) -> PathBuf {
    let suffix = match stream {
        LogStream::Stdout => "out",
        LogStream::Stderr => "err",
    };
    state::log_dir(instance_dir).join(format!("{process}.{suffix}.log"))
}

pub(crate) fn rotated_path(path: &Path) -> PathBuf {
    let mut rotated = path.as_os_str().to_owned();
    rotated.push(".1");
    PathBuf::from(rotated)
}

/// Opens a log file for a process to append to.
pub(crate) fn open_for_append(path: &Path) -> Result<File, RuntimeError> {
    fs::OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(RuntimeError::io("open log file", path))
}

/// Copies the file to `.1` and truncates it when it is over `max_bytes`.
pub(crate) fn rotate_if_needed(path: &Path, max_bytes: u64) -> io::Result<bool> {
    let length = match fs::metadata(path) {
        Ok(metadata) => metadata.len(),
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(error),
    };
    if length <= max_bytes {
        return Ok(false);
    }
    fs::copy(path, rotated_path(path))?;
    fs::OpenOptions::new().write(true).open(path)?.set_len(0)?;
    Ok(true)
}

/// Up to `count` last lines of each stream of a process: stdout's first,
/// then stderr's, reaching into the rotated files when the current ones
/// hold fewer lines.
pub(crate) fn tail(instance_dir: &Path, process: &str, count: usize) -> io::Result<Vec<LogLine>> {
    let mut lines = Vec::new();
    for stream in [LogStream::Stdout, LogStream::Stderr] {
        let path = log_path(instance_dir, process, stream);
        let mut texts = last_lines(&path, count)?;
        if texts.len() < count {
            let mut older = last_lines(&rotated_path(&path), count - texts.len())?;
            older.append(&mut texts);
            texts = older;
        }
        lines.extend(texts.into_iter().map(|text| LogLine {
            time: None,
            stream,
            text,
        }));
    }
    Ok(lines)
}

/// The last `count` lines of a file (a missing file has none), reading
/// backwards from the end in chunks.
pub(crate) fn last_lines(path: &Path, count: usize) -> io::Result<Vec<String>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    const CHUNK: u64 = 64 * 1024;
    let length = file.metadata()?.len();
    let mut position = length;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut newlines = 0;
    while position > 0 && newlines <= count && length - position < MAX_TAIL_BYTES {
        let size = CHUNK.min(position);
        position -= size;
        file.seek(SeekFrom::Start(position))?;
        let mut chunk = Vec::new();
        (&mut file).take(size).read_to_end(&mut chunk)?;
        newlines += chunk.iter().filter(|byte| **byte == b'\n').count();
        chunks.push(chunk);
    }
    chunks.reverse();
    let bytes = chunks.concat();
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    let mut pieces: Vec<&[u8]> = bytes.split(|byte| *byte == b'\n').collect();
    if bytes.ends_with(b"\n") {
        pieces.pop();
    }
    if position > 0 && !pieces.is_empty() {
        // The first piece may start in the middle of a line.
        pieces.remove(0);
    }
    let skip = pieces.len().saturating_sub(count);
    Ok(pieces.into_iter().skip(skip).map(line_text).collect())
}

fn line_text(bytes: &[u8]) -> String {
    let bytes = bytes.get(..MAX_LINE).unwrap_or(bytes);
    let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// Where a follower is in one log file.
struct Cursor {
    path: PathBuf,
    stream: LogStream,
    offset: u64,
    partial: Vec<u8>,
}

impl Cursor {
    fn at_end(path: PathBuf, stream: LogStream) -> Cursor {
        let offset = fs::metadata(&path).map_or(0, |metadata| metadata.len());
        Cursor {
            path,
            stream,
            offset,
            partial: Vec::new(),
        }
    }

    /// Reads what was appended since the last call, as complete lines.
    fn read_new(&mut self) -> Vec<String> {
        let length = fs::metadata(&self.path).map_or(0, |metadata| metadata.len());
        if length < self.offset {
            // Rotated (or truncated): what we had not read yet went to `.1`.
            let rotated = rotated_path(&self.path);
            let rotated_length = fs::metadata(&rotated).map_or(0, |metadata| metadata.len());
            if rotated_length > self.offset {
                let _ = read_range(&rotated, self.offset, rotated_length, &mut self.partial);
            }
            self.offset = 0;
        }
        let end = length.min(self.offset.saturating_add(MAX_FOLLOW_READ));
        if end > self.offset
            && let Ok(read) = read_range(&self.path, self.offset, end, &mut self.partial)
        {
            self.offset += read;
        }
        let mut lines = Vec::new();
        while let Some(newline) = self.partial.iter().position(|byte| *byte == b'\n') {
            let rest = self.partial.split_off(newline + 1);
            let line = std::mem::replace(&mut self.partial, rest);
            lines.push(line_text(line.strip_suffix(b"\n").unwrap_or(&line)));
        }
        if self.partial.len() >= MAX_LINE {
            lines.push(line_text(&std::mem::take(&mut self.partial)));
        }
        lines
    }
}

fn read_range(path: &Path, start: u64, end: u64, into: &mut Vec<u8>) -> io::Result<u64> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let read = file.take(end.saturating_sub(start)).read_to_end(into)?;
    Ok(u64::try_from(read).unwrap_or(u64::MAX))
}

/// Sends the lines appended to a process's logs from now on, until the
/// receiver is dropped or the instance directory disappears.
pub(crate) async fn follow(
    instance_dir: PathBuf,
    process: String,
    lines: mpsc::Sender<LogLine>,
    poll: Duration,
) {
    let mut cursors = [LogStream::Stdout, LogStream::Stderr]
        .map(|stream| Cursor::at_end(log_path(&instance_dir, &process, stream), stream));
    loop {
        // Checked before reading, so the last lines are still sent.
        let ended = !instance_dir.exists();
        for cursor in &mut cursors {
            for text in cursor.read_new() {
                let line = LogLine {
                    time: Some(jiff::Timestamp::now()),
                    stream: cursor.stream,
                    text,
                };
                if lines.send(line).await.is_err() {
                    return;
                }
            }
        }
        if ended {
            return;
        }
        tokio::select! {
            () = tokio::time::sleep(poll) => {}
            () = lines.closed() => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_lines_reads_backwards_across_chunks() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.log");
        let mut text = String::new();
        for number in 0..20_000 {
            text.push_str(&format!("line {number}\n"));
        }
        fs::write(&path, &text).expect("write");
        let lines = last_lines(&path, 3).expect("read");
        assert_eq!(lines, ["line 19997", "line 19998", "line 19999"]);
        let lines = last_lines(&path, 15_000).expect("read");
        assert_eq!(lines.len(), 15_000);
        assert_eq!(lines.first().map(String::as_str), Some("line 5000"));

        fs::write(&path, "a\nb\nno newline").expect("write");
        assert_eq!(last_lines(&path, 2).expect("read"), ["b", "no newline"]);
        assert_eq!(
            last_lines(&path, 10).expect("read"),
            ["a", "b", "no newline"]
        );
        assert!(
            last_lines(&dir.path().join("missing"), 5)
                .expect("read")
                .is_empty()
        );
        fs::write(&path, "").expect("write");
        assert!(last_lines(&path, 5).expect("read").is_empty());
    }

    #[test]
    fn cursor_follows_rotation() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("x.log");
        fs::write(&path, "old\n").expect("write");
        let mut cursor = Cursor::at_end(path.clone(), LogStream::Stdout);
        fs::write(&path, "old\nfirst\nsecond").expect("write");
        assert_eq!(cursor.read_new(), ["first"]);
        fs::write(&path, "old\nfirst\nsecond line\nthird\n").expect("write");
        assert!(rotate_if_needed(&path, 10).expect("rotate"));
        fs::write(&path, "fourth\n").expect("write");
        assert_eq!(cursor.read_new(), ["second line", "third", "fourth"]);
    }
}

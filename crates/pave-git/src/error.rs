//! The one error type of this crate.

use std::path::PathBuf;

/// What went wrong while reading from, publishing to or hosting a git repository.
///
/// Every message names what failed, for which remote, ref or path, and what to
/// do about it. User input is printed with `{:?}` so control characters in a
/// hostile URL cannot forge log lines.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// The location URL could not be understood.
    #[error("invalid git location {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },

    /// The remote uses a transport Pave refuses (ssh, ext::, plain paths, ...).
    #[error(
        "git remote {url:?} is not allowed: {reason}; Pave uses only file:///… and https://… \
         remotes (http:// only on 127.0.0.1 or localhost)"
    )]
    UnsupportedScheme { url: String, reason: String },

    /// A ref or commit argument is not a plain ref name or commit id.
    #[error("invalid git ref {reference:?}: {reason}")]
    InvalidReference { reference: String, reason: String },

    /// A path argument could be read as an option or could leave the repository.
    #[error("invalid path {path:?} inside a repository: {reason}")]
    InvalidPath { path: String, reason: String },

    /// A glob argument is not a valid glob.
    #[error("invalid glob {glob:?}: {reason}")]
    InvalidGlob { glob: String, reason: String },

    /// The remote could not be fetched: network, DNS, authentication, or no repository there.
    #[error(
        "could not fetch from git remote {remote:?}: {detail}; check the URL, that the \
         repository exists and is readable without credentials, and the network"
    )]
    Unreachable { remote: String, detail: String },

    /// The ref (branch, tag or commit) does not exist in the remote.
    #[error(
        "git remote {remote:?} has no branch, tag or commit {reference:?}; check the spelling, \
         or push it first"
    )]
    UnknownReference { remote: String, reference: String },

    /// The path does not exist at that commit.
    #[error("{path:?} does not exist at commit {commit} of {remote:?}; check the path and the ref")]
    NotFound {
        remote: String,
        commit: String,
        path: String,
    },

    /// The path exists but is a directory, a symbolic link or a submodule.
    #[error(
        "{path:?} at commit {commit} of {remote:?} is a {kind}, not a regular file; point at a \
         file inside it"
    )]
    NotAFile {
        remote: String,
        commit: String,
        path: String,
        kind: &'static str,
    },

    /// The file is larger than the reader's limit.
    #[error(
        "{path:?} at commit {commit} of {remote:?} is {size} bytes, over the {limit}-byte limit; \
         split the file or raise the limit with GitReader::with_max_file_size"
    )]
    TooLarge {
        remote: String,
        commit: String,
        path: String,
        size: u64,
        limit: u64,
    },

    /// Git printed more than the reader is willing to hold in memory.
    #[error(
        "`git {operation}` for {remote:?} printed more than {limit} bytes; narrow the glob or path"
    )]
    OutputTooLarge {
        remote: String,
        operation: String,
        limit: usize,
    },

    /// A git command did not finish in time and was killed.
    #[error(
        "git did not finish within {seconds:.1} s for {remote:?} and was stopped; the remote may \
         be slow or hanging: retry later, or raise the timeout with GitReader::with_timeout"
    )]
    Timeout { remote: String, seconds: f64 },

    /// Git failed in a way that is not the remote's fault (a damaged mirror is
    /// recreated before this is returned).
    #[error(
        "`git {operation}` failed for {remote:?} (exit {status}): {detail}; the local mirror \
         under {mirror:?} may be damaged: delete it and retry"
    )]
    Command {
        remote: String,
        operation: String,
        status: String,
        detail: String,
        mirror: PathBuf,
    },

    /// Text given for a commit or a hosted repository (author, message,
    /// owner, name, description) is not acceptable.
    #[error("invalid {field} {value:?}: {reason}")]
    InvalidInput {
        /// What the value is, e.g. "author email" or "repository name".
        field: &'static str,
        /// The value, cut short if long.
        value: String,
        /// Why, and what is allowed.
        reason: String,
    },

    /// The directory to publish is missing or has no files.
    #[error("nothing to publish: {directory:?} {reason}")]
    NothingToPublish {
        directory: PathBuf,
        /// E.g. "has no files; …" or "does not exist; …".
        reason: &'static str,
    },

    /// The branch to publish already exists in the remote; Pave never
    /// overwrites history.
    #[error(
        "git remote {remote:?} already has a branch {branch:?}, and Pave never overwrites \
         existing history; choose another repository or another branch name"
    )]
    BranchExists { remote: String, branch: String },

    /// The remote refused the push (permissions, credentials, a server rule).
    #[error(
        "git remote {remote:?} refused branch {branch:?}: {detail}; check that the repository \
         accepts pushes without credentials (Pave sends none) and that no server rule rejects it"
    )]
    PushRejected {
        remote: String,
        branch: String,
        detail: String,
    },

    /// Git failed while building the commit to publish, or the repository to host.
    #[error(
        "`git {operation}` failed for {directory:?} (exit {status}): {detail}; check that every \
         file in it is readable and that the disk has free space"
    )]
    PublishFailed {
        operation: String,
        status: String,
        detail: String,
        directory: PathBuf,
    },

    /// Pave already hosts a repository with this owner and name.
    #[error(
        "Pave's git hosting already has {owner}/{name}, and it never replaces a repository; pick \
         another name"
    )]
    RepositoryExists { owner: String, name: String },

    /// A local file operation (cache directory, mirror, hosting directory) failed.
    #[error(
        "could not {action} {path:?}: {source}; check the permissions of that location and the \
         free space on its disk"
    )]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl GitError {
    /// True for failures that may go away by themselves (network, slow
    /// remote), so a caller such as a refresh loop may retry later.
    ///
    /// A refused push is not transient: the remote was reachable (Pave lists
    /// its branches first) and said no, which a retry does not change. A
    /// publish that timed out may have been pushed after all; retrying it
    /// then fails with [`GitError::BranchExists`] rather than pushing twice.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            GitError::Unreachable { .. } | GitError::Timeout { .. }
        )
    }
}

/// Reduces git's stderr to one line for an error message: the first `fatal:`
/// or `error:` line (git's own summary), else the last non-empty line.
pub(crate) fn summarize_stderr(stderr: &str) -> String {
    const MAX_CHARS: usize = 300;
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let chosen = lines
        .iter()
        .find(|line| line.starts_with("fatal:") || line.starts_with("error:"))
        .or(lines.last())
        .copied()
        .unwrap_or("git printed no message");
    let printable: String = chosen
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_CHARS)
        .collect();
    if chosen.chars().count() > MAX_CHARS {
        format!("{printable}…")
    } else {
        printable
    }
}

#[cfg(test)]
mod tests {
    use super::summarize_stderr;

    #[test]
    fn summary_prefers_the_fatal_line() {
        let stderr = "Cloning into bare repository...\nfatal: unable to access 'x': Could not resolve host: github.com\n";
        assert_eq!(
            summarize_stderr(stderr),
            "fatal: unable to access 'x': Could not resolve host: github.com"
        );
    }

    #[test]
    fn summary_falls_back_to_the_last_line_and_is_bounded() {
        assert_eq!(summarize_stderr("one\ntwo\n\n"), "two");
        assert_eq!(summarize_stderr(""), "git printed no message");
        let long = "x".repeat(1000);
        assert_eq!(summarize_stderr(&long).chars().count(), 301);
    }
}

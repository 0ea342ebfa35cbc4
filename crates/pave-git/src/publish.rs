//! [`GitPublisher`]: publishing a directory as the first commit of a new branch.
//!
//! The commit is built in a scratch git directory under the publisher's home
//! (`git --git-dir=<scratch> --work-tree=<source>`), so the source directory
//! is only read, never given a `.git`. The scratch directory is removed
//! afterwards, whether the publish succeeded, failed or was cancelled.
//!
//! Publishing never overwrites anything: the branch must not exist in the
//! remote. That is checked before any work is done, and the push itself is a
//! plain (never forced) push that must create the branch; losing a race to
//! another writer is reported as [`GitError::BranchExists`] too.
//!
//! Hooks are disabled on both sides. For a `file://` remote, git runs the
//! receiving side (`git receive-pack`) as a local process that does not see
//! our `-c` settings, so the remote repository's own hooks would run with
//! Pave's rights; the push therefore names the receiving command itself,
//! with hooks and automatic gc switched off.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::command::{GitRunner, Output, Request};
use crate::error::{GitError, summarize_stderr};
use crate::reader::DEFAULT_TIMEOUT;
use crate::remote::Remote;
use crate::scratch::{ScratchDir, remove_leftovers, unique_name};
use crate::validation::{check_reference, is_full_commit_id};

/// Longest author name or email accepted.
const MAX_IDENTITY_LENGTH: usize = 256;

/// Longest commit message accepted (it is sent on stdin, so this only bounds memory).
const MAX_MESSAGE_LENGTH: usize = 64 * 1024;

/// Upper bound on the `git ls-files` listing of what is being published.
const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;

/// File mode git uses for a nested repository (a gitlink).
const GITLINK_MODE: &str = "160000";

/// The receiving side of a push to a `file://` remote. Git runs it through
/// the shell with the quoted repository path appended; it is a constant, so
/// nothing from input reaches the shell. Ignored for https, where the server
/// runs its own.
const RECEIVE_PACK: &str = "--receive-pack=git -c core.hooksPath=/dev/null -c receive.autogc=false \
                            -c gc.auto=0 -c core.fsmonitor=false receive-pack";

/// Who and what the one commit is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitSpec {
    /// Author and committer name. Git drops leading and trailing spaces and
    /// punctuation (`.,:;"'\`) from it, so "Jane Doe." is stored as "Jane Doe".
    pub author_name: String,
    /// Author and committer email, without `<>`.
    pub author_email: String,
    /// The commit message; surrounding blank lines and trailing spaces are dropped.
    pub message: String,
    /// The branch to create, e.g. `main` (not `refs/heads/main`).
    pub branch: String,
}

/// What a publish produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The remote the branch was pushed to.
    pub remote: String,
    /// The branch that was created.
    pub branch: String,
    /// The full id of the commit the branch points to.
    pub commit: String,
}

/// Publishes directories as commits by running the `git` CLI with the same
/// hardening as [`crate::GitReader`].
///
/// Two processes must not share a home directory: each removes scratch
/// directories it did not create, taking them for leftovers of a crash.
#[derive(Debug, Clone)]
pub struct GitPublisher {
    home: PathBuf,
    timeout: Duration,
}

impl GitPublisher {
    /// A publisher whose git runs with `home_dir` as its `HOME` and keeps its
    /// scratch directories there, with a 60 s timeout per git command.
    /// Nothing is created on disk until the first publish.
    pub fn new(home_dir: impl Into<PathBuf>) -> GitPublisher {
        let home = home_dir.into();
        // Git runs with the home as its working directory, so a relative
        // path would name a different place there. If this fails (no current
        // directory), `runner` reports it on first use.
        let home = std::path::absolute(&home).unwrap_or(home);
        GitPublisher {
            home,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// Sets how long one git command may run before it is killed and
    /// [`GitError::Timeout`] returned. Pushing a large directory is one command.
    pub fn with_timeout(mut self, timeout: Duration) -> GitPublisher {
        self.timeout = timeout;
        self
    }

    /// The home directory, made absolute.
    pub fn home_dir(&self) -> &Path {
        &self.home
    }

    /// Commits every file under `source` as the first (parentless) commit of
    /// `commit.branch` and pushes it to `remote` (`file://` or `https://`;
    /// `http://` only on loopback), without credentials.
    ///
    /// Every file is included, even those a `.gitignore` in `source` names;
    /// empty directories are not (git stores files only), and a nested git
    /// repository is refused. Fails with [`GitError::BranchExists`] if the
    /// remote already has the branch: it is never overwritten.
    pub async fn publish(
        &self,
        source: &Path,
        remote: &str,
        commit: &CommitSpec,
    ) -> Result<Published, GitError> {
        let remote = Remote::parse(remote)?;
        commit.validate()?;
        let source = check_source(source)?;
        // Lexically first, so a home inside the source is not even created.
        if self.home.starts_with(&source) {
            return Err(overlap_error(&source, &self.home));
        }
        let runner = self.runner().await?;
        let scratch_parent = self.home.join("publish");
        tokio::fs::create_dir_all(&scratch_parent)
            .await
            .map_err(|source| GitError::Io {
                action: "create the publisher's scratch directory",
                path: scratch_parent.clone(),
                source,
            })?;
        refuse_overlap(&source, &scratch_parent)?;
        if let Err(error) = remove_leftovers(&scratch_parent) {
            // Leftovers only cost disk space; the publish can go ahead.
            tracing::warn!(directory = ?scratch_parent, %error, "could not remove leftovers of an earlier run");
        }

        let scratch = ScratchDir::new(scratch_parent.join(unique_name()));
        let publication = Publication {
            runner: &runner,
            remote: &remote,
            source: &source,
            git_dir: scratch.path(),
            commit,
        };
        let result = publication.run().await;
        scratch.remove().await;
        let published = result?;
        tracing::info!(
            remote = remote.url(), branch = %published.branch, commit = %published.commit,
            source = ?source, "published a directory"
        );
        Ok(published)
    }

    /// A runner whose home directory exists.
    pub(crate) async fn runner(&self) -> Result<GitRunner, GitError> {
        if !self.home.is_absolute() {
            return Err(GitError::Io {
                action: "make an absolute path of",
                path: self.home.clone(),
                source: std::io::Error::other("the current directory is not available"),
            });
        }
        tokio::fs::create_dir_all(&self.home)
            .await
            .map_err(|source| GitError::Io {
                action: "create the publisher's home directory",
                path: self.home.clone(),
                source,
            })?;
        Ok(GitRunner::new(self.home.clone(), self.timeout))
    }
}

impl CommitSpec {
    /// Checks every field, so git is never started with input it would
    /// refuse or misread.
    pub(crate) fn validate(&self) -> Result<(), GitError> {
        check_branch(&self.branch)?;
        check_identity("author name", &self.author_name)?;
        check_identity("author email", &self.author_email)?;
        if let Some(bad) = self.author_email.chars().find(|c| c.is_whitespace()) {
            return Err(invalid(
                "author email",
                &self.author_email,
                format!("an email address cannot contain {bad:?}"),
            ));
        }
        check_message(&self.message)
    }
}

/// The work of one publish, inside its scratch git directory.
struct Publication<'a> {
    runner: &'a GitRunner,
    remote: &'a Remote,
    source: &'a Path,
    git_dir: &'a Path,
    commit: &'a CommitSpec,
}

impl Publication<'_> {
    async fn run(&self) -> Result<Published, GitError> {
        let branch = self.commit.branch.as_str();
        // Cheap, and it finds an unreachable remote or a taken branch before
        // the whole directory is copied into git objects.
        self.refuse_existing_branch().await?;

        // An empty template: no sample hooks or other files from the system.
        let init = Request::new(self.remote, None)
            .args(["init", "--bare", "--quiet", "--template="])
            .arg(format!("--initial-branch={branch}"))
            .arg("--")
            .arg(self.git_dir);
        self.local(init).await?;

        // --force: every file is published, including ones a .gitignore names.
        let add = self
            .request()
            .work_tree(self.source)
            .args(["add", "--all", "--force"]);
        self.local(add).await?;
        self.check_staged_files().await?;

        let commit = self
            .request()
            .work_tree(self.source)
            .config(format!("user.name={}", self.commit.author_name))
            .config(format!("user.email={}", self.commit.author_email))
            .config("commit.gpgsign=false")
            .args([
                "commit",
                "--quiet",
                "--no-verify",
                "--no-gpg-sign",
                "--cleanup=whitespace",
                "--file=-",
            ])
            .stdin(self.commit.message.clone().into_bytes());
        self.local(commit).await?;

        let rev_parse = self
            .request()
            .args(["rev-parse", "--verify", "--quiet"])
            .arg(format!("refs/heads/{branch}"));
        let output = self.local(rev_parse).await?;
        let commit_id = output.stdout_text().trim_end().to_string();
        if !is_full_commit_id(&commit_id) {
            return Err(GitError::PublishFailed {
                operation: output.operation,
                status: output.status,
                detail: format!("expected a commit id, got {commit_id:?}"),
                directory: self.source.to_path_buf(),
            });
        }

        self.push().await?;
        Ok(Published {
            remote: self.remote.url().to_string(),
            branch: branch.to_string(),
            commit: commit_id,
        })
    }

    fn request(&self) -> Request<'_> {
        Request::new(self.remote, Some(self.git_dir))
    }

    /// Runs a command that only touches the scratch directory; failing is
    /// [`GitError::PublishFailed`].
    async fn local(&self, request: Request<'_>) -> Result<Output, GitError> {
        let output = self.runner.run(request).await?;
        if output.success {
            Ok(output)
        } else {
            Err(GitError::PublishFailed {
                detail: summarize_stderr(&output.stderr),
                operation: output.operation,
                status: output.status,
                directory: self.source.to_path_buf(),
            })
        }
    }

    /// Fails with [`GitError::BranchExists`] if the remote has the branch.
    async fn refuse_existing_branch(&self) -> Result<(), GitError> {
        let full = format!("refs/heads/{}", self.commit.branch);
        // The pattern only narrows the listing (it matches ref-name tails,
        // so `refs/heads/x/refs/heads/main` too); the exact name is compared below.
        let request = Request::new(self.remote, None)
            .args(["ls-remote", "--refs", "--quiet"])
            .arg(self.remote.url())
            .arg(&full)
            .max_stdout(MAX_LISTING_BYTES);
        let output = self.runner.run(request).await?;
        if !output.success {
            return Err(GitError::Unreachable {
                remote: self.remote.url().to_string(),
                detail: summarize_stderr(&output.stderr),
            });
        }
        let exists = output
            .stdout_text()
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .any(|(_, name)| name == full);
        if exists {
            return Err(self.branch_exists());
        }
        Ok(())
    }

    /// Refuses an empty directory and nested repositories (git would record
    /// them as submodule links whose content is not published).
    async fn check_staged_files(&self) -> Result<(), GitError> {
        let request = self
            .request()
            .args(["ls-files", "--stage", "-z"])
            .max_stdout(MAX_LISTING_BYTES);
        let output = self.local(request).await?;
        let listing = output.stdout_text();
        let mut files = 0_usize;
        for record in listing.split('\0').filter(|record| !record.is_empty()) {
            // `<mode> <object> <stage>\t<path>`
            let Some((meta, path)) = record.split_once('\t') else {
                continue;
            };
            if meta.split(' ').next() == Some(GITLINK_MODE) {
                return Err(invalid(
                    "directory to publish",
                    &self.source.to_string_lossy(),
                    format!(
                        "{path:?} inside it is a git repository; Pave publishes plain files: \
                         remove its .git, or leave it out"
                    ),
                ));
            }
            files += 1;
        }
        if files == 0 {
            return Err(GitError::NothingToPublish {
                directory: self.source.to_path_buf(),
                reason: "has no files; put the files to publish in it",
            });
        }
        Ok(())
    }

    /// Pushes the branch without force and checks that it was created.
    async fn push(&self) -> Result<(), GitError> {
        let full = format!("refs/heads/{}", self.commit.branch);
        let request = self
            .request()
            .args([
                "push",
                "--porcelain",
                "--no-verify",
                "--recurse-submodules=no",
                // No --quiet: it would also silence the porcelain status on success.
                RECEIVE_PACK,
            ])
            .arg(self.remote.url())
            .arg(format!("{full}:{full}"));
        let output = self.runner.run(request).await?;
        match classify_push(&output.stdout_text(), &full, output.success) {
            PushOutcome::Created => Ok(()),
            PushOutcome::Exists => Err(self.branch_exists()),
            PushOutcome::Refused { summary } => Err(GitError::PushRejected {
                remote: self.remote.url().to_string(),
                branch: self.commit.branch.clone(),
                // The ref's own status ("[remote rejected] (pre-receive hook
                // declined)") says more than stderr's "failed to push some refs".
                detail: if summary.is_empty() {
                    summarize_stderr(&output.stderr)
                } else {
                    summary
                },
            }),
        }
    }

    fn branch_exists(&self) -> GitError {
        GitError::BranchExists {
            remote: self.remote.url().to_string(),
            branch: self.commit.branch.clone(),
        }
    }
}

/// What a push did to the one ref it pushed.
#[derive(Debug, PartialEq, Eq)]
enum PushOutcome {
    /// The branch was created.
    Created,
    /// The branch was there already.
    Exists,
    /// Anything else; `summary` is git's status text for the ref, if any.
    Refused { summary: String },
}

/// Reads `git push --porcelain` output, one `<flag>\t<from>:<to>\t<summary>`
/// line per ref, for the line pushing to `full_ref`.
fn classify_push(stdout: &str, full_ref: &str, success: bool) -> PushOutcome {
    let target = format!(":{full_ref}");
    let line = stdout.lines().find(|line| {
        line.split('\t')
            .nth(1)
            .is_some_and(|refs| refs.ends_with(&target))
    });
    let summary = line
        .and_then(|line| line.split('\t').nth(2))
        .unwrap_or("")
        .to_string();
    match line.and_then(|line| line.chars().next()) {
        Some('*') if success => PushOutcome::Created,
        // Up to date: the remote already has this very commit (the same
        // files, author, message and second) on the branch.
        Some('=') => PushOutcome::Exists,
        // Created by someone else between our check and the push.
        Some('!')
            if [
                "non-fast-forward",
                "fetch first",
                "already exists",
                "stale info",
            ]
            .iter()
            .any(|reason| summary.contains(reason)) =>
        {
            PushOutcome::Exists
        }
        _ => PushOutcome::Refused { summary },
    }
}

/// The source as an absolute path to an existing directory.
fn check_source(source: &Path) -> Result<PathBuf, GitError> {
    let absolute = std::path::absolute(source).map_err(|error| GitError::Io {
        action: "make an absolute path of",
        path: source.to_path_buf(),
        source: error,
    })?;
    match std::fs::metadata(&absolute) {
        Ok(metadata) if metadata.is_dir() => Ok(absolute),
        Ok(_) => Err(GitError::NothingToPublish {
            directory: absolute,
            reason: "is not a directory; give the directory that holds the files",
        }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            Err(GitError::NothingToPublish {
                directory: absolute,
                reason: "does not exist; check the path",
            })
        }
        Err(error) => Err(GitError::Io {
            action: "read the directory to publish",
            path: absolute,
            source: error,
        }),
    }
}

/// Git would add the scratch repository to the commit if it were inside the
/// source, so the two must not overlap.
fn refuse_overlap(source: &Path, scratch_parent: &Path) -> Result<(), GitError> {
    let canonical = |path: &Path| {
        std::fs::canonicalize(path).map_err(|error| GitError::Io {
            action: "resolve the path",
            path: path.to_path_buf(),
            source: error,
        })
    };
    let (source_real, scratch_real) = (canonical(source)?, canonical(scratch_parent)?);
    if scratch_real.starts_with(&source_real) {
        return Err(overlap_error(source, scratch_parent));
    }
    Ok(())
}

fn overlap_error(source: &Path, home: &Path) -> GitError {
    invalid(
        "directory to publish",
        &source.to_string_lossy(),
        format!(
            "it contains the publisher's home directory {home:?}; give the publisher a home \
             outside it"
        ),
    )
}

fn check_branch(branch: &str) -> Result<(), GitError> {
    let refuse = |reason: String| GitError::InvalidReference {
        reference: branch.to_string(),
        reason: format!("{reason}; a branch is a name such as main or feature/x"),
    };
    check_reference(branch).map_err(refuse)?;
    if branch == "HEAD" {
        return Err(refuse("HEAD is not a branch name".to_string()));
    }
    if branch.starts_with("refs/") {
        return Err(refuse(
            "give the branch name without refs/heads/".to_string(),
        ));
    }
    Ok(())
}

/// Characters git strips from both ends of a name or email ("crud" in git's ident.c).
fn is_crud(c: char) -> bool {
    c <= ' ' || ".,:;<>\"\\'".contains(c)
}

/// A name or email must fit git's `Name <email>` line: one line, no angle
/// brackets, and something left after git strips spaces and punctuation.
fn check_identity(field: &'static str, value: &str) -> Result<(), GitError> {
    if value.len() > MAX_IDENTITY_LENGTH {
        return Err(invalid(
            field,
            value,
            format!("it is longer than {MAX_IDENTITY_LENGTH} bytes"),
        ));
    }
    if let Some(bad) = value
        .chars()
        .find(|c| c.is_control() || *c == '<' || *c == '>')
    {
        return Err(invalid(
            field,
            value,
            format!("it cannot contain {bad:?} (git writes \"Name <email>\" on one line)"),
        ));
    }
    if value.trim_matches(is_crud).is_empty() {
        return Err(invalid(
            field,
            value,
            "it is empty (git ignores spaces and punctuation around it)".to_string(),
        ));
    }
    Ok(())
}

fn check_message(message: &str) -> Result<(), GitError> {
    if message.len() > MAX_MESSAGE_LENGTH {
        return Err(invalid(
            "commit message",
            message,
            format!("it is longer than {MAX_MESSAGE_LENGTH} bytes"),
        ));
    }
    if message.contains('\0') {
        return Err(invalid(
            "commit message",
            message,
            "it cannot contain a NUL character".to_string(),
        ));
    }
    if message.trim().is_empty() {
        return Err(invalid(
            "commit message",
            message,
            "it is empty; say what is being published".to_string(),
        ));
    }
    Ok(())
}

/// [`GitError::InvalidInput`], with the value cut to a length fit for a message.
pub(crate) fn invalid(field: &'static str, value: &str, reason: String) -> GitError {
    const MAX_CHARS: usize = 200;
    let mut shown: String = value.chars().take(MAX_CHARS).collect();
    if value.chars().count() > MAX_CHARS {
        shown.push('…');
    }
    GitError::InvalidInput {
        field,
        value: shown,
        reason,
    }
}

#[cfg(test)]
pub(crate) mod tests;

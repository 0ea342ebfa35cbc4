//! Reading refs, files and listings out of a mirror that is already fetched.
//!
//! Nothing here talks to the remote. A ref whose object is missing is
//! reported as [`GitError::Command`], which the reader takes as "this mirror
//! is damaged" and answers by rebuilding it once.

use crate::command::Request;
use crate::error::GitError;
use crate::glob::PathGlob;
use crate::mirror::{Mirror, REMOTE_HEAD};
use crate::validation::is_abbreviated_commit_id;

/// Upper bound on a `git ls-tree -r` or `git for-each-ref` listing; about a
/// million paths, far more than a catalog should scan in one call.
const MAX_LISTING_BYTES: usize = 64 * 1024 * 1024;

/// File mode git uses for symbolic links.
const SYMBOLIC_LINK_MODE: &str = "120000";

/// One entry of `git ls-tree -z` output.
struct TreeEntry<'a> {
    mode: &'a str,
    kind: &'a str,
    object: &'a str,
    /// Only with `ls-tree -l`; `-` for trees.
    size: Option<&'a str>,
    path: &'a str,
}

fn parse_tree_entry(record: &str) -> Option<TreeEntry<'_>> {
    let (meta, path) = record.split_once('\t')?;
    let mut fields = meta.split_whitespace();
    Some(TreeEntry {
        mode: fields.next()?,
        kind: fields.next()?,
        object: fields.next()?,
        size: fields.next(),
        path,
    })
}

impl Mirror<'_> {
    /// All branches and tags (and the remote HEAD) as `(object id, full ref name)`.
    async fn references(&self) -> Result<Vec<(String, String)>, GitError> {
        let request = self
            .request()
            .args([
                "for-each-ref",
                "--format=%(objectname) %(refname)",
                "refs/heads",
                "refs/tags",
                "refs/pave",
            ])
            .max_stdout(MAX_LISTING_BYTES);
        let output = self.runner.run(request).await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        Ok(output
            .stdout_text()
            .lines()
            .filter_map(|line| line.split_once(' '))
            .map(|(object, name)| (object.to_string(), name.to_string()))
            .collect())
    }

    /// Branch and tag names without their `refs/heads/` or `refs/tags/` prefix.
    pub(crate) async fn short_names(&self) -> Result<Vec<String>, GitError> {
        Ok(self
            .references()
            .await?
            .into_iter()
            .filter_map(|(_, name)| {
                name.strip_prefix("refs/heads/")
                    .or_else(|| name.strip_prefix("refs/tags/"))
                    .map(str::to_string)
            })
            .collect())
    }

    /// Resolves a branch, tag, full ref or (abbreviated) commit id to a full
    /// commit id. Branches win over tags of the same name; names win over
    /// commit ids; `None` is the remote's HEAD.
    pub(crate) async fn resolve(&self, reference: Option<&str>) -> Result<String, GitError> {
        let shown = reference.unwrap_or("HEAD (the default branch)");
        let unknown = || GitError::UnknownReference {
            remote: self.remote.url().to_string(),
            reference: shown.to_string(),
        };
        let references = self.references().await?;
        let lookup = |full_name: &str| {
            references
                .iter()
                .find(|(_, name)| name == full_name)
                .map(|(object, _)| object.clone())
        };
        let (object, from_ref) = match reference {
            None => (lookup(REMOTE_HEAD).ok_or_else(unknown)?, true),
            Some(name) => {
                let candidates = if name.starts_with("refs/") {
                    vec![name.to_string()]
                } else {
                    vec![format!("refs/heads/{name}"), format!("refs/tags/{name}")]
                };
                match candidates.iter().find_map(|candidate| lookup(candidate)) {
                    Some(object) => (object, true),
                    None if is_abbreviated_commit_id(name) => (name.to_ascii_lowercase(), false),
                    None => return Err(unknown()),
                }
            }
        };

        // Peel annotated tags to their commit, and check the objects exist.
        let request = self
            .request()
            .args(["cat-file", "--batch-check=%(objectname) %(objecttype)"])
            .stdin(format!("{object}\n{object}^{{commit}}\n").into_bytes());
        let output = self.runner.run(request).await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        let text = output.stdout_text();
        let mut lines = text.lines();
        let named = lines.next().unwrap_or("");
        if named.ends_with(" ambiguous") {
            return Err(GitError::InvalidReference {
                reference: shown.to_string(),
                reason: "several objects start with these digits; give more of the commit id"
                    .to_string(),
            });
        }
        if named.ends_with(" missing") || named.is_empty() {
            if from_ref {
                return Err(
                    self.damaged(format!("ref {shown:?} points to missing object {object}"))
                );
            }
            return Err(unknown());
        }
        let peeled = lines.next().unwrap_or("");
        match peeled.split_once(' ') {
            Some((commit, "commit")) => Ok(commit.to_string()),
            _ => {
                let kind = named
                    .split_once(' ')
                    .map(|(_, kind)| kind)
                    .unwrap_or("object");
                Err(GitError::InvalidReference {
                    reference: shown.to_string(),
                    reason: format!("it names a {kind}, not a commit"),
                })
            }
        }
    }

    /// True if the mirror has this commit.
    pub(crate) async fn has_commit(&self, commit: &str) -> Result<bool, GitError> {
        let request = self
            .request()
            .args(["cat-file", "-e"])
            .arg(format!("{commit}^{{commit}}"));
        Ok(self.runner.run(request).await?.success)
    }

    /// Reads one regular file at a commit the mirror has.
    pub(crate) async fn read_file(
        &self,
        commit: &str,
        path: &str,
        limit: u64,
    ) -> Result<Vec<u8>, GitError> {
        let not_a_file = |kind: &'static str| GitError::NotAFile {
            remote: self.remote.url().to_string(),
            commit: commit.to_string(),
            path: path.to_string(),
            kind,
        };
        if !self.has_commit(commit).await? {
            return Err(self.unknown_commit(commit));
        }
        if path.is_empty() {
            return Err(not_a_file("directory"));
        }
        let request =
            self.request()
                .args(["ls-tree", "-l", "-z", "--full-tree", commit, "--", path]);
        let output = self.runner.run(request).await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        let text = output.stdout_text();
        let Some(entry) = text
            .split('\0')
            .filter_map(parse_tree_entry)
            .find(|entry| entry.path == path)
        else {
            return Err(GitError::NotFound {
                remote: self.remote.url().to_string(),
                commit: commit.to_string(),
                path: path.to_string(),
            });
        };
        match (entry.kind, entry.mode) {
            ("tree", _) => return Err(not_a_file("directory")),
            ("commit", _) => return Err(not_a_file("submodule")),
            ("blob", SYMBOLIC_LINK_MODE) => return Err(not_a_file("symbolic link")),
            ("blob", _) => {}
            _ => return Err(not_a_file("non-file object")),
        }
        let size = entry
            .size
            .and_then(|size| size.parse::<u64>().ok())
            .unwrap_or(0);
        if size > limit {
            return Err(GitError::TooLarge {
                remote: self.remote.url().to_string(),
                commit: commit.to_string(),
                path: path.to_string(),
                size,
                limit,
            });
        }
        let request = self
            .request()
            .args(["cat-file", "blob", entry.object])
            .max_stdout(usize::try_from(limit).unwrap_or(usize::MAX));
        let output = self.runner.run(request).await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        Ok(output.stdout)
    }

    /// Clones the mirror into `target` and checks `commit` out, detached.
    pub(crate) async fn export(
        &self,
        commit: &str,
        target: &std::path::Path,
    ) -> Result<(), GitError> {
        if !self.has_commit(commit).await? {
            return Err(self.unknown_commit(commit));
        }
        // `--no-checkout` then a detached checkout of exactly this commit;
        // a local clone copies or hard-links objects, so the checkout
        // outlives a rebuilt mirror.
        let clone = Request::new(self.remote, None)
            .args(["clone", "--quiet", "--no-checkout", "--no-local"])
            .arg(format!("file://{}", self.directory.display()))
            .arg(target);
        let output = self.runner.run(clone).await?;
        if !output.success {
            let _ = std::fs::remove_dir_all(target);
            return Err(self.command_error(&output));
        }
        let git_dir = target.join(".git");
        let checkout = Request::new(self.remote, Some(&git_dir))
            .work_tree(target)
            .args(["checkout", "--quiet", "--detach", commit]);
        let output = self.runner.run(checkout).await?;
        if !output.success {
            let _ = std::fs::remove_dir_all(target);
            return Err(self.command_error(&output));
        }
        Ok(())
    }

    /// Regular files at a commit the mirror has whose paths match the glob, sorted.
    pub(crate) async fn list_files(
        &self,
        commit: &str,
        glob: &PathGlob,
    ) -> Result<Vec<String>, GitError> {
        if !self.has_commit(commit).await? {
            return Err(self.unknown_commit(commit));
        }
        let mut request = self
            .request()
            .args(["ls-tree", "-r", "-z", "--full-tree", commit]);
        if !glob.prefix().is_empty() {
            request = request.arg("--").arg(glob.prefix());
        }
        let output = self
            .runner
            .run(request.max_stdout(MAX_LISTING_BYTES))
            .await?;
        if !output.success {
            return Err(self.command_error(&output));
        }
        // Names that are not UTF-8 cannot be passed back as &str paths; skip them.
        let mut paths: Vec<String> = output
            .stdout
            .split(|byte| *byte == 0)
            .filter_map(|record| std::str::from_utf8(record).ok())
            .filter_map(parse_tree_entry)
            .filter(|entry| entry.kind == "blob" && entry.mode != SYMBOLIC_LINK_MODE)
            .filter(|entry| glob.is_match(entry.path))
            .map(|entry| entry.path.to_string())
            .collect();
        paths.sort();
        paths.dedup();
        Ok(paths)
    }

    fn unknown_commit(&self, commit: &str) -> GitError {
        GitError::UnknownReference {
            remote: self.remote.url().to_string(),
            reference: commit.to_string(),
        }
    }

    /// Git found the mirror inconsistent without failing itself.
    fn damaged(&self, detail: String) -> GitError {
        GitError::Command {
            remote: self.remote.url().to_string(),
            operation: "cat-file".to_string(),
            status: "0".to_string(),
            detail,
            mirror: self.directory.clone(),
        }
    }
}

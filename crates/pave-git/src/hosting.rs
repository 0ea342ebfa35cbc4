//! [`Hosting`]: Pave's own git repositories, bare repositories under a
//! directory of its data dir, laid out as `<root>/<owner>/<name>.git` and
//! read by everyone (including [`crate::GitReader`]) through `file://` URLs.
//!
//! A repository appears whole or not at all. It is built in
//! `<root>/.incoming/<unique>` (initialised, published into, described) and
//! renamed to its final path only when complete; rename is atomic, so a crash
//! leaves at most a directory under `.incoming`, which
//! [`Hosting::clean_incomplete`] removes. An existing repository is never
//! replaced: its path is checked before any work and again just before the
//! rename, and renaming a directory onto a non-empty directory fails.
//!
//! Owner and repository names are 1 to 100 ASCII letters, digits, '.', '_'
//! and '-', starting with a letter or digit, without `..`, and without a
//! `.git` suffix (Pave adds it to the directory name; a name that already
//! ends in `.git` is refused rather than stripped, so one repository has only
//! one spelling). Names are case-sensitive, as the file system is.

use std::path::{Path, PathBuf};

use crate::command::Request;
use crate::error::{GitError, summarize_stderr};
use crate::location::parse_location;
use crate::publish::{CommitSpec, GitPublisher, Published, invalid};
use crate::remote::{Remote, file_url};
use crate::scratch::{ScratchDir, remove_leftovers, unique_name};

/// Where repositories are built before they are renamed into place. Owner
/// names start with a letter or digit, so it cannot clash with one.
const INCOMING: &str = ".incoming";

/// Longest owner or repository name.
const MAX_NAME_LENGTH: usize = 100;

/// Longest repository description.
const MAX_DESCRIPTION_LENGTH: usize = 4096;

/// The bare repositories Pave hosts under one root directory, as
/// `<root>/<owner>/<name>.git`.
///
/// Owner and repository names are 1 to 100 ASCII letters, digits, '.', '_'
/// and '-', starting with a letter or digit, without `..`, and without a
/// `.git` suffix (Pave adds it; a name ending in `.git` is refused rather
/// than stripped, so a repository has one spelling). They are case-sensitive.
///
/// One process at a time may create repositories under a root.
#[derive(Debug, Clone)]
pub struct Hosting {
    root: PathBuf,
}

/// One hosted repository (which may not exist yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostedRepository {
    pub owner: String,
    pub name: String,
    /// `<root>/<owner>/<name>.git`.
    pub path: PathBuf,
    /// `file://` URL of `path`, as [`crate::GitReader`] and location URLs
    /// (`<remote_url>/blob/<branch>/<file>`) take it.
    pub remote_url: String,
}

impl Hosting {
    /// Hosting under `root`, made absolute. Nothing is created on disk until
    /// the first [`Hosting::create`].
    pub fn new(root: impl Into<PathBuf>) -> Hosting {
        let root = root.into();
        // Remote URLs must be absolute. If this fails (no current
        // directory), `repository` reports it.
        let root = std::path::absolute(&root).unwrap_or(root);
        Hosting { root }
    }

    /// The directory holding the repositories.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `owner/name` lives, with its remote URL; it need not exist.
    /// Fails with [`GitError::InvalidInput`] for a name outside the rules
    /// described on [`Hosting`], or a root that cannot be written as a remote URL.
    pub fn repository(&self, owner: &str, name: &str) -> Result<HostedRepository, GitError> {
        check_name("repository owner", owner)?;
        check_name("repository name", name)?;
        let path = self.root.join(owner).join(format!("{name}.git"));
        let remote_url = self.remote_url(&path)?;
        Ok(HostedRepository {
            owner: owner.to_string(),
            name: name.to_string(),
            path,
            remote_url,
        })
    }

    /// True if `owner/name` exists (as anything: a stray file there also
    /// blocks [`Hosting::create`]).
    pub fn exists(&self, owner: &str, name: &str) -> Result<bool, GitError> {
        let repository = self.repository(owner, name)?;
        occupied(&repository.path)
    }

    /// Creates the bare repository `owner/name` with every file under
    /// `source` as the first commit of `commit.branch`, its HEAD pointing at
    /// that branch, and `description` (if any) in its `description` file.
    ///
    /// Fails with [`GitError::RepositoryExists`] if it already exists, which
    /// is then left untouched. On any failure nothing is left under the root
    /// but the (possibly empty) `.incoming` directory.
    pub async fn create(
        &self,
        publisher: &GitPublisher,
        owner: &str,
        name: &str,
        description: Option<&str>,
        source: &Path,
        commit: &CommitSpec,
    ) -> Result<(HostedRepository, Published), GitError> {
        let repository = self.repository(owner, name)?;
        commit.validate()?;
        let description = description.map(check_description).transpose()?;
        if occupied(&repository.path)? {
            return Err(exists_error(&repository));
        }
        let incoming_parent = self.root.join(INCOMING);
        tokio::fs::create_dir_all(&incoming_parent)
            .await
            .map_err(|source| GitError::Io {
                action: "create the git hosting directory",
                path: incoming_parent.clone(),
                source,
            })?;
        let incoming = ScratchDir::new(incoming_parent.join(unique_name()));
        let build = Build {
            publisher,
            repository: &repository,
            incoming: incoming.path(),
            description: description.as_deref(),
            source,
            commit,
        };
        match build.run().await {
            Ok(published) => {
                // Renamed into place: there is nothing left to remove.
                incoming.keep();
                tracing::info!(
                    owner, name, path = ?repository.path, commit = %published.commit,
                    "created a hosted repository"
                );
                Ok((repository, published))
            }
            Err(error) => {
                incoming.remove().await;
                Err(error)
            }
        }
    }

    /// Removes what interrupted [`Hosting::create`] calls of earlier runs left
    /// under `.incoming`, and returns how many. Creations in progress in this
    /// process are left alone; another process must not be creating
    /// repositories under the same root (call this at startup).
    pub fn clean_incomplete(&self) -> std::io::Result<usize> {
        remove_leftovers(&self.root.join(INCOMING))
    }

    /// Every hosted repository, sorted by owner then name. Entries that do
    /// not follow the naming rules (such as `.incoming`) are skipped; a
    /// missing root has none.
    pub fn list(&self) -> std::io::Result<Vec<HostedRepository>> {
        let owners = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(error),
        };
        let mut repositories = Vec::new();
        for owner_entry in owners {
            let owner_entry = owner_entry?;
            let Some(owner) = valid_name(&owner_entry.file_name()) else {
                continue;
            };
            // Not following symbolic links: only real directories are hosted.
            if !owner_entry.file_type()?.is_dir() {
                continue;
            }
            for entry in std::fs::read_dir(owner_entry.path())? {
                let entry = entry?;
                let file_name = entry.file_name();
                let Some(name) = file_name
                    .to_str()
                    .and_then(|file_name| file_name.strip_suffix(".git"))
                    .and_then(|name| valid_name(name.as_ref()))
                else {
                    continue;
                };
                if !entry.file_type()?.is_dir() {
                    continue;
                }
                let repository = self
                    .repository(&owner, &name)
                    .map_err(std::io::Error::other)?;
                repositories.push(repository);
            }
        }
        repositories.sort_by(|a, b| (&a.owner, &a.name).cmp(&(&b.owner, &b.name)));
        Ok(repositories)
    }

    /// The `file://` URL of a path under the root, checked to be one that
    /// [`Remote::parse`] accepts and that location URLs split back out.
    fn remote_url(&self, path: &Path) -> Result<String, GitError> {
        let root = self.root.to_string_lossy();
        if !self.root.is_absolute() {
            return Err(invalid(
                "git hosting root",
                &root,
                "it is not an absolute path and the current directory is not available".to_string(),
            ));
        }
        let url = file_url(path);
        if let Err(error) = Remote::parse(&url) {
            return Err(invalid(
                "git hosting root",
                &root,
                format!(
                    "its repositories would have a remote Pave refuses ({error}); use a path without '..'"
                ),
            ));
        }
        let probe = format!("{url}/blob/main/catalog-info.yaml");
        let splits_back = parse_location(&probe).is_ok_and(|parsed| parsed.location.remote == url);
        if !splits_back {
            return Err(invalid(
                "git hosting root",
                &root,
                "location URLs of its repositories would be split at the wrong place; use a \
                 path with no 'blob' or 'tree' directory after a directory ending in '.git'"
                    .to_string(),
            ));
        }
        Ok(url)
    }
}

/// The work of one [`Hosting::create`] after the checks.
struct Build<'a> {
    publisher: &'a GitPublisher,
    repository: &'a HostedRepository,
    incoming: &'a Path,
    description: Option<&'a str>,
    source: &'a Path,
    commit: &'a CommitSpec,
}

impl Build<'_> {
    async fn run(&self) -> Result<Published, GitError> {
        let incoming_url = file_url(self.incoming);
        let remote = Remote::parse(&incoming_url)?;
        let runner = self.publisher.runner().await?;
        // An empty template: no sample hooks. The initial branch makes HEAD
        // name the branch that is about to be pushed, so clones check it out.
        let init = Request::new(&remote, None)
            .args(["init", "--bare", "--quiet", "--template="])
            .arg(format!("--initial-branch={}", self.commit.branch))
            .arg("--")
            .arg(self.incoming);
        let output = runner.run(init).await?;
        if !output.success {
            return Err(GitError::PublishFailed {
                detail: summarize_stderr(&output.stderr),
                operation: output.operation,
                status: output.status,
                directory: self.incoming.to_path_buf(),
            });
        }

        let published = self
            .publisher
            .publish(self.source, &incoming_url, self.commit)
            .await?;

        if let Some(description) = self.description {
            let file = self.incoming.join("description");
            tokio::fs::write(&file, description)
                .await
                .map_err(|source| GitError::Io {
                    action: "write the repository description",
                    path: file.clone(),
                    source,
                })?;
        }

        self.move_into_place().await?;
        Ok(Published {
            remote: self.repository.remote_url.clone(),
            branch: published.branch,
            commit: published.commit,
        })
    }

    /// Renames the finished repository to its final path, never over an
    /// existing one.
    async fn move_into_place(&self) -> Result<(), GitError> {
        let target = &self.repository.path;
        if let Some(owner_directory) = target.parent() {
            tokio::fs::create_dir_all(owner_directory)
                .await
                .map_err(|source| GitError::Io {
                    action: "create the owner directory",
                    path: owner_directory.to_path_buf(),
                    source,
                })?;
        }
        // Checked again: another create may have finished meanwhile. What
        // remains is a race with a create that finishes in between, and then
        // rename fails because the target is a non-empty directory.
        if occupied(target)? {
            return Err(exists_error(self.repository));
        }
        match tokio::fs::rename(self.incoming, target).await {
            Ok(()) => Ok(()),
            Err(_) if occupied(target).unwrap_or(false) => Err(exists_error(self.repository)),
            Err(source) => Err(GitError::Io {
                action: "move the new repository into",
                path: target.clone(),
                source,
            }),
        }
    }
}

fn exists_error(repository: &HostedRepository) -> GitError {
    GitError::RepositoryExists {
        owner: repository.owner.clone(),
        name: repository.name.clone(),
    }
}

/// True if anything (a directory, a file, a dangling link) is at `path`.
fn occupied(path: &Path) -> Result<bool, GitError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(GitError::Io {
            action: "look at",
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// A directory entry's name if it is a valid owner or repository name.
fn valid_name(name: &std::ffi::OsStr) -> Option<String> {
    let name = name.to_str()?;
    check_name("name", name).ok()?;
    Some(name.to_string())
}

/// The naming rules of the module documentation; `field` says which name.
fn check_name(field: &'static str, name: &str) -> Result<(), GitError> {
    let refuse = |reason: String| {
        invalid(
            field,
            name,
            format!(
                "{reason}; use 1 to {MAX_NAME_LENGTH} letters, digits, '.', '_' or '-', \
                 starting with a letter or digit"
            ),
        )
    };
    let Some(first) = name.chars().next() else {
        return Err(refuse("it is empty".to_string()));
    };
    if name.len() > MAX_NAME_LENGTH {
        return Err(refuse(format!(
            "it is longer than {MAX_NAME_LENGTH} characters"
        )));
    }
    if !first.is_ascii_alphanumeric() {
        return Err(refuse(format!("it starts with {first:?}")));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(refuse(format!("it contains {bad:?}")));
    }
    if name.contains("..") {
        return Err(refuse("it contains '..'".to_string()));
    }
    if name.to_ascii_lowercase().ends_with(".git") {
        return Err(refuse(
            "it ends in '.git', which Pave adds itself: leave it out".to_string(),
        ));
    }
    Ok(())
}

/// The description as written to the `description` file: printable text
/// (line breaks and tabs allowed), ending in one newline.
fn check_description(description: &str) -> Result<String, GitError> {
    const FIELD: &str = "repository description";
    if description.len() > MAX_DESCRIPTION_LENGTH {
        return Err(invalid(
            FIELD,
            description,
            format!("it is longer than {MAX_DESCRIPTION_LENGTH} bytes"),
        ));
    }
    if let Some(bad) = description
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(invalid(
            FIELD,
            description,
            format!("it cannot contain {bad:?}"),
        ));
    }
    Ok(format!("{}\n", description.trim_end()))
}

#[cfg(test)]
mod tests;

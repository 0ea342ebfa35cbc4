//! `publish:git`: makes the workspace (or a folder of it) the first commit
//! of a new repository, either in Pave's own git hosting or on a given
//! remote.
//!
//! - `repoUrl: pave?owner=o&repo=r` creates `o/r` in Pave's hosting under
//!   the data dir. The repository appears whole or not at all (it is built
//!   aside and renamed into place), and an existing one is never touched.
//! - `remoteUrl` pushes to that remote instead: `https://` (plain `http://`
//!   only on loopback), or `file://` under a directory the operator allowed.
//!   An existing branch is never overwritten.
//!
//! The commit's author is the user running the template (their catalog
//! profile's name and email when they have one) unless the input says
//! otherwise.

use std::path::{Path, PathBuf};

use pave_git::{CommitSpec, GitPublisher, Hosting};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};
use crate::filters::parse_repo_url;

const NAME: &str = "publish:git";

/// The `repoUrl` host that means Pave's own git hosting.
pub const PAVE_HOST: &str = "pave";

/// What `publish:git` may write to.
pub struct PublishSettings {
    /// Pave's hosting.
    pub hosting: Hosting,
    /// Runs git for publishing.
    pub publisher: GitPublisher,
    /// Directories `file://` remotes must be under.
    pub file_push_roots: Vec<PathBuf>,
}

/// Publishes the workspace as a new repository.
pub struct PublishGit {
    settings: PublishSettings,
}

impl PublishGit {
    /// The action with these settings.
    pub fn new(settings: PublishSettings) -> PublishGit {
        PublishGit { settings }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    repo_url: Option<String>,
    remote_url: Option<String>,
    description: Option<String>,
    default_branch: Option<String>,
    source_path: Option<String>,
    git_commit_message: Option<String>,
    git_author_name: Option<String>,
    git_author_email: Option<String>,
}

impl Action for PublishGit {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Publishes the workspace as the first commit of a new repository in Pave's git hosting (repoUrl host `pave`) or on a given remote."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "repoUrl": {"type": "string", "description": "Where to create the repository: `pave?owner=<owner>&repo=<name>` for Pave's own git hosting."},
                "remoteUrl": {"type": "string", "description": "Push to this existing remote instead (https, or file under an allowed directory)."},
                "description": {"type": "string", "description": "Repository description."},
                "defaultBranch": {"type": "string", "description": "Branch to create; `main` by default."},
                "sourcePath": {"type": "string", "description": "Folder of the workspace to publish; the whole workspace by default."},
                "gitCommitMessage": {"type": "string", "description": "Message of the commit; `initial commit` by default."},
                "gitAuthorName": {"type": "string", "description": "Commit author name; the user running the template by default."},
                "gitAuthorEmail": {"type": "string", "description": "Commit author email; the user's profile email by default."}
            },
            "anyOf": [{"required": ["repoUrl"]}, {"required": ["remoteUrl"]}]
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            let source = match input.source_path.as_deref() {
                Some(path) if !path.is_empty() && path != "." => context
                    .workspace
                    .resolve(path)
                    .map_err(|error| ActionError::workspace(NAME, error))?,
                _ => context.workspace.root().to_path_buf(),
            };
            let (author_name, author_email) = author(context, &input);
            let commit = CommitSpec {
                author_name,
                author_email,
                message: input
                    .git_commit_message
                    .clone()
                    .unwrap_or_else(|| "initial commit".into()),
                branch: input
                    .default_branch
                    .clone()
                    .unwrap_or_else(|| "main".into()),
            };
            let target = self.target(&input)?;
            if context.dry_run {
                return Ok(self.describe(context, &target, &commit));
            }
            context.check_cancelled(NAME)?;
            match target {
                Target::Hosted { owner, name } => {
                    context.log(format!(
                        "Creating repository {owner}/{name} in Pave's git hosting"
                    ));
                    let (repository, published) = self
                        .settings
                        .hosting
                        .create(
                            &self.settings.publisher,
                            &owner,
                            &name,
                            input.description.as_deref(),
                            &source,
                            &commit,
                        )
                        .await
                        .map_err(|error| ActionError::failed(NAME, error.to_string()))?;
                    context.log(format!(
                        "Published commit {} on branch {} to {}",
                        published.commit, published.branch, repository.remote_url
                    ));
                    Ok(outputs(
                        &repository.remote_url,
                        &published.branch,
                        &published.commit,
                    ))
                }
                Target::Remote(remote) => {
                    context.log(format!("Pushing to {remote}"));
                    let published = self
                        .settings
                        .publisher
                        .publish(&source, &remote, &commit)
                        .await
                        .map_err(|error| ActionError::failed(NAME, error.to_string()))?;
                    context.log(format!(
                        "Published commit {} on branch {}",
                        published.commit, published.branch
                    ));
                    Ok(outputs(&remote, &published.branch, &published.commit))
                }
            }
        })
    }
}

/// Where the repository goes.
enum Target {
    Hosted { owner: String, name: String },
    Remote(String),
}

impl PublishGit {
    fn target(&self, input: &Input) -> Result<Target, ActionError> {
        if let Some(remote) = input.remote_url.as_deref() {
            self.check_remote(remote)?;
            return Ok(Target::Remote(remote.to_string()));
        }
        let repo_url = input.repo_url.as_deref().unwrap_or_default();
        let parsed = parse_repo_url(repo_url)
            .map_err(|error| ActionError::invalid(NAME, "repoUrl", error))?;
        if parsed.host != PAVE_HOST {
            return Err(ActionError::invalid(
                NAME,
                "repoUrl",
                format!(
                    "host `{}` is not one Pave publishes to; use `{PAVE_HOST}?owner=<owner>&repo=<name>` for Pave's git hosting, or give `remoteUrl`",
                    parsed.host
                ),
            ));
        }
        let owner = parsed.owner.clone().ok_or_else(|| {
            ActionError::invalid(
                NAME,
                "repoUrl",
                "it needs an `owner`, e.g. `pave?owner=team-a&repo=orders`",
            )
        })?;
        let name = parsed.repo.clone();
        // Checked here so a dry run reports a bad or taken name too.
        let exists = self
            .settings
            .hosting
            .exists(&owner, &name)
            .map_err(|error| ActionError::invalid(NAME, "repoUrl", error.to_string()))?;
        if exists {
            return Err(ActionError::failed(
                NAME,
                format!(
                    "Pave's git hosting already has {owner}/{name}; choose another repository name"
                ),
            ));
        }
        Ok(Target::Hosted { owner, name })
    }

    /// `file://` remotes must be under an allowed root: a template must not
    /// be able to write into any repository on the server's disk.
    fn check_remote(&self, remote: &str) -> Result<(), ActionError> {
        let Some(path) = remote.strip_prefix("file://") else {
            return Ok(());
        };
        let path = Path::new(path);
        let normalized_ok = !path
            .components()
            .any(|component| matches!(component, std::path::Component::ParentDir));
        let allowed = normalized_ok
            && self
                .settings
                .file_push_roots
                .iter()
                .any(|root| path.starts_with(root));
        if allowed {
            Ok(())
        } else {
            Err(ActionError::invalid(
                NAME,
                "remoteUrl",
                "file:// remotes are only allowed under the directories in `scaffolder.file_push_roots`; use an https remote or Pave's hosting (`repoUrl: pave?owner=…&repo=…`)",
            ))
        }
    }

    fn describe(
        &self,
        context: &mut ActionContext<'_>,
        target: &Target,
        commit: &CommitSpec,
    ) -> Value {
        let remote = match target {
            Target::Hosted { owner, name } => self
                .settings
                .hosting
                .repository(owner, name)
                .map(|repository| repository.remote_url)
                .unwrap_or_else(|_| format!("{PAVE_HOST}:{owner}/{name}")),
            Target::Remote(remote) => remote.clone(),
        };
        context.log(format!(
            "Dry run: would publish the workspace to {remote} on branch {} as {} <{}>",
            commit.branch, commit.author_name, commit.author_email
        ));
        outputs(
            &remote,
            &commit.branch,
            "0000000000000000000000000000000000000000",
        )
    }
}

/// Backstage's publish outputs.
fn outputs(remote: &str, branch: &str, commit: &str) -> Value {
    json!({
        "remoteUrl": remote,
        "repoContentsUrl": format!("{remote}/blob/{branch}"),
        "commitHash": commit,
    })
}

/// The commit author: the input, else the user's profile, else their ref.
fn author(context: &ActionContext<'_>, input: &Input) -> (String, String) {
    let user = context.user.as_ref();
    let profile = |field: &str| {
        user.and_then(|user| user.entity.as_ref())
            .and_then(|entity| entity.pointer(&format!("/spec/profile/{field}")))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let reference = user.map(|user| user.entity_ref.clone());
    let short_name = reference
        .as_deref()
        .map(|reference| {
            reference
                .rsplit(['/', ':'])
                .next()
                .unwrap_or(reference)
                .to_string()
        })
        .unwrap_or_else(|| "pave".into());
    let name = input
        .git_author_name
        .clone()
        .or_else(|| profile("displayName"))
        .or(reference.map(|_| short_name.clone()))
        .unwrap_or_else(|| "Pave".into());
    let email = input
        .git_author_email
        .clone()
        .or_else(|| profile("email"))
        .unwrap_or_else(|| format!("{short_name}@users.pave.invalid"));
    (name, email)
}

#[cfg(test)]
mod tests;

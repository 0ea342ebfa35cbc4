//! What a repository host tells Pave: pull requests opened, updated or
//! closed, and pushes. Parses GitHub's and GitLab's webhook payloads into
//! one [`RepositoryEvent`]; verifying that a delivery is genuine is the
//! HTTP edge's job (it holds the secrets).

use serde_json::Value;

/// A pull request (GitHub) or merge request (GitLab).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullRequestEvent {
    /// Every URL the repository is known by (clone, web, ssh).
    pub repository: Vec<String>,
    pub number: u64,
    /// The source branch.
    pub branch: String,
    pub head_commit: String,
    /// The branch it merges into.
    pub base_branch: String,
}

/// What happened, as far as previews care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RepositoryEvent {
    /// Opened, reopened or pushed to: create or update its preview.
    PullRequestUpdated(PullRequestEvent),
    /// Closed or merged: tear its preview down.
    PullRequestClosed(PullRequestEvent),
    /// A branch moved to a new commit.
    Push {
        repository: Vec<String>,
        branch: String,
        head_commit: String,
    },
    /// Anything else (a ping, a label change, a tag push): acknowledged, ignored.
    Ignored(String),
}

/// Why a payload could not be read; names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the {provider} payload is missing `{field}` or it has the wrong type")]
pub struct PayloadError {
    pub provider: &'static str,
    pub field: &'static str,
}

fn text<'a>(
    payload: &'a Value,
    pointer: &'static str,
    provider: &'static str,
) -> Result<&'a str, PayloadError> {
    payload
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or(PayloadError {
            provider,
            field: pointer,
        })
}

fn urls(payload: &Value, pointers: &[&str]) -> Vec<String> {
    pointers
        .iter()
        .filter_map(|pointer| payload.pointer(pointer).and_then(Value::as_str))
        .filter(|url| !url.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads a GitHub delivery (`X-GitHub-Event` names the event).
pub fn github(event: &str, payload: &Value) -> Result<RepositoryEvent, PayloadError> {
    const P: &str = "GitHub";
    let repository = urls(
        payload,
        &[
            "/repository/clone_url",
            "/repository/html_url",
            "/repository/ssh_url",
            "/repository/git_url",
        ],
    );
    match event {
        "pull_request" => {
            let action = text(payload, "/action", P)?;
            let pull = PullRequestEvent {
                repository,
                number: payload
                    .pointer("/pull_request/number")
                    .or_else(|| payload.pointer("/number"))
                    .and_then(Value::as_u64)
                    .ok_or(PayloadError {
                        provider: P,
                        field: "/pull_request/number",
                    })?,
                branch: text(payload, "/pull_request/head/ref", P)?.to_string(),
                head_commit: text(payload, "/pull_request/head/sha", P)?.to_string(),
                base_branch: text(payload, "/pull_request/base/ref", P)?.to_string(),
            };
            Ok(match action {
                "opened" | "reopened" | "synchronize" => RepositoryEvent::PullRequestUpdated(pull),
                "closed" => RepositoryEvent::PullRequestClosed(pull),
                other => RepositoryEvent::Ignored(format!("pull_request action `{other}`")),
            })
        }
        "push" => push(payload, P, "/after", repository),
        other => Ok(RepositoryEvent::Ignored(format!("event `{other}`"))),
    }
}

/// Reads a GitLab delivery (`X-Gitlab-Event` names the event).
pub fn gitlab(event: &str, payload: &Value) -> Result<RepositoryEvent, PayloadError> {
    const P: &str = "GitLab";
    let repository = urls(
        payload,
        &[
            "/project/git_http_url",
            "/project/web_url",
            "/project/git_ssh_url",
            "/repository/git_http_url",
        ],
    );
    match event {
        "Merge Request Hook" => {
            let action = text(payload, "/object_attributes/action", P).unwrap_or("update");
            let pull = PullRequestEvent {
                repository,
                number: payload
                    .pointer("/object_attributes/iid")
                    .and_then(Value::as_u64)
                    .ok_or(PayloadError {
                        provider: P,
                        field: "/object_attributes/iid",
                    })?,
                branch: text(payload, "/object_attributes/source_branch", P)?.to_string(),
                head_commit: text(payload, "/object_attributes/last_commit/id", P)?.to_string(),
                base_branch: text(payload, "/object_attributes/target_branch", P)?.to_string(),
            };
            Ok(match action {
                "open" | "reopen" | "update" => RepositoryEvent::PullRequestUpdated(pull),
                "close" | "merge" => RepositoryEvent::PullRequestClosed(pull),
                other => RepositoryEvent::Ignored(format!("merge request action `{other}`")),
            })
        }
        "Push Hook" => push(payload, P, "/after", repository),
        other => Ok(RepositoryEvent::Ignored(format!("event `{other}`"))),
    }
}

fn push(
    payload: &Value,
    provider: &'static str,
    after: &'static str,
    repository: Vec<String>,
) -> Result<RepositoryEvent, PayloadError> {
    let reference = text(payload, "/ref", provider)?;
    let head_commit = text(payload, after, provider)?;
    let Some(branch) = reference.strip_prefix("refs/heads/") else {
        return Ok(RepositoryEvent::Ignored(format!("push to `{reference}`")));
    };
    if head_commit.bytes().all(|byte| byte == b'0') {
        return Ok(RepositoryEvent::Ignored(format!(
            "branch `{branch}` deleted"
        )));
    }
    Ok(RepositoryEvent::Push {
        repository,
        branch: branch.to_string(),
        head_commit: head_commit.to_string(),
    })
}

/// A repository URL reduced to compare two spellings of one repository:
/// no scheme or user, lower-case host, no `.git`, no trailing `/`;
/// `git@host:o/r` and `https://host/o/r.git` become `host/o/r`.
pub fn normalize_repository(url: &str) -> String {
    let mut rest = url.trim();
    for prefix in ["https://", "http://", "ssh://", "git://", "file://"] {
        if let Some(stripped) = rest.strip_prefix(prefix) {
            rest = stripped;
            break;
        }
    }
    let rest = match rest.split_once('@') {
        Some((user, after)) if !user.contains('/') => after,
        _ => rest,
    };
    // scp-like `host:owner/repo`
    let rest = match rest.split_once(':') {
        Some((host, path))
            if !host.contains('/')
                && !path.starts_with('/')
                && !path.chars().next().is_some_and(|c| c.is_ascii_digit()) =>
        {
            format!("{host}/{path}")
        }
        _ => rest.to_string(),
    };
    let rest = rest.trim_end_matches('/');
    let rest = rest.strip_suffix(".git").unwrap_or(rest);
    match rest.split_once('/') {
        Some((host, path)) => format!("{}/{path}", host.to_ascii_lowercase()),
        None => rest.to_ascii_lowercase(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn github_pull_requests_and_pushes() {
        let payload = json!({
            "action": "synchronize",
            "number": 7,
            "pull_request": {"number": 7, "head": {"ref": "feature/x", "sha": "abc1234"}, "base": {"ref": "main"}},
            "repository": {"clone_url": "https://github.com/o/r.git", "html_url": "https://github.com/o/r", "ssh_url": "git@github.com:o/r.git"}
        });
        let RepositoryEvent::PullRequestUpdated(pull) =
            github("pull_request", &payload).expect("event")
        else {
            panic!("not an update");
        };
        assert_eq!(
            (pull.number, pull.branch.as_str(), pull.head_commit.as_str()),
            (7, "feature/x", "abc1234")
        );
        assert_eq!(pull.repository.len(), 3);
        let mut closed = payload.clone();
        closed["action"] = json!("closed");
        assert!(matches!(
            github("pull_request", &closed),
            Ok(RepositoryEvent::PullRequestClosed(_))
        ));
        let mut labeled = payload.clone();
        labeled["action"] = json!("labeled");
        assert!(matches!(
            github("pull_request", &labeled),
            Ok(RepositoryEvent::Ignored(_))
        ));
        let mut broken = payload.clone();
        broken["pull_request"]["head"] = json!({});
        let error = github("pull_request", &broken).expect_err("broken");
        assert!(
            error.to_string().contains("/pull_request/head/ref"),
            "{error}"
        );

        let push = json!({"ref": "refs/heads/main", "after": "def5678", "repository": {"clone_url": "https://github.com/o/r.git"}});
        assert_eq!(
            github("push", &push).expect("push"),
            RepositoryEvent::Push {
                repository: vec!["https://github.com/o/r.git".into()],
                branch: "main".into(),
                head_commit: "def5678".into()
            }
        );
        let tag = json!({"ref": "refs/tags/v1", "after": "def5678"});
        assert!(matches!(
            github("push", &tag),
            Ok(RepositoryEvent::Ignored(_))
        ));
        assert!(matches!(
            github("ping", &json!({})),
            Ok(RepositoryEvent::Ignored(_))
        ));
    }

    #[test]
    fn gitlab_merge_requests() {
        let payload = json!({
            "object_kind": "merge_request",
            "project": {"git_http_url": "https://gitlab.com/g/r.git", "web_url": "https://gitlab.com/g/r"},
            "object_attributes": {"iid": 3, "action": "open", "source_branch": "fix", "target_branch": "main", "last_commit": {"id": "0a1b2c3"}}
        });
        let RepositoryEvent::PullRequestUpdated(pull) =
            gitlab("Merge Request Hook", &payload).expect("event")
        else {
            panic!("not an update");
        };
        assert_eq!((pull.number, pull.branch.as_str()), (3, "fix"));
        let mut merged = payload.clone();
        merged["object_attributes"]["action"] = json!("merge");
        assert!(matches!(
            gitlab("Merge Request Hook", &merged),
            Ok(RepositoryEvent::PullRequestClosed(_))
        ));
    }

    #[test]
    fn repository_urls_compare_across_spellings() {
        let same = [
            "https://github.com/o/r.git",
            "https://GitHub.com/o/r/",
            "git@github.com:o/r.git",
            "ssh://git@github.com/o/r",
        ];
        for url in same {
            assert_eq!(normalize_repository(url), "github.com/o/r", "{url}");
        }
        assert_eq!(
            normalize_repository("file:///srv/git/team-a/orders.git"),
            "/srv/git/team-a/orders"
        );
    }
}

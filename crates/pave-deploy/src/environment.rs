//! Environments: their model, the rules for names and previews, and their
//! rows in the database.

use pave_store::{RowExt, Store, StoreError, format_time, now};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The kinds of environment. Policies see it as the environment's `type`
/// (production needs an admin by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvironmentType {
    Development,
    Staging,
    Production,
    Preview,
}

impl EnvironmentType {
    pub fn as_str(self) -> &'static str {
        match self {
            EnvironmentType::Development => "development",
            EnvironmentType::Staging => "staging",
            EnvironmentType::Production => "production",
            EnvironmentType::Preview => "preview",
        }
    }

    /// Reads a type name; the error lists the valid ones.
    pub fn parse(text: &str) -> Result<EnvironmentType, EnvironmentError> {
        match text {
            "development" => Ok(EnvironmentType::Development),
            "staging" => Ok(EnvironmentType::Staging),
            "production" => Ok(EnvironmentType::Production),
            "preview" => Ok(EnvironmentType::Preview),
            other => Err(EnvironmentError::Input(format!(
                "`{other}` is not an environment type; use development, staging, production or preview"
            ))),
        }
    }
}

/// Where a preview environment's code comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PreviewSource {
    /// The repository, as the catalog's source location or a clone URL.
    pub repository: String,
    /// The pull request's branch.
    pub branch: String,
    /// The pull request number.
    pub pull_request: u64,
    /// The commit the preview runs.
    pub head_commit: String,
}

/// One environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Environment {
    pub name: String,
    #[serde(rename = "type")]
    pub environment_type: EnvironmentType,
    pub description: String,
    /// A preview's base environment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Values `environment` resources read.
    pub config: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<PreviewSource>,
    /// Pushes to this branch redeploy the environment's components.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub follows_branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    /// `active`, or `deleting` while its teardown runs.
    pub status: String,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
}

impl Environment {
    /// True once a preview's expiry has passed.
    pub fn is_expired(&self, at: &str) -> bool {
        self.expires_at
            .as_deref()
            .is_some_and(|expires| expires <= at)
    }
}

/// A request to create an environment.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewEnvironment {
    pub name: String,
    #[serde(rename = "type")]
    pub environment_type: Option<EnvironmentType>,
    #[serde(default)]
    pub description: String,
    pub parent: Option<String>,
    #[serde(default)]
    pub config: Map<String, Value>,
    pub source: Option<PreviewSource>,
    pub follows_branch: Option<String>,
    /// For previews: how long it lives, in seconds (default 3 days).
    pub ttl_seconds: Option<u64>,
}

/// The default lifetime of a preview environment.
pub const DEFAULT_PREVIEW_TTL_SECONDS: u64 = 3 * 24 * 3600;

/// Why an environment request failed; each says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EnvironmentError {
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for EnvironmentError {
    fn from(error: sqlx::Error) -> EnvironmentError {
        EnvironmentError::Store(error.into())
    }
}

/// Environment names become host names (`<workload>--<environment>.localhost`)
/// and directory names: a DNS label without `--`, at most 40 characters.
pub fn validate_name(name: &str) -> Result<(), EnvironmentError> {
    let problem = if name.is_empty() {
        Some("it is empty")
    } else if name.len() > 40 {
        Some("it is longer than 40 characters")
    } else if !name
        .bytes()
        .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    {
        Some("only lower-case letters, digits and '-' are allowed")
    } else if name.starts_with('-') || name.ends_with('-') {
        Some("it must start and end with a letter or digit")
    } else if name.contains("--") {
        Some("'--' separates the workload from the environment in host names")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(EnvironmentError::Input(format!(
            "environment name `{name}`: {problem}; use e.g. `dev`, `staging` or `pr-42`"
        ))),
        None => Ok(()),
    }
}

/// Checks a request and fills in defaults: the type (preview when a source
/// is given, else development) and a preview's expiry.
fn check(request: &NewEnvironment) -> Result<EnvironmentType, EnvironmentError> {
    validate_name(&request.name)?;
    let environment_type = match (request.environment_type, &request.source) {
        (Some(environment_type), _) => environment_type,
        (None, Some(_)) => EnvironmentType::Preview,
        (None, None) => EnvironmentType::Development,
    };
    if environment_type == EnvironmentType::Preview {
        if request.parent.is_none() {
            return Err(EnvironmentError::Input(
                "a preview environment needs a `parent`: the environment whose config it starts from"
                    .into(),
            ));
        }
        if request.source.is_none() {
            return Err(EnvironmentError::Input(
                "a preview environment needs a `source`: {repository, branch, pullRequest, headCommit}"
                    .into(),
            ));
        }
    } else if request.source.is_some() || request.ttl_seconds.is_some() {
        return Err(EnvironmentError::Input(format!(
            "`source` and `ttlSeconds` are for preview environments, not {}",
            environment_type.as_str()
        )));
    }
    if let Some(parent) = &request.parent {
        validate_name(parent)?;
        if parent == &request.name {
            return Err(EnvironmentError::Input(
                "an environment cannot be its own parent".into(),
            ));
        }
    }
    if let Some(source) = &request.source
        && (source.head_commit.len() < 7
            || !source
                .head_commit
                .bytes()
                .all(|byte| byte.is_ascii_hexdigit()))
    {
        return Err(EnvironmentError::Input(format!(
            "source.headCommit `{}` is not a commit id (7 to 64 hexadecimal digits)",
            source.head_commit
        )));
    }
    Ok(environment_type)
}

const COLUMNS: &str = "name, type, description, parent, config, source, follows_branch, expires_at, status, created_by, created_at, updated_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Environment, EnvironmentError> {
    let text = |name: &str| row.try_get::<String, _>(name);
    let optional = |name: &str| row.try_get::<Option<String>, _>(name);
    Ok(Environment {
        name: text("name")?,
        environment_type: EnvironmentType::parse(&text("type")?)?,
        description: text("description")?,
        parent: optional("parent")?,
        config: serde_json::from_str(&text("config")?).unwrap_or_default(),
        source: optional("source")?.and_then(|source| serde_json::from_str(&source).ok()),
        follows_branch: optional("follows_branch")?,
        expires_at: optional("expires_at")?,
        status: text("status")?,
        created_by: text("created_by")?,
        created_at: text("created_at")?,
        updated_at: text("updated_at")?,
    })
}

/// Environments in the database.
#[derive(Debug, Clone)]
pub struct Environments {
    store: Store,
}

impl Environments {
    pub fn new(store: Store) -> Environments {
        Environments { store }
    }

    /// Creates an environment; a preview gets its parent's config under its
    /// own and an expiry.
    pub async fn create(
        &self,
        request: NewEnvironment,
        created_by: &str,
    ) -> Result<Environment, EnvironmentError> {
        let environment_type = check(&request)?;
        let mut config = Map::new();
        if let Some(parent) = &request.parent {
            let parent = self.get(parent).await.map_err(|error| match error {
                EnvironmentError::NotFound(_) => EnvironmentError::Input(format!(
                    "the parent environment `{parent}` does not exist; create it first"
                )),
                other => other,
            })?;
            config = parent.config;
        }
        config.extend(request.config.clone());
        let current = now();
        let expires_at = (environment_type == EnvironmentType::Preview).then(|| {
            let seconds = request.ttl_seconds.unwrap_or(DEFAULT_PREVIEW_TTL_SECONDS);
            let lifetime = jiff::SignedDuration::from_secs(seconds.min(365 * 24 * 3600) as i64);
            format_time(current.checked_add(lifetime).unwrap_or(current))
        });
        let time = format_time(current);
        let inserted = pave_store::query(
            "INSERT INTO environments (name, type, description, parent, config, source, follows_branch, expires_at, status, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $10) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&request.name)
        .bind(environment_type.as_str())
        .bind(&request.description)
        .bind(&request.parent)
        .bind(Value::Object(config).to_string())
        .bind(request.source.as_ref().map(json_text))
        .bind(&request.follows_branch)
        .bind(&expires_at)
        .bind(created_by)
        .bind(&time)
        .execute(self.store.pool())
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(EnvironmentError::Conflict(format!(
                "environment `{}` already exists; pick another name or delete it first",
                request.name
            )));
        }
        self.get(&request.name).await
    }

    pub async fn get(&self, name: &str) -> Result<Environment, EnvironmentError> {
        let sql = format!("SELECT {COLUMNS} FROM environments WHERE name = $1");
        let row = pave_store::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| {
                EnvironmentError::NotFound(format!("there is no environment `{name}`"))
            })?;
        from_row(&row)
    }

    /// Every environment, by name.
    pub async fn list(&self) -> Result<Vec<Environment>, EnvironmentError> {
        let sql = format!("SELECT {COLUMNS} FROM environments ORDER BY name");
        let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Previews whose expiry has passed.
    pub async fn expired(&self) -> Result<Vec<Environment>, EnvironmentError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM environments WHERE expires_at IS NOT NULL AND expires_at <= $1 ORDER BY name"
        );
        let rows = pave_store::query(sqlx::AssertSqlSafe(sql))
            .bind(format_time(now()))
            .fetch_all(self.store.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    /// Marks an environment as being deleted (its teardown is running).
    pub async fn mark_deleting(&self, name: &str) -> Result<(), EnvironmentError> {
        pave_store::query(
            "UPDATE environments SET status = 'deleting', updated_at = $1 WHERE name = $2",
        )
        .bind(format_time(now()))
        .bind(name)
        .execute(self.store.pool())
        .await?;
        Ok(())
    }

    /// Removes the row (after the teardown); deleting a missing one is fine.
    pub async fn remove(&self, name: &str) -> Result<(), EnvironmentError> {
        pave_store::query("DELETE FROM environments WHERE name = $1")
            .bind(name)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }

    /// Environments that are children of `name` (previews based on it).
    pub async fn children(&self, name: &str) -> Result<Vec<String>, EnvironmentError> {
        let names: Vec<String> = pave_store::query_scalar(
            "SELECT name FROM environments WHERE parent = $1 ORDER BY name",
        )
        .bind(name)
        .fetch_all(self.store.pool())
        .await?;
        Ok(names)
    }

    /// Moves a preview to a new head commit and pushes its expiry out again.
    pub async fn update_source(
        &self,
        name: &str,
        source: &PreviewSource,
        ttl_seconds: Option<u64>,
    ) -> Result<Environment, EnvironmentError> {
        let current = now();
        let seconds = ttl_seconds.unwrap_or(DEFAULT_PREVIEW_TTL_SECONDS);
        let lifetime = jiff::SignedDuration::from_secs(seconds.min(365 * 24 * 3600) as i64);
        let expires_at = format_time(current.checked_add(lifetime).unwrap_or(current));
        pave_store::query(
            "UPDATE environments SET source = $1, expires_at = $2, updated_at = $3 WHERE name = $4",
        )
        .bind(json_text(source))
        .bind(expires_at)
        .bind(format_time(current))
        .bind(name)
        .execute(self.store.pool())
        .await?;
        self.get(name).await
    }
}

fn json_text(value: &impl Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "null".into())
}

#[cfg(test)]
mod tests;

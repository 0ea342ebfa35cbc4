//! Server configuration: a YAML file (`pave serve --config pave.yaml`), then
//! `PAVE_*` environment variables over it, then command-line flags over both.
//!
//! Unknown keys and wrong types stop start-up with the file, line and
//! column; a bad environment variable is named with its value.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines.
    Text,
}

/// The settings file, as written. Every key is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<DatabaseSection>,
    log: Option<LogSection>,
    server: Option<ServerSection>,
    catalog: Option<CatalogSection>,
    scaffolder: Option<ScaffolderSection>,
    router: Option<RouterSection>,
    deploy: Option<DeploySection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RouterSection {
    listen: Option<SocketAddr>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeploySection {
    ready_timeout_seconds: Option<u64>,
    webhooks: Option<WebhooksSection>,
    previews: Option<PreviewsSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebhooksSection {
    github_secret: Option<String>,
    gitlab_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PreviewsSection {
    base_environment: Option<String>,
    ttl_seconds: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ScaffolderSection {
    /// Directories under which `publish:git` may push to `file://` remotes.
    #[serde(default)]
    file_push_roots: Vec<PathBuf>,
    /// Register the golden paths shipped with Pave (default true).
    golden_paths: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CatalogSection {
    #[serde(default)]
    locations: Vec<CatalogLocation>,
    rules: Option<Vec<CatalogRule>>,
    orphan_strategy: Option<OrphanStrategy>,
    refresh_interval_seconds: Option<u64>,
}

/// A location the catalog always reads (`catalog.locations`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogLocation {
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogRule {
    allow: Vec<String>,
}

/// What happens to entities that vanish from their location.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    Keep,
    #[default]
    Delete,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DatabaseSection {
    url: Option<String>,
    max_connections: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LogSection {
    format: Option<LogFormat>,
    level: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ServerSection {
    body_limit_bytes: Option<usize>,
    policy_refresh_seconds: Option<u64>,
}

/// Everything a server needs to start, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Absent means SQLite in the data directory.
    pub database_url: Option<String>,
    pub max_connections: u32,
    pub log_format: LogFormat,
    pub log_level: String,
    pub body_limit_bytes: usize,
    pub policy_refresh: Duration,
    /// `catalog.locations`, with file targets made absolute.
    pub catalog_locations: Vec<CatalogLocation>,
    /// The kinds `catalog.rules` allows; None allows every kind.
    pub catalog_allowed_kinds: Option<Vec<String>>,
    pub catalog_orphan_strategy: OrphanStrategy,
    pub catalog_refresh: Duration,
    /// `scaffolder.filePushRoots`, made absolute.
    pub scaffolder_file_push_roots: Vec<PathBuf>,
    /// Whether the golden paths shipped with Pave are registered.
    pub golden_paths: bool,
    /// Whether the first start seeds the demo service (`pave up` only).
    pub demo: bool,
    /// Where Pave's router listens (`router.listen`).
    pub router_listen: SocketAddr,
    /// How long a new version may take to become ready.
    pub deploy_ready_timeout: Duration,
    pub webhook_github_secret: Option<String>,
    pub webhook_gitlab_token: Option<String>,
    /// The environment previews start from.
    pub preview_base: String,
    pub preview_ttl_seconds: u64,
}

/// What the command line says, which wins over file and environment.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub log_format: Option<LogFormat>,
    /// Extra catalog locations (`pave up --location`), relative to the working directory.
    pub catalog_locations: Vec<CatalogLocation>,
    /// `pave up --no-demo`: no demo service on the first start.
    pub no_demo: bool,
    /// True for `pave up` (the embedded default), false for `serve`.
    pub embedded: bool,
    /// `pave up --router-listen`.
    pub router_listen: Option<SocketAddr>,
}

/// Why configuration could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {name}=`{value}`: {message}")]
    Environment {
        name: &'static str,
        value: String,
        message: String,
    },
    #[error("{key}: {message}")]
    Invalid { key: String, message: String },
}

/// The environment variables Pave reads, with the key each one sets.
pub const ENVIRONMENT: &[(&str, &str)] = &[
    ("PAVE_LISTEN", "listen"),
    ("PAVE_DATA_DIR", "dataDir"),
    ("PAVE_DATABASE_URL", "database.url"),
    ("PAVE_DATABASE_MAX_CONNECTIONS", "database.maxConnections"),
    ("PAVE_LOG_FORMAT", "log.format"),
    ("PAVE_LOG_LEVEL", "log.level"),
    ("PAVE_SERVER_BODY_LIMIT_BYTES", "server.bodyLimitBytes"),
    (
        "PAVE_SERVER_POLICY_REFRESH_SECONDS",
        "server.policyRefreshSeconds",
    ),
    (
        "PAVE_CATALOG_REFRESH_INTERVAL_SECONDS",
        "catalog.refreshIntervalSeconds",
    ),
    ("PAVE_ROUTER_LISTEN", "router.listen"),
    (
        "PAVE_DEPLOY_READY_TIMEOUT_SECONDS",
        "deploy.readyTimeoutSeconds",
    ),
    ("PAVE_WEBHOOK_GITHUB_SECRET", "deploy.webhooks.githubSecret"),
    ("PAVE_WEBHOOK_GITLAB_TOKEN", "deploy.webhooks.gitlabToken"),
    ("PAVE_DEMO", "(pave up) false: no demo service"),
];

fn parse_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let display = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: display.clone(),
        source,
    })?;
    let parsed: Option<FileConfig> =
        serde_saphyr::from_str(&text).map_err(|error| ConfigError::Parse {
            path: display,
            message: first_line(&error.to_string()),
        })?;
    Ok(parsed.unwrap_or_default())
}

/// serde-saphyr's messages start with `error: line L column C: ...` and go on
/// with a source snippet; the CLI prints one line.
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message);
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

fn from_environment<T: std::str::FromStr>(
    environment: &BTreeMap<String, String>,
    name: &'static str,
    expected: &str,
) -> Result<Option<T>, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match environment.get(name) {
        None => Ok(None),
        Some(value) => value
            .parse::<T>()
            .map(Some)
            .map_err(|error| ConfigError::Environment {
                name,
                value: value.clone(),
                message: format!("expected {expected}: {error}"),
            }),
    }
}

impl Config {
    /// Resolves configuration: defaults, then the file, then the
    /// environment, then the command line.
    pub fn resolve(
        file: Option<&Path>,
        environment: &BTreeMap<String, String>,
        overrides: Overrides,
        default_log_format: LogFormat,
    ) -> Result<Config, ConfigError> {
        // Relative file targets in the config are relative to the config file.
        let file_directory = match file {
            Some(path) => std::path::absolute(path)
                .ok()
                .and_then(|path| path.parent().map(Path::to_path_buf))
                .unwrap_or_default(),
            None => std::env::current_dir().unwrap_or_default(),
        };
        let file = match file {
            Some(path) => parse_file(path)?,
            None => FileConfig::default(),
        };
        let database = file.database.unwrap_or_default();
        let log = file.log.unwrap_or_default();
        let server = file.server.unwrap_or_default();
        let catalog = file.catalog.unwrap_or_default();
        let scaffolder = file.scaffolder.unwrap_or_default();
        let router = file.router.unwrap_or_default();
        let deploy = file.deploy.unwrap_or_default();
        let webhooks = deploy.webhooks.unwrap_or_default();
        let previews = deploy.previews.unwrap_or_default();
        let base = file_directory.clone();
        let golden_paths = scaffolder.golden_paths.unwrap_or(true);
        // The demo is for `pave up` on a fresh machine; servers opt out with
        // --no-demo or PAVE_DEMO=false (tests do).
        let demo = overrides.embedded
            && !overrides.no_demo
            && golden_paths
            && environment
                .get("PAVE_DEMO")
                .is_none_or(|value| value != "false");
        let scaffolder_file_push_roots = scaffolder
            .file_push_roots
            .into_iter()
            .map(|root| {
                if root.is_absolute() {
                    root
                } else {
                    base.join(root)
                }
            })
            .collect();
        let catalog_locations = catalog
            .locations
            .into_iter()
            .chain(overrides.catalog_locations.clone())
            .map(|location| absolute_location(location, &base))
            .collect::<Result<Vec<_>, _>>()?;
        let catalog_allowed_kinds = catalog.rules.map(|rules| {
            rules
                .into_iter()
                .flat_map(|rule| rule.allow)
                .collect::<Vec<_>>()
        });

        let log_format = match environment.get("PAVE_LOG_FORMAT") {
            Some(value) => Some(match value.as_str() {
                "json" => LogFormat::Json,
                "text" => LogFormat::Text,
                _ => {
                    return Err(ConfigError::Environment {
                        name: "PAVE_LOG_FORMAT",
                        value: value.clone(),
                        message: "expected `json` or `text`".into(),
                    });
                }
            }),
            None => log.format,
        };
        let database_url = environment
            .get("PAVE_DATABASE_URL")
            .cloned()
            .or(database.url)
            .filter(|url| !url.trim().is_empty());
        if let Some(url) = &database_url {
            pave_store::Backend::from_url(url).map_err(|error| ConfigError::Invalid {
                key: "database.url".into(),
                message: error.to_string(),
            })?;
        }
        let config = Config {
            listen: overrides
                .listen
                .or(from_environment(
                    environment,
                    "PAVE_LISTEN",
                    "ADDR:PORT such as 127.0.0.1:7007",
                )?)
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7007))),
            data_dir: overrides
                .data_dir
                .or(environment.get("PAVE_DATA_DIR").map(PathBuf::from))
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from(".pave")),
            database_url,
            max_connections: from_environment(
                environment,
                "PAVE_DATABASE_MAX_CONNECTIONS",
                "a whole number",
            )?
            .or(database.max_connections)
            .unwrap_or(8),
            log_format: overrides
                .log_format
                .or(log_format)
                .unwrap_or(default_log_format),
            log_level: environment
                .get("PAVE_LOG_LEVEL")
                .cloned()
                .or(log.level)
                .unwrap_or_else(|| "info".into()),
            body_limit_bytes: from_environment(
                environment,
                "PAVE_SERVER_BODY_LIMIT_BYTES",
                "a number of bytes",
            )?
            .or(server.body_limit_bytes)
            .unwrap_or(2 * 1024 * 1024),
            policy_refresh: Duration::from_secs(
                from_environment(
                    environment,
                    "PAVE_SERVER_POLICY_REFRESH_SECONDS",
                    "a number of seconds",
                )?
                .or(server.policy_refresh_seconds)
                .unwrap_or(10),
            ),
            catalog_locations,
            catalog_allowed_kinds,
            catalog_orphan_strategy: catalog.orphan_strategy.unwrap_or_default(),
            catalog_refresh: Duration::from_secs(
                from_environment(
                    environment,
                    "PAVE_CATALOG_REFRESH_INTERVAL_SECONDS",
                    "a number of seconds",
                )?
                .or(catalog.refresh_interval_seconds)
                .unwrap_or(120),
            ),
            scaffolder_file_push_roots,
            golden_paths,
            demo,
            router_listen: overrides
                .router_listen
                .or(from_environment(
                    environment,
                    "PAVE_ROUTER_LISTEN",
                    "an address such as 127.0.0.1:7080",
                )?)
                .or(router.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 7080))),
            deploy_ready_timeout: Duration::from_secs(
                from_environment(
                    environment,
                    "PAVE_DEPLOY_READY_TIMEOUT_SECONDS",
                    "a number of seconds",
                )?
                .or(deploy.ready_timeout_seconds)
                .unwrap_or(60)
                .max(1),
            ),
            webhook_github_secret: environment
                .get("PAVE_WEBHOOK_GITHUB_SECRET")
                .cloned()
                .or(webhooks.github_secret)
                .filter(|secret| !secret.is_empty()),
            webhook_gitlab_token: environment
                .get("PAVE_WEBHOOK_GITLAB_TOKEN")
                .cloned()
                .or(webhooks.gitlab_token)
                .filter(|token| !token.is_empty()),
            preview_base: previews.base_environment.unwrap_or_else(|| "dev".into()),
            preview_ttl_seconds: previews.ttl_seconds.unwrap_or(3 * 24 * 3600),
        };
        if config.catalog_refresh.is_zero() {
            return Err(ConfigError::Invalid {
                key: "catalog.refreshIntervalSeconds".into(),
                message: "must be at least 1".into(),
            });
        }
        if config.max_connections == 0 {
            return Err(ConfigError::Invalid {
                key: "database.maxConnections".into(),
                message: "must be at least 1".into(),
            });
        }
        if config.body_limit_bytes < 1024 {
            return Err(ConfigError::Invalid {
                key: "server.bodyLimitBytes".into(),
                message: format!(
                    "{} is too small; use at least 1024",
                    config.body_limit_bytes
                ),
            });
        }
        if config.policy_refresh.is_zero() {
            return Err(ConfigError::Invalid {
                key: "server.policyRefreshSeconds".into(),
                message: "must be at least 1".into(),
            });
        }
        tracing_subscriber::EnvFilter::try_new(&config.log_level).map_err(|error| {
            ConfigError::Invalid {
                key: "log.level".into(),
                message: format!(
                    "`{}` is not a log filter such as info or pave=debug: {error}",
                    config.log_level
                ),
            }
        })?;
        Ok(config)
    }

    /// The database URL to use: the configured one, or SQLite in the data dir.
    pub fn database_url(&self, data_dir: &Path) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}?mode=rwc", data_dir.join("pave.db").display()),
        }
    }
}

fn absolute_location(
    location: CatalogLocation,
    base: &Path,
) -> Result<CatalogLocation, ConfigError> {
    match location.kind.as_str() {
        "file" => {
            let path = Path::new(&location.target);
            let target = if path.is_absolute() {
                path.to_path_buf()
            } else {
                base.join(path)
            };
            Ok(CatalogLocation {
                kind: location.kind,
                target: target.display().to_string(),
            })
        }
        "url" => Ok(location),
        other => Err(ConfigError::Invalid {
            key: "catalog.locations".into(),
            message: format!(
                "type `{other}` of `{}` is not a location type; use file or url",
                location.target
            ),
        }),
    }
}

/// The process environment, restricted to Pave's variables.
pub fn environment() -> BTreeMap<String, String> {
    std::env::vars()
        .filter(|(name, _)| ENVIRONMENT.iter().any(|(known, _)| known == name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(text: &str) -> (tempfile::TempDir, PathBuf) {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("pave.yaml");
        std::fs::write(&path, text).unwrap();
        (directory, path)
    }

    fn resolve(text: &str, environment: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let (_directory, path) = write(text);
        let environment = environment
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::resolve(
            Some(&path),
            &environment,
            Overrides::default(),
            LogFormat::Json,
        )
    }

    #[test]
    fn a_full_file_is_read() {
        let config = resolve(
            "listen: 0.0.0.0:8080\ndataDir: /var/lib/pave\ndatabase:\n  url: postgres://pave@db/pave\n  maxConnections: 20\nlog:\n  format: text\n  level: debug\nserver:\n  bodyLimitBytes: 4096\n  policyRefreshSeconds: 3\ncatalog:\n  locations:\n    - type: file\n      target: ./catalog/all.yaml\n    - type: url\n      target: https://example.com/org/repo/blob/main/catalog-info.yaml\n  rules:\n    - allow: [Component, API]\n  orphanStrategy: keep\n  refreshIntervalSeconds: 30\n",
            &[],
        )
        .unwrap();
        assert_eq!(config.listen.to_string(), "0.0.0.0:8080");
        assert_eq!(
            config.database_url.as_deref(),
            Some("postgres://pave@db/pave")
        );
        assert_eq!(config.max_connections, 20);
        assert_eq!(config.log_format, LogFormat::Text);
        assert_eq!(config.body_limit_bytes, 4096);
        assert_eq!(config.policy_refresh, Duration::from_secs(3));
        assert!(
            config.catalog_locations[0]
                .target
                .ends_with("/catalog/all.yaml")
        );
        assert!(Path::new(&config.catalog_locations[0].target).is_absolute());
        assert_eq!(config.catalog_locations[1].kind, "url");
        assert_eq!(
            config.catalog_allowed_kinds,
            Some(vec!["Component".to_string(), "API".to_string()])
        );
        assert_eq!(config.catalog_orphan_strategy, OrphanStrategy::Keep);
        assert_eq!(config.catalog_refresh, Duration::from_secs(30));
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        let config = resolve(
            "listen: 127.0.0.1:1000\ndatabase:\n  url: sqlite://a.db\n",
            &[
                ("PAVE_LISTEN", "127.0.0.1:2000"),
                ("PAVE_DATABASE_URL", "postgres://x@h/d"),
                ("PAVE_LOG_FORMAT", "text"),
            ],
        )
        .unwrap();
        assert_eq!(config.listen.port(), 2000);
        assert_eq!(config.database_url.as_deref(), Some("postgres://x@h/d"));
        assert_eq!(config.log_format, LogFormat::Text);
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_file_line_and_column() {
        let error = resolve("listen: 127.0.0.1:1\ndatabase:\n  ulr: x\n", &[])
            .unwrap_err()
            .to_string();
        assert!(error.ends_with("pave.yaml: line 3 column 3: unknown field `ulr`, expected one of url, maxConnections"), "{error}");
        let error = resolve("database:\n  maxConnections: many\n", &[])
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("line 2 column 19") && error.contains("invalid u32"),
            "{error}"
        );
        let error = resolve("listen: [1, 2]\n", &[]).unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
        assert!(!error.contains('\n'), "one line: {error}");
    }

    #[test]
    fn bad_settings_name_their_key() {
        let error = resolve("", &[("PAVE_LISTEN", "localhost")])
            .unwrap_err()
            .to_string();
        assert!(
            error.starts_with("environment variable PAVE_LISTEN=`localhost`"),
            "{error}"
        );
        let error = resolve("database:\n  url: mysql://x\n", &[])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("database.url:"), "{error}");
        let error = resolve("log:\n  level: \"[[\"\n", &[])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("log.level:"), "{error}");
        let error = resolve("", &[("PAVE_LOG_FORMAT", "xml")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("`json` or `text`"), "{error}");
        let error = resolve("database:\n  maxConnections: 0\n", &[])
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("database.maxConnections:"), "{error}");
    }

    #[test]
    fn an_empty_file_means_defaults() {
        let config = resolve("", &[]).unwrap();
        assert_eq!(config.listen.to_string(), "127.0.0.1:7007");
        assert_eq!(config.data_dir, PathBuf::from(".pave"));
        assert!(config.database_url.is_none());
    }
}

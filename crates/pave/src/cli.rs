//! The command line, as clap reads it.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::LogFormat;

/// Pave: an internal developer platform in one binary.
#[derive(Debug, Parser)]
#[command(name = "pave", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every client command takes.
#[derive(Debug, Args)]
pub struct Global {
    /// The Pave server to talk to [default: the one `pave login` saved, else http://127.0.0.1:7007].
    #[arg(long, global = true, env = "PAVE_SERVER")]
    pub server: Option<String>,
    /// The API token to use [default: the one `pave login` saved].
    #[arg(long, global = true, env = "PAVE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// How to print results.
    #[arg(long, short, global = true, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
    Yaml,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Pave on this machine: SQLite in ./.pave, listening on 127.0.0.1:7007.
    Up(UpArgs),
    /// Run Pave from a config file (production: PostgreSQL, JSON logs).
    Serve(ServeArgs),
    /// Save a server and token for later commands.
    Login(LoginArgs),
    /// Forget the saved server and token.
    Logout,
    /// Show who the token belongs to.
    Whoami,
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Read, replace, validate and try Cedar policies.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Read and verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Validate descriptor files offline; list, search and register catalog entities.
    #[command(subcommand)]
    Catalog(CatalogCommand),
    /// Run a software template: start a task and follow it, or --dry-run it.
    Create(CreateArgs),
    /// List, show, create and delete environments.
    #[command(subcommand)]
    Env(EnvCommand),
    /// Deploy a component to an environment: show the plan, confirm, wait for the outcome.
    Deploy(DeployArgs),
    /// Deploy again the commit of an earlier healthy deployment.
    Rollback(RollbackArgs),
    /// Deploy to one environment the commit that runs in another, with its own config.
    Promote(PromoteArgs),
    /// List deployments, newest first, or show one (`pave deployments show ID`).
    Deployments(DeploymentsArgs),
    /// Print the last log lines of a deployment's process.
    Logs(LogsArgs),
    /// Create or delete the preview environment of a pull request.
    #[command(subcommand)]
    Preview(PreviewCommand),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// A catalog template (python-service, template:default/python-service),
    /// or a local template.yaml or its directory (with --dry-run only).
    #[arg(value_hint = clap::ValueHint::AnyPath)]
    pub template: String,
    /// A value as key=value (repeatable, later wins); a.b=c sets nested
    /// values; the value is read as YAML (true, 3 and [a, b] get types;
    /// null removes the key).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Like --set, but the value is always a string; applied after --set.
    #[arg(long = "set-string", value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// A YAML or JSON file of values (repeatable; - reads standard input);
    /// read before --set.
    #[arg(long = "values", value_name = "FILE", value_hint = clap::ValueHint::FilePath)]
    pub values: Vec<PathBuf>,
    /// A secret for this run only, as key=value (repeatable); never stored or printed.
    #[arg(long = "secret", value_name = "KEY=VALUE")]
    pub secrets: Vec<String>,
    /// Run the template with no side effects and show the files it would create.
    #[arg(long)]
    pub dry_run: bool,
    /// Start the task, print its id and return without following it.
    #[arg(long, conflicts_with = "dry_run")]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct UpArgs {
    /// Where Pave keeps its data [default: ./.pave, or PAVE_DATA_DIR].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// The address to listen on [default: 127.0.0.1:7007, or PAVE_LISTEN].
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// How to write logs.
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// A catalog file or glob to read (repeatable), such as ./catalog-info.yaml.
    #[arg(long = "location")]
    pub locations: Vec<PathBuf>,
    /// On the first start, do not seed the demo service (hello, deployed to dev) [or PAVE_DEMO=false].
    #[arg(long)]
    pub no_demo: bool,
    /// Where the router for environments listens [default: 127.0.0.1:7080, or PAVE_ROUTER_LISTEN].
    #[arg(long)]
    pub router_listen: Option<SocketAddr>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file (YAML). PAVE_* environment variables override it.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// The address to listen on (overrides the file and PAVE_LISTEN).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// How to write logs (overrides the file and PAVE_LOG_FORMAT).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the token from standard input instead of --token or PAVE_TOKEN.
    #[arg(long)]
    pub token_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; its secret is printed once.
    Create {
        /// What the token is for.
        #[arg(long)]
        name: String,
        /// Who it acts as (user:default/alice, service:ci); yourself when absent.
        #[arg(long)]
        principal: Option<String>,
        /// A group the principal is in (repeatable); needs --principal.
        #[arg(long = "group")]
        groups: Vec<String>,
        /// How long it works, such as 30d or 12h.
        #[arg(long, conflicts_with = "expires_at")]
        expires_in: Option<String>,
        /// When it stops working (RFC 3339).
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        /// Include revoked and expired tokens.
        #[arg(long)]
        all: bool,
    },
    /// Show one token.
    Show { id: String },
    /// Revoke a token; it stops working at once.
    Revoke { id: String },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Print the active policy set.
    Get,
    /// Replace the active policy set with a file.
    Set {
        file: PathBuf,
        /// The version your change is based on (from `pave policy get`); a
        /// stale version is refused instead of overwriting someone's change.
        #[arg(long)]
        expected_version: Option<i64>,
        /// Apply the set even if it stops you from changing policies again.
        #[arg(long)]
        force: bool,
    },
    /// Validate a policy file against Pave's schema (offline).
    Validate { file: PathBuf },
    /// Print Pave's Cedar schema.
    Schema,
    /// Ask what the policies decide, and which policies decided.
    Check {
        /// user:default/alice or service:ci
        #[arg(long)]
        principal: String,
        /// A group the principal is in (repeatable).
        #[arg(long = "group")]
        groups: Vec<String>,
        /// An action such as token.create.
        #[arg(long)]
        action: String,
        /// platform or token:ID
        #[arg(long, default_value = "platform")]
        resource: String,
        /// Decide with this policy file, offline, instead of asking the server.
        #[arg(long)]
        policies: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// List events, newest first.
    List {
        #[arg(long)]
        principal: Option<String>,
        #[arg(long)]
        action: Option<String>,
        #[arg(long)]
        resource: Option<String>,
        /// success, denied, unauthenticated or failed
        #[arg(long)]
        outcome: Option<String>,
        #[arg(long)]
        request_id: Option<String>,
        /// RFC 3339 time, inclusive.
        #[arg(long)]
        since: Option<String>,
        /// RFC 3339 time, exclusive.
        #[arg(long)]
        until: Option<String>,
        /// Events per page.
        #[arg(long, default_value_t = 50)]
        limit: u32,
        /// Continue after a previous page.
        #[arg(long)]
        cursor: Option<String>,
    },
    /// Check the hash chain; exits non-zero and names the first altered or removed event.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Validate catalog-info.yaml files offline (for CI): exits 1 and prints
    /// file:line:column: message for each problem.
    Validate {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// List entities, optionally filtered (Backstage filter syntax, repeatable: kind=component,spec.type=service).
    List {
        #[arg(long)]
        filter: Vec<String>,
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Find entities whose name, title, description, tags, owner, type or kind contain a term.
    Search {
        term: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Show one entity and its relations: [kind:][namespace/]name (kind defaults to component).
    Get { reference: String },
    /// Register a location: a file path or glob (type file), or a git URL (type url).
    Register {
        target: String,
        #[arg(long = "type", default_value = "file")]
        r#type: String,
        /// Only show what would be added.
        #[arg(long)]
        dry_run: bool,
    },
    /// List registered locations and their problems.
    Locations,
    /// Read an entity's location again now.
    Refresh { reference: String },
    /// Remove a location and its entities.
    Unregister { id: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
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
}

#[derive(Debug, Subcommand)]
pub enum EnvCommand {
    /// List environments: type, status, expiry, URLs and what runs there.
    List,
    /// Show one environment: its config, source, URLs and what runs there.
    Show { name: String },
    /// Create an environment (staging and production need an admin by default).
    Create(EnvCreateArgs),
    /// Delete an environment: stop what runs there and remove its routes
    /// (its deployment history stays). Asks first; --yes skips the question.
    Delete {
        name: String,
        /// Delete without asking (required when standard input is not a terminal).
        #[arg(long, short)]
        yes: bool,
    },
}

#[derive(Debug, Args)]
pub struct EnvCreateArgs {
    /// Lower-case letters, digits and '-', such as dev, staging or qa-1.
    pub name: String,
    /// The kind of environment [default: development].
    #[arg(long = "type", value_enum)]
    pub environment_type: Option<EnvironmentType>,
    #[arg(long)]
    pub description: Option<String>,
    /// An environment whose config this one starts from.
    #[arg(long)]
    pub parent: Option<String>,
    /// A config value as KEY=VALUE (repeatable, later wins); Score
    /// `environment` resources read them.
    #[arg(long = "config", value_name = "KEY=VALUE")]
    pub config: Vec<String>,
    /// Pushes to this branch redeploy the environment's components (webhooks).
    #[arg(long)]
    pub follows_branch: Option<String>,
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The component: orders, default/orders or component:default/orders.
    pub component: String,
    /// The environment to deploy to.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// A branch, tag or commit [default: the ref of the component's source location].
    #[arg(long)]
    pub revision: Option<String>,
    /// Deploy without asking (required when standard input is not a terminal).
    #[arg(long, short)]
    pub yes: bool,
    /// Only show the plan; change nothing.
    #[arg(long, conflicts_with = "yes")]
    pub plan_only: bool,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The component: orders, default/orders or component:default/orders.
    pub component: String,
    /// The environment to roll back.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: String,
    /// The deployment to go back to (an id, or its short form from
    /// `pave deployments`) [default: the last healthy one before the active one].
    #[arg(long, value_name = "DEPLOYMENT_ID")]
    pub to: Option<String>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    /// The component: orders, default/orders or component:default/orders.
    pub component: String,
    /// The environment whose running commit is promoted.
    #[arg(long, value_name = "ENV")]
    pub from: String,
    /// The environment to deploy it to.
    #[arg(long, value_name = "ENV")]
    pub to: String,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DeploymentsArgs {
    #[command(subcommand)]
    pub command: Option<DeploymentsCommand>,
    /// Only this component's deployments.
    #[arg(long)]
    pub component: Option<String>,
    /// Only deployments to this environment.
    #[arg(long = "env", value_name = "ENV")]
    pub environment: Option<String>,
    /// At most this many (1 to 1000).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
}

#[derive(Debug, Subcommand)]
pub enum DeploymentsCommand {
    /// Show one deployment: its status, commit, variables and URLs.
    Show {
        /// A deployment id, or its short form from `pave deployments`.
        id: String,
    },
}

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// A deployment id, or its short form from `pave deployments`.
    #[arg(value_name = "DEPLOYMENT_ID")]
    pub id: String,
    /// The container [default: the first one].
    #[arg(long, value_name = "NAME")]
    pub process: Option<String>,
    /// Lines per stream (1 to 5000) [default: 200].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=5000))]
    pub tail: Option<u32>,
    /// Keep printing lines as they are written, until the deployment stops or Ctrl-C.
    #[arg(long, short)]
    pub follow: bool,
}

#[derive(Debug, Subcommand)]
pub enum PreviewCommand {
    /// Create or update the preview of a pull request (environment pr-N):
    /// deploys the components of the component's repository at the branch's head.
    Create {
        /// A component whose repository the pull request is in.
        component: String,
        /// The pull request number.
        #[arg(long = "pr", value_name = "N")]
        pull_request: u64,
        /// The pull request's branch.
        #[arg(long)]
        branch: String,
        /// The commit to run [default: the branch's head].
        #[arg(long, value_name = "SHA")]
        commit: Option<String>,
        /// The environment whose config the preview starts from [default: the server's, dev].
        #[arg(long, value_name = "ENV")]
        base: Option<String>,
        /// How long it lives, such as 3d, 12h or 1h30m [default: the server's, 3d].
        #[arg(long, value_name = "DURATION")]
        ttl: Option<String>,
    },
    /// Tear down the preview of pull request N (deletes environment pr-N).
    Delete {
        /// The pull request number.
        #[arg(value_name = "N")]
        pull_request: u64,
    },
}

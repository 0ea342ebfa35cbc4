//! `pave up` and `pave serve`: start a server and run it until a signal.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, bail};
use pave_access::Access;
use pave_catalog::{Catalog, CatalogConfig, LocationSpec, OrphanStrategy};
use pave_catalog_model::Rules;
use pave_deploy::{DeployAction, DeployConfig, Deployer};
use pave_runtime::{LocalOptions, LocalRuntime};
use pave_scaffold::tasks::{Scaffolder, ScaffolderConfig};
use pave_server::ServerOptions;
use pave_server::router::RoutingTable;
use pave_server::{Engines, Listeners, WebhookSettings};
use pave_store::{ConnectOptions, Store};
use tokio::net::TcpListener;

use crate::config::{Config, LogFormat};

fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_new(&config.log_level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // A second start in the same process (tests) keeps the first subscriber.
    let _ = match config.log_format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

fn prepare_data_dir(path: &Path) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(path)
        .with_context(|| format!("cannot create the data directory {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // The database holds token hashes and the audit log: owner only.
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {} to its owner", path.display()))?;
    }
    path.canonicalize()
        .with_context(|| format!("cannot resolve {}", path.display()))
}

async fn shutdown_signal() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// Starts Pave with `config` and serves until SIGINT or SIGTERM.
pub async fn run(config: Config, embedded: bool) -> anyhow::Result<()> {
    let started = Instant::now();
    init_logging(&config);
    // Bind first: if the port is taken, fail before anything is written
    // (a bootstrap token printed by a start that then fails would be lost).
    let listener = TcpListener::bind(config.listen).await.with_context(|| {
        format!("cannot listen on {}: is another Pave (or something else) using it? Pick another with --listen", config.listen)
    })?;
    let address = listener.local_addr()?;
    let router_listener = TcpListener::bind(config.router_listen).await.with_context(|| {
        format!(
            "cannot listen on {} for the router: is another Pave using it? Pick another with --router-listen (or PAVE_ROUTER_LISTEN)",
            config.router_listen
        )
    })?;
    let router_address = router_listener.local_addr()?;
    let data_dir = prepare_data_dir(&config.data_dir)?;
    let database_url = config.database_url(&data_dir);
    let store = Store::open(
        &database_url,
        &ConnectOptions {
            max_connections: config.max_connections,
            ..ConnectOptions::default()
        },
    )
    .await?;
    let access = Arc::new(Access::open(store.clone()).await?);
    let mut locations: Vec<LocationSpec> = config
        .catalog_locations
        .iter()
        .map(|location| LocationSpec {
            r#type: location.kind.clone(),
            target: location.target.clone(),
        })
        .collect();
    if config.golden_paths {
        let location = crate::golden_paths::install(&data_dir)?;
        locations.push(LocationSpec {
            r#type: "file".into(),
            target: location.display().to_string(),
        });
    }
    let catalog = Arc::new(Catalog::new(
        store.clone(),
        CatalogConfig {
            locations,
            rules: Rules {
                allowed_kinds: config.catalog_allowed_kinds.clone(),
            },
            orphan_strategy: match config.catalog_orphan_strategy {
                crate::config::OrphanStrategy::Keep => OrphanStrategy::Keep,
                crate::config::OrphanStrategy::Delete => OrphanStrategy::Delete,
            },
            refresh_interval: config.catalog_refresh,
            cache_dir: data_dir.join("git"),
        },
    ));
    catalog.sync_config_locations().await?;
    let runtime = Arc::new(
        LocalRuntime::new(data_dir.join("runtime"), LocalOptions::default())
            .context("cannot prepare the local runtime's directory")?,
    );
    let routes = RoutingTable::new();
    let deployer = Deployer::new(
        store.clone(),
        Arc::clone(&catalog),
        runtime,
        Arc::new(routes.clone()),
        DeployConfig {
            ready_timeout: config.deploy_ready_timeout,
            ..DeployConfig::under(&data_dir, router_address.port())
        },
    );
    // Environments come back before anything is served: processes a killed
    // Pave left running are adopted, missing ones started, leftovers stopped.
    deployer.recover().await?;
    let scaffolder = Scaffolder::with_actions(
        store.clone(),
        Arc::clone(&catalog),
        ScaffolderConfig {
            file_push_roots: config.scaffolder_file_push_roots.clone(),
            ..ScaffolderConfig::under(&data_dir)
        },
        // Golden paths end with a running service.
        vec![DeployAction::new(deployer.clone())],
    );
    let interrupted = scaffolder.recover().await?;
    if interrupted > 0 {
        tracing::warn!(
            tasks = interrupted,
            "template tasks were interrupted by the last stop and are marked failed"
        );
    }
    let bootstrap = access.bootstrap().await?;

    let url = format!("http://{address}");
    let mut out = std::io::stdout().lock();
    writeln!(out, "Pave is up at {url}")?;
    writeln!(out, "  portal          {url}/  (sign in with an API token)")?;
    writeln!(
        out,
        "  API             {url}/api/v1  (described at {url}/api/openapi.json)"
    )?;
    writeln!(
        out,
        "  router          http://<workload>--<environment>.localhost:{}",
        router_address.port()
    )?;
    if embedded || store.backend() == pave_store::Backend::Sqlite {
        writeln!(
            out,
            "  data            {} ({})",
            data_dir.display(),
            store.backend().name()
        )?;
    } else {
        writeln!(
            out,
            "  database        {} ({})",
            store.url(),
            store.backend().name()
        )?;
    }
    if let Some(issued) = &bootstrap {
        writeln!(out)?;
        writeln!(
            out,
            "This is the first start. The admin token below is shown once; Pave keeps only its hash."
        )?;
        writeln!(out, "  admin token     {}", issued.token)?;
        writeln!(
            out,
            "  sign in with    pave login --server {url} --token {}",
            issued.token
        )?;
    }
    let seed_demo = config.demo && bootstrap.is_some();
    if seed_demo {
        writeln!(out)?;
        writeln!(
            out,
            "Seeding the demo: the python-service golden path creates `hello`, which is deployed to `dev`."
        )?;
        writeln!(
            out,
            "  demo            {}  (starting; --no-demo skips this)",
            deployer.url_of(crate::demo::COMPONENT, crate::demo::ENVIRONMENT)
        )?;
    }
    out.flush()?;
    drop(out);
    if seed_demo {
        let (catalog, scaffolder) = (Arc::clone(&catalog), scaffolder.clone());
        tokio::spawn(async move {
            match crate::demo::seed(&catalog, &scaffolder).await {
                Ok(url) => {
                    tracing::info!(%url, "the demo is up");
                    println!("  demo ready      {url}");
                }
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), "the demo could not be seeded; Pave works without it")
                }
            }
        });
    }
    tracing::info!(%address, backend = store.backend().name(), ready_ms = started.elapsed().as_millis() as u64, "serving");

    let options = ServerOptions {
        body_limit_bytes: config.body_limit_bytes,
        policy_refresh: config.policy_refresh,
    };
    let result = pave_server::serve(
        Listeners {
            api: listener,
            router: Some(router_listener),
        },
        Arc::clone(&access),
        Engines {
            catalog,
            scaffolder,
            deployer,
            routes,
            webhooks: Arc::new(WebhookSettings {
                github_secret: config.webhook_github_secret.clone(),
                gitlab_token: config.webhook_gitlab_token.clone(),
                preview_base: config.preview_base.clone(),
                preview_ttl_seconds: config.preview_ttl_seconds,
            }),
        },
        options,
        shutdown_signal(),
    )
    .await;
    store.close().await;
    tracing::info!("stopped; the database is closed");
    if let Err(error) = result {
        bail!(error);
    }
    Ok(())
}

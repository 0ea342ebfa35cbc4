//! The catalog benchmark: generate N synthetic entities, start `pave up`
//! with them as a location, and measure time to ingest, RSS after ingest,
//! and latency of by-name, a filtered list of 100 and a text search.
//!
//! The mix follows the catalog issue: about 2% groups, 15% users, 3%
//! systems, 50% components, 20% APIs (each with a small OpenAPI
//! definition), 10% resources, with owners, systems, memberships,
//! dependsOn and API relations filled in. Names are deterministic.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{Running, rss_kib, start_with, summarize};

const PER_FILE: usize = 500;
const LIFECYCLES: [&str; 3] = ["production", "experimental", "deprecated"];
const COMPONENT_TYPES: [&str; 3] = ["service", "website", "library"];
const RESOURCE_TYPES: [&str; 4] = ["database", "s3-bucket", "queue", "cache"];
const LANGUAGES: [&str; 5] = ["java", "go", "python", "typescript", "rust"];

/// How many of each kind N entities hold.
pub struct Mix {
    pub groups: usize,
    pub users: usize,
    pub systems: usize,
    pub components: usize,
    pub apis: usize,
    pub resources: usize,
}

impl Mix {
    pub fn of(total: usize) -> Mix {
        let share = |percent: usize| (total * percent).div_ceil(100).max(1);
        let (groups, users, systems, apis, resources) =
            (share(2), share(15), share(3), share(20), share(10));
        Mix {
            groups,
            users,
            systems,
            apis,
            resources,
            components: total
                .saturating_sub(groups + users + systems + apis + resources)
                .max(1),
        }
    }
}

fn openapi(name: &str) -> String {
    format!(
        "      openapi: 3.0.0\n      info:\n        title: {name}\n        version: 1.0.0\n      paths:\n        /{name}/items:\n          get:\n            summary: List items\n            responses:\n              '200':\n                description: OK\n"
    )
}

/// Writes `entities-NNNN.yaml` files and a `locations.yaml` that lists them.
pub fn generate(total: usize, directory: &Path) -> anyhow::Result<Mix> {
    std::fs::create_dir_all(directory)?;
    let mix = Mix::of(total);
    let mut documents: Vec<String> = Vec::with_capacity(total);
    for index in 0..mix.groups {
        let parent = if index == 0 {
            String::new()
        } else {
            format!("  parent: team-{:05}\n", (index - 1) / 4)
        };
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: team-{index:05}\n  description: Synthetic team {index}\nspec:\n  type: {}\n  profile:\n    displayName: Team {index}\n{parent}  children: []\n",
            if index == 0 { "organization" } else { "team" }
        ));
    }
    for index in 0..mix.users {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata:\n  name: user-{index:06}\nspec:\n  profile:\n    displayName: User {index}\n    email: user-{index:06}@example.com\n  memberOf: [team-{:05}]\n",
            index % mix.groups
        ));
    }
    for index in 0..mix.systems {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: system-{index:05}\n  description: Synthetic system {index}\nspec:\n  owner: team-{:05}\n",
            index % mix.groups
        ));
    }
    for index in 0..mix.apis {
        let name = format!("api-{index:06}");
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: {name}\n  description: The {name} interface for orders and refunds\n  tags: [{}]\nspec:\n  type: openapi\n  lifecycle: {}\n  owner: team-{:05}\n  system: system-{:05}\n  definition: |\n{}",
            LANGUAGES[index % LANGUAGES.len()],
            LIFECYCLES[index % LIFECYCLES.len()],
            index % mix.groups,
            index % mix.systems,
            openapi(&name)
        ));
    }
    for index in 0..mix.resources {
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Resource\nmetadata:\n  name: res-{index:06}\nspec:\n  type: {}\n  owner: team-{:05}\n  system: system-{:05}\n",
            RESOURCE_TYPES[index % RESOURCE_TYPES.len()],
            index % mix.groups,
            index % mix.systems
        ));
    }
    for index in 0..mix.components {
        let mut relations = format!(
            "  providesApis: [api-{:06}]\n  consumesApis: [api-{:06}]\n  dependsOn: [resource:res-{:06}]\n",
            index % mix.apis,
            (index * 7 + 3) % mix.apis,
            index % mix.resources
        );
        if index > 0 {
            let _ = writeln!(relations, "  subcomponentOf: svc-{:06}", index / 10);
        }
        documents.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc-{index:06}\n  title: Service {index}\n  description: Synthetic {} service number {index} handling payments\n  tags: [{}, team-{:05}]\nspec:\n  type: {}\n  lifecycle: {}\n  owner: team-{:05}\n  system: system-{:05}\n{relations}",
            LANGUAGES[index % LANGUAGES.len()],
            LANGUAGES[index % LANGUAGES.len()],
            index % mix.groups,
            COMPONENT_TYPES[index % COMPONENT_TYPES.len()],
            LIFECYCLES[index % LIFECYCLES.len()],
            index % mix.groups,
            index % mix.systems
        ));
    }
    let mut targets = Vec::new();
    for (number, chunk) in documents.chunks(PER_FILE).enumerate() {
        let name = format!("entities-{number:04}.yaml");
        std::fs::write(directory.join(&name), chunk.join("---\n"))?;
        targets.push(format!("    - ./{name}"));
    }
    std::fs::write(
        directory.join("locations.yaml"),
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: synthetic\nspec:\n  targets:\n{}\n",
            targets.join("\n")
        ),
    )?;
    Ok(mix)
}

async fn get(
    client: &reqwest::Client,
    url: &str,
    token: &str,
) -> anyhow::Result<serde_json::Value> {
    let response = client.get(url).bearer_auth(token).send().await?;
    if !response.status().is_success() {
        bail!("{url} answered {}", response.status());
    }
    Ok(response.json().await?)
}

async fn latency(
    client: &reqwest::Client,
    token: &str,
    urls: &[String],
) -> anyhow::Result<crate::Summary> {
    let mut samples = Vec::with_capacity(urls.len());
    for url in urls {
        let started = Instant::now();
        get(client, url, token).await?;
        samples.push(started.elapsed());
    }
    Ok(summarize(samples))
}

/// Runs the benchmark for each size in `sizes`. Latencies are measured
/// after `settle`: right after a large ingest the server folds its SQLite
/// log back into the database (hundreds of megabytes at 100k), and the
/// figures that matter are those of the catalog in use, not of that minute.
pub async fn run(
    binary: &Path,
    sizes: &[usize],
    requests: usize,
    settle: Duration,
) -> anyhow::Result<()> {
    for &total in sizes {
        let loaded = load(binary, total).await?;
        let Loaded {
            ref running,
            ref token,
            ref mix,
            ingest,
            ..
        } = loaded;
        let url = &running.url;
        let client = reqwest::Client::new();
        let rss = rss_kib(running.child.id()).unwrap_or(0);
        tokio::time::sleep(settle).await;
        let by_name: Vec<String> = (0..requests)
            .map(|i| {
                format!(
                    "{url}/api/catalog/entities/by-name/component/default/svc-{:06}",
                    (i * 7919) % mix.components
                )
            })
            .collect();
        let filtered: Vec<String> = (0..requests)
            .map(|i| {
                format!(
                    "{url}/api/catalog/entities/by-query?filter=kind=component,spec.type={},spec.lifecycle=production&limit=100&offset={}",
                    COMPONENT_TYPES[i % 3],
                    (i % 5) * 100
                )
            })
            .collect();
        let searches: Vec<String> = (0..requests)
            .map(|i| {
                format!(
                    "{url}/api/catalog/entities/by-query?fullTextFilterTerm=svc-{:05}&limit=20",
                    (i * 31) % (mix.components / 10).max(1)
                )
            })
            .collect();
        let by_name = latency(&client, token, &by_name).await?;
        let filtered = latency(&client, token, &filtered).await?;
        let searches = latency(&client, token, &searches).await?;
        let ms = |duration: Duration| duration.as_secs_f64() * 1e3;
        println!(
            "catalog N={total}: ingest {:.1} s (spawn to all {} visible), RSS after ingest {:.0} MiB; after {}s settling: by-name p50 {:.2} ms p99 {:.2} ms; filtered list of 100 p50 {:.2} ms p99 {:.2} ms; text search p50 {:.2} ms p99 {:.2} ms ({requests} requests each)",
            ingest.as_secs_f64(),
            total + 1,
            rss as f64 / 1024.0,
            settle.as_secs(),
            ms(by_name.median),
            ms(by_name.p99),
            ms(filtered.median),
            ms(filtered.p99),
            ms(searches.median),
            ms(searches.p99),
        );
        drop(loaded);
    }
    Ok(())
}

/// A server that has ingested N synthetic entities.
pub struct Loaded {
    pub running: Running,
    pub token: String,
    pub mix: Mix,
    /// From spawn until every entity was visible.
    pub ingest: Duration,
    _entities: tempfile::TempDir,
}

/// Generates `total` entities, starts `pave up` on them and waits until
/// every one is visible through the API.
pub async fn load(binary: &Path, total: usize) -> anyhow::Result<Loaded> {
    let data = tempfile::tempdir()?;
    let directory: PathBuf = data.path().join("entities");
    let mix = generate(total, &directory)?;
    let began = Instant::now();
    let (running, _) = start_with(binary, &[directory.join("locations.yaml")])?;
    let token = running.token.clone().context("no admin token printed")?;
    let client = reqwest::Client::new();
    let expected = total + 1; // and the Location entity
    let count_url = format!(
        "{}/api/catalog/entities/by-query?limit=1&fields=kind",
        running.url
    );
    loop {
        let page = get(&client, &count_url, &token).await?;
        if page["totalItems"].as_u64().unwrap_or(0) as usize >= expected {
            break;
        }
        if began.elapsed() > Duration::from_secs(1800) {
            bail!("ingest did not finish within 30 minutes");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(Loaded {
        ingest: began.elapsed(),
        running,
        token,
        mix,
        _entities: data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_adds_up_and_files_are_written() {
        let mix = Mix::of(10_000);
        assert_eq!(
            mix.groups + mix.users + mix.systems + mix.components + mix.apis + mix.resources,
            10_000
        );
        assert_eq!(
            (mix.groups, mix.users, mix.systems, mix.apis, mix.resources),
            (200, 1500, 300, 2000, 1000)
        );
        let directory = tempfile::tempdir().unwrap();
        generate(1200, directory.path()).unwrap();
        let locations = std::fs::read_to_string(directory.path().join("locations.yaml")).unwrap();
        assert_eq!(locations.matches("./entities-").count(), 3);
    }
}

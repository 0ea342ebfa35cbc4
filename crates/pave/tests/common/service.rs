//! A small Python HTTP service in a real git repository, for the tests that
//! deploy: the repository, its score.yaml, and HTTP through Pave's router.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::http_get_host;

/// A service that answers every GET with its version and greeting.
pub const SERVICE: &str = r#"import os, http.server
print("starting on", os.environ["PORT"], flush=True)
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{os.environ.get('VERSION', '?')} {os.environ.get('GREETING', '')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"#;

/// The service's catalog-info.yaml: component `orders`, owned by team-a
/// (so neither the admin nor a test's other users own it).
const CATALOG_INFO: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: orders\nspec:\n  type: service\n  lifecycle: experimental\n  owner: team-a\n";

/// The score.yaml of workload `orders`: `VERSION` is `version`, `GREETING`
/// comes from the environment, then `variables`; ready when `ready_path`
/// answers.
pub fn score(version: &str, ready_path: &str, variables: &[(&str, &str)]) -> String {
    let variables: String = variables
        .iter()
        .map(|(name, value)| format!("      {name}: {value}\n"))
        .collect();
    format!(
        "apiVersion: score.dev/v1b1\nmetadata:\n  name: orders\nservice:\n  ports:\n    web: {{port: 8080}}\ncontainers:\n  main:\n    image: .\n    command: [python3, server.py]\n    variables:\n      VERSION: {version}\n      GREETING: ${{resources.env.GREETING}}\n{variables}    readinessProbe:\n      httpGet: {{path: {ready_path}, port: 8080}}\nresources:\n  env: {{type: environment}}\n"
    )
}

/// `git` in `directory`, as a test user; its output, trimmed.
pub fn git(directory: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .args(["-c", "user.name=Test", "-c", "user.email=test@example.com"])
        .args(args)
        .current_dir(directory)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The service's repository: a work tree on `main` and the bare remote
/// Pave reads.
pub struct Repository {
    pub work: PathBuf,
    pub bare: PathBuf,
}

impl Repository {
    /// One commit with `service` as server.py, `score` as score.yaml and
    /// the catalog-info.yaml, cloned to `root/orders.git`.
    pub fn new(root: &Path, service: &str, score: &str) -> Repository {
        let work = root.join("work");
        std::fs::create_dir_all(&work).expect("work");
        git(&work, &["init", "--quiet", "--initial-branch=main"]);
        std::fs::write(work.join("server.py"), service).expect("server");
        std::fs::write(work.join("score.yaml"), score).expect("score");
        std::fs::write(work.join("catalog-info.yaml"), CATALOG_INFO).expect("catalog-info");
        git(&work, &["add", "--all"]);
        git(&work, &["commit", "--quiet", "--message", "v1"]);
        git(root, &["clone", "--quiet", "--bare", "work", "orders.git"]);
        Repository {
            work,
            bare: root.join("orders.git"),
        }
    }

    /// The bare repository as a `file://` URL.
    pub fn remote(&self) -> String {
        format!("file://{}", self.bare.display())
    }

    /// The catalog location: `url` type, the file in the bare repository.
    pub fn location(&self) -> String {
        format!("{}/blob/main/catalog-info.yaml", self.remote())
    }

    /// Commits `change` on the current branch and pushes it as `branch`;
    /// returns the commit.
    pub fn push(&self, branch: &str, change: impl FnOnce(&Path)) -> String {
        change(&self.work);
        git(&self.work, &["add", "--all"]);
        git(&self.work, &["commit", "--quiet", "--message", "change"]);
        let bare = self.bare.display().to_string();
        git(
            &self.work,
            &["push", "--quiet", &bare, &format!("HEAD:{branch}")],
        );
        git(&self.work, &["rev-parse", "HEAD"])
    }

    /// Commits a new score.yaml and pushes it as `branch`.
    pub fn push_score(&self, branch: &str, score: &str) -> String {
        self.push(branch, |work| {
            std::fs::write(work.join("score.yaml"), score).expect("score");
        })
    }
}

/// GET / through Pave's router with a Host header: (status, body).
pub fn through_router(port: u16, host: &str) -> Option<(u16, String)> {
    let (status, response) = http_get_host(("127.0.0.1", port), host, "/")?;
    let body = response.split_once("\r\n\r\n")?.1.to_string();
    Some((status, body))
}

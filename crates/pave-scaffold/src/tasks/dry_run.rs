//! Dry runs (`POST /api/scaffolder/v2/dry-run`): a template given inline,
//! with its files given inline too, runs in a throwaway workspace. Actions
//! with effects outside the workspace only describe them. Nothing is stored.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use super::{Scaffolder, ScaffolderError};
use crate::actions::Cancellation;
use crate::expression::{Context, UserContext};
use crate::model::Template;
use crate::run::{self, Run, RunEvent};
use crate::workspace::Workspace;

/// At most this many files, and bytes in all, go in or come out.
const MAX_FILES: usize = 2_000;
const MAX_BYTES: usize = 20 * 1024 * 1024;

/// A dry run as submitted.
#[derive(Debug, Clone)]
pub struct DryRunRequest {
    /// The template entity.
    pub template: Value,
    /// Parameter values.
    pub values: Value,
    /// Secrets for this run only.
    pub secrets: BTreeMap<String, String>,
    /// The template's files (skeletons), by path relative to the template.
    pub files: Vec<DryRunFile>,
    /// Use the files of the template's own catalog location instead of
    /// `files`. Only for a template entity read from the catalog by the
    /// caller: an inline entity's location annotation is not to be trusted.
    pub use_catalog_location: bool,
    /// Who runs it.
    pub created_by: String,
}

/// One file going into or coming out of a dry run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DryRunFile {
    /// Relative path with `/` separators.
    pub path: String,
    /// The executable bit (outgoing files only).
    pub executable: bool,
    pub content: Vec<u8>,
}

/// What a dry run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct DryRunResult {
    /// Every event, in order.
    pub log: Vec<RunEvent>,
    /// The workspace's files at the end.
    pub files: Vec<DryRunFile>,
    /// The rendered output (empty when the run failed).
    pub output: Value,
    /// Why the run failed, if it did.
    pub error: Option<String>,
}

pub(super) async fn run(
    engine: &Scaffolder,
    template: Template,
    values: Value,
    user: UserContext,
    request: DryRunRequest,
) -> Result<DryRunResult, ScaffolderError> {
    let scratch = engine
        .inner
        .config
        .work_dir
        .join("dry-run")
        .join(uuid::Uuid::now_v7().to_string());
    let result = run_in(&scratch, engine, template, values, user, request).await;
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

async fn run_in(
    scratch: &Path,
    engine: &Scaffolder,
    template: Template,
    values: Value,
    user: UserContext,
    request: DryRunRequest,
) -> Result<DryRunResult, ScaffolderError> {
    let io = |error: std::io::Error| ScaffolderError::Io(format!("dry run: {error}"));
    let template_dir = scratch.join("template");
    let workspace_dir = scratch.join("workspace");
    std::fs::create_dir_all(&template_dir).map_err(io)?;
    std::fs::create_dir_all(&workspace_dir).map_err(io)?;
    let template_directory = if request.use_catalog_location {
        super::source::template_directory(&engine.inner.reader, &request.template, &template_dir)
            .await
            .map_err(ScaffolderError::input)?
            .ok_or_else(|| {
                ScaffolderError::input(
                    "the template has no catalog location to read its files from; give its files inline",
                )
            })?
    } else {
        let directory = Workspace::template_directory(&template_dir)
            .map_err(|error| ScaffolderError::Io(error.to_string()))?;
        write_files(&directory, &request.files)?;
        directory
    };
    let workspace =
        Workspace::new(&workspace_dir).map_err(|error| ScaffolderError::Io(error.to_string()))?;
    let mut context = Context::new(values);
    context.user = Some(user);
    context.secrets = request.secrets;
    let mut log: Vec<RunEvent> = Vec::new();
    let outcome = run::run_template(
        Run {
            template: &template,
            context,
            registry: &engine.inner.registry,
            workspace: &workspace,
            template_directory: Some(&template_directory),
            dry_run: true,
            cancellation: Cancellation::new(),
        },
        &mut log,
    )
    .await;
    let files = read_files(&workspace_dir)?;
    let (output, error) = match outcome {
        Ok(result) => (result.output, None),
        Err(error) => (
            Value::Object(serde_json::Map::new()),
            Some(error.to_string()),
        ),
    };
    Ok(DryRunResult {
        log,
        files,
        output,
        error,
    })
}

/// Writes the submitted template files, each confined to the directory.
fn write_files(directory: &Workspace, files: &[DryRunFile]) -> Result<(), ScaffolderError> {
    if files.len() > MAX_FILES {
        return Err(ScaffolderError::input(format!(
            "the dry run has {} files; at most {MAX_FILES} are allowed",
            files.len()
        )));
    }
    let total: usize = files.iter().map(|file| file.content.len()).sum();
    if total > MAX_BYTES {
        return Err(ScaffolderError::input(format!(
            "the dry run's files add up to {total} bytes; at most {MAX_BYTES} are allowed"
        )));
    }
    for file in files {
        let target = directory.resolve(&file.path).map_err(|error| {
            ScaffolderError::input(format!("directoryContents `{}`: {error}", file.path))
        })?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| ScaffolderError::Io(format!("dry run: {error}")))?;
        }
        std::fs::write(&target, &file.content)
            .map_err(|error| ScaffolderError::Io(format!("dry run: {error}")))?;
        if file.executable {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755))
                .map_err(|error| ScaffolderError::Io(format!("dry run: {error}")))?;
        }
    }
    Ok(())
}

/// Every regular file under `root`, sorted by path; symlinks are skipped.
fn read_files(root: &Path) -> Result<Vec<DryRunFile>, ScaffolderError> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    let mut total = 0usize;
    while let Some(directory) = pending.pop() {
        let entries = std::fs::read_dir(&directory)
            .map_err(|error| ScaffolderError::Io(format!("dry run: {error}")))?;
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_file() {
                let content = std::fs::read(&path)
                    .map_err(|error| ScaffolderError::Io(format!("dry run: {error}")))?;
                total += content.len();
                if files.len() >= MAX_FILES || total > MAX_BYTES {
                    return Err(ScaffolderError::input(format!(
                        "the dry run produced more than {MAX_FILES} files or {MAX_BYTES} bytes"
                    )));
                }
                let relative = path
                    .strip_prefix(root)
                    .map(|relative| relative.to_string_lossy().replace('\\', "/"))
                    .unwrap_or_default();
                files.push(DryRunFile {
                    path: relative,
                    executable: is_executable(&entry),
                    content,
                });
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

fn is_executable(entry: &std::fs::DirEntry) -> bool {
    use std::os::unix::fs::PermissionsExt;
    entry
        .metadata()
        .map(|metadata| metadata.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

//! Where a template's files (skeletons) are: the directory of the catalog
//! location the template entity was read from.
//!
//! A template read from a local file uses that file's directory in place
//! (read-only: actions only read from it, through a confined [`Workspace`]).
//! A template read from a git URL gets its directory copied, at the commit
//! the location resolves to now, into the task's own directory first.

use std::path::Path;

use pave_git::{GitReader, RepositoryPath};
use serde_json::Value;

use crate::workspace::Workspace;

/// The annotation the catalog writes on every entity it ingests.
const MANAGED_BY_LOCATION: &str = "backstage.io/managed-by-location";

/// At most this many files are copied from a git template directory.
const MAX_FILES: usize = 2_000;

/// The entity's `managed-by-location` annotation (`file:/…` or `url:…`).
pub(crate) fn location_of(entity: &Value) -> Option<String> {
    entity
        .pointer("/metadata/annotations")
        .and_then(|annotations| annotations.get(MANAGED_BY_LOCATION))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The template's directory, or `None` for a template with no location (its
/// `fetch:*` steps then fail with a clear error). `checkout` is where a git
/// directory is copied to.
pub(crate) async fn template_directory(
    reader: &GitReader,
    entity: &Value,
    checkout: &Path,
) -> Result<Option<Workspace>, String> {
    let Some(location) = location_of(entity) else {
        return Ok(None);
    };
    if let Some(path) = location.strip_prefix("file:") {
        let directory = Path::new(path)
            .parent()
            .ok_or_else(|| format!("the template's location `{location}` has no directory"))?;
        return Workspace::template_directory(directory)
            .map(Some)
            .map_err(|error| format!("the template's directory cannot be used: {error}"));
    }
    if let Some(url) = location.strip_prefix("url:") {
        copy_from_git(reader, url, checkout).await?;
        return Workspace::template_directory(checkout)
            .map(Some)
            .map_err(|error| format!("the template's checkout cannot be used: {error}"));
    }
    Err(format!(
        "the template's location `{location}` is neither a file nor a url location; register the template from a file or a git URL"
    ))
}

/// Copies the directory of the file at `url` into `checkout`.
async fn copy_from_git(reader: &GitReader, url: &str, checkout: &Path) -> Result<(), String> {
    let resolved = reader
        .locate(url)
        .await
        .map_err(|error| format!("cannot read the template's repository: {error}"))?;
    let RepositoryPath { remote, path, .. } = &resolved.path;
    let directory = match path.rsplit_once('/') {
        Some((directory, _)) => directory.to_string(),
        None => String::new(),
    };
    let glob = if directory.is_empty() {
        "**".to_string()
    } else {
        format!("{directory}/**")
    };
    let files = reader
        .list_files(remote, &resolved.commit, &glob)
        .await
        .map_err(|error| format!("cannot list the template's files: {error}"))?;
    if files.len() > MAX_FILES {
        return Err(format!(
            "the template's directory has {} files; at most {MAX_FILES} are copied. Move the template to a smaller directory",
            files.len()
        ));
    }
    for file in files {
        let relative = if directory.is_empty() {
            file.as_str()
        } else {
            file.strip_prefix(&format!("{directory}/")).unwrap_or(&file)
        };
        // Git paths are checked by the reader (no `..`, no absolute paths).
        let target = checkout.join(relative);
        let contents = reader
            .read_file(remote, &resolved.commit, &file)
            .await
            .map_err(|error| format!("cannot read `{file}` of the template: {error}"))?;
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|error| format!("cannot copy the template: {error}"))?;
        }
        std::fs::write(&target, contents)
            .map_err(|error| format!("cannot copy the template: {error}"))?;
    }
    std::fs::create_dir_all(checkout).map_err(|error| format!("cannot copy the template: {error}"))
}

//! Location URLs: where a file in a repository is, as the catalog writes it.
//!
//! Three forms are accepted:
//!
//! - GitHub style: `<remote>/blob/<ref>/<path>` for a file and
//!   `<remote>/tree/<ref>/<path>` for a folder (`/tree/<ref>` alone is the
//!   root), e.g. `https://github.com/o/r/blob/main/catalog-info.yaml` or
//!   `file:///srv/git/r.git/blob/main/catalog-info.yaml`.
//! - GitLab style: `<remote>/-/blob/<ref>/<path>` and `<remote>/-/tree/<ref>/<path>`.
//! - Plain: `<remote>#<ref>:<path>`, and `<remote>#:<path>` for the remote's
//!   default branch. Git refs cannot contain ':', so the first ':' after '#'
//!   always ends the ref. A fragment without ':' is refused rather than
//!   guessed at.
//!
//! In the blob and tree forms the remote ends before the first `blob` or
//! `tree` segment that follows a `….git` segment, else before the first one
//! after `owner/repo` (https) or after one directory (file). A repository
//! whose own path has a `blob` or `tree` directory must use the plain form.
//!
//! Refs containing '/' (`feature/x`) are ambiguous in the blob and tree
//! forms: `blob/feature/x/a.yaml` may be ref `feature` with path `x/a.yaml`.
//! [`RepositoryPath::parse`] cannot see the repository, so it takes the
//! first segment as the ref. [`crate::GitReader::locate`] resolves the
//! ambiguity the way Backstage does: after fetching, the longest branch or
//! tag name that is a whole-segment prefix wins. The plain form is never
//! ambiguous.
//!
//! `%XX` escapes in the ref and path are decoded (GitHub writes spaces as
//! `%20`) before they are checked, so `%2e%2e` is still refused as `..`.

use crate::error::GitError;
use crate::remote::Remote;
use crate::validation::{check_path, check_reference};

/// Where a file (or folder) in a repository is: the remote URL, a ref
/// (branch, tag or commit; `None` is the remote's default branch, its HEAD),
/// and a path inside the repository (`""` is the root folder).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RepositoryPath {
    /// The remote as git fetches it, e.g. `https://github.com/o/r`.
    pub remote: String,
    /// Branch, tag, full ref or commit id; `None` for the default branch.
    pub reference: Option<String>,
    /// Path from the repository root, without leading or trailing '/'.
    pub path: String,
}

impl RepositoryPath {
    /// Parses a location URL in one of the forms described in the
    /// [module documentation](crate::location), checking the remote, ref and
    /// path so none can be read as a git option or leave the repository.
    ///
    /// In blob and tree URLs the first segment after `blob/` or `tree/` is
    /// taken as the ref; use [`crate::GitReader::locate`] for refs with '/'.
    pub fn parse(url: &str) -> Result<RepositoryPath, GitError> {
        parse_location(url).map(|parsed| parsed.location)
    }
}

impl std::fmt::Display for RepositoryPath {
    /// Writes the plain form, which parses back to the same value.
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let reference = self.reference.as_deref().unwrap_or("");
        write!(formatter, "{}#{}:{}", self.remote, reference, self.path)
    }
}

/// A parsed location plus what is needed to split an ambiguous ref later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParsedLocation {
    pub(crate) location: RepositoryPath,
    /// For blob and tree URLs: the decoded `<ref>/<path>` text.
    pub(crate) ref_and_path: Option<String>,
    /// True for blob URLs, whose path must name something.
    pub(crate) needs_path: bool,
}

impl ParsedLocation {
    /// Splits `<ref>/<path>` at the longest of `known_refs` (short branch and
    /// tag names) that matches whole segments; `None` if no name matches, or
    /// if this was not a blob or tree URL.
    pub(crate) fn split_with_known_refs(&self, known_refs: &[String]) -> Option<(String, String)> {
        let text = self.ref_and_path.as_deref()?;
        let best = known_refs
            .iter()
            .filter(|name| {
                text == name.as_str()
                    || text
                        .strip_prefix(name.as_str())
                        .is_some_and(|rest| rest.starts_with('/'))
            })
            .max_by_key(|name| name.len())?;
        let path = text.get(best.len()..).unwrap_or("").trim_start_matches('/');
        Some((best.clone(), path.to_string()))
    }
}

pub(crate) fn parse_location(url: &str) -> Result<ParsedLocation, GitError> {
    let invalid = |reason: String| GitError::InvalidUrl {
        url: url.to_string(),
        reason,
    };

    if let Some((remote, fragment)) = url.split_once('#') {
        Remote::parse(remote)?;
        let fragment = percent_decode(fragment).map_err(invalid)?;
        let Some((reference, path)) = fragment.split_once(':') else {
            return Err(invalid(
                "after '#' write <ref>:<path>, or :<path> for the default branch".to_string(),
            ));
        };
        let reference = if reference.is_empty() {
            None
        } else {
            check_reference(reference).map_err(|reason| invalid(format!("the ref: {reason}")))?;
            Some(reference.to_string())
        };
        let path = check_path(path).map_err(|reason| invalid(format!("the path: {reason}")))?;
        return Ok(ParsedLocation {
            location: RepositoryPath {
                remote: remote.to_string(),
                reference,
                path: path.to_string(),
            },
            ref_and_path: None,
            needs_path: false,
        });
    }

    if url.contains('?') {
        return Err(invalid(
            "remove the query string (from '?'); it is not part of the location".to_string(),
        ));
    }
    let Some(split) = split_blob_url(url) else {
        // Report a bad remote as such; otherwise say which forms point at a file.
        Remote::parse(url)?;
        return Err(invalid(
            "it does not point at a file: write <remote>/blob/<ref>/<path>, \
             <remote>/-/blob/<ref>/<path>, or <remote>#<ref>:<path>"
                .to_string(),
        ));
    };
    Remote::parse(&split.remote)?;
    let decoded = percent_decode(split.rest).map_err(invalid)?;
    let (reference, path) = decoded.split_once('/').unwrap_or((decoded.as_str(), ""));
    if reference.is_empty() {
        return Err(invalid(format!("no ref follows '/{}/'", split.kind)));
    }
    check_reference(reference).map_err(|reason| invalid(format!("the ref: {reason}")))?;
    let path = check_path(path).map_err(|reason| invalid(format!("the path: {reason}")))?;
    let needs_path = split.kind == "blob";
    if needs_path && path.is_empty() {
        return Err(invalid(
            "a blob URL needs a file path after the ref".to_string(),
        ));
    }
    Ok(ParsedLocation {
        location: RepositoryPath {
            remote: split.remote,
            reference: Some(reference.to_string()),
            path: path.to_string(),
        },
        ref_and_path: Some(decoded),
        needs_path,
    })
}

/// A blob or tree URL cut into its remote and the `<ref>/<path>` after the marker.
struct BlobUrl<'a> {
    remote: String,
    kind: &'static str,
    rest: &'a str,
}

fn split_blob_url(url: &str) -> Option<BlobUrl<'_>> {
    let (scheme, after_scheme) = url.split_once("://")?;
    let (base, path, minimum_index) = match scheme.to_ascii_lowercase().as_str() {
        "file" => (format!("{scheme}://"), after_scheme.strip_prefix('/')?, 1),
        "https" | "http" => {
            let (authority, path) = after_scheme.split_once('/')?;
            (format!("{scheme}://{authority}"), path, 2)
        }
        _ => return None,
    };
    let segments: Vec<&str> = path.split('/').collect();
    let marker = |segment: &str| match segment {
        "blob" => Some("blob"),
        "tree" => Some("tree"),
        _ => None,
    };
    // (index of the first segment that is not part of the remote, kind, index of the ref)
    let gitlab = segments.iter().enumerate().find_map(|(index, segment)| {
        let kind = marker(segments.get(index + 1)?)?;
        (*segment == "-" && index >= 1).then_some((index, kind, index + 2))
    });
    let found = gitlab.or_else(|| {
        let candidates: Vec<(usize, &'static str)> = segments
            .iter()
            .enumerate()
            .filter(|(index, _)| *index >= minimum_index)
            .filter_map(|(index, segment)| marker(segment).map(|kind| (index, kind)))
            .collect();
        let after_dot_git = candidates.iter().find(|(index, _)| {
            index
                .checked_sub(1)
                .and_then(|before| segments.get(before))
                .is_some_and(|s| s.ends_with(".git"))
        });
        after_dot_git
            .or(candidates.first())
            .map(|(index, kind)| (*index, *kind, index + 1))
    });
    let (remote_end, kind, rest_start) = found?;
    let remote_segments = segments.get(..remote_end)?;
    // Byte offset of the ref inside `path`: every earlier segment plus its '/'.
    let rest_offset: usize = segments
        .get(..rest_start)?
        .iter()
        .map(|s| s.len() + 1)
        .sum();
    let rest = path.get(rest_offset.min(path.len())..)?;
    Some(BlobUrl {
        remote: format!("{base}/{}", remote_segments.join("/")),
        kind,
        rest,
    })
}

/// Decodes `%XX` escapes; refuses malformed escapes and non-UTF-8 results.
fn percent_decode(text: &str) -> Result<String, String> {
    if !text.contains('%') {
        return Ok(text.to_string());
    }
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while let Some(&byte) = bytes.get(index) {
        if byte == b'%' {
            let high = bytes.get(index + 1).and_then(|b| (*b as char).to_digit(16));
            let low = bytes.get(index + 2).and_then(|b| (*b as char).to_digit(16));
            let (Some(high), Some(low)) = (high, low) else {
                return Err("a '%' is not followed by two hex digits".to_string());
            };
            // Two hex digits are at most 255: the cast is exact.
            decoded.push((high * 16 + low) as u8);
            index += 3;
        } else {
            decoded.push(byte);
            index += 1;
        }
    }
    String::from_utf8(decoded).map_err(|_| "the %-escapes do not decode to UTF-8".to_string())
}

#[cfg(test)]
mod tests;

//! Checks on refs, commit ids, paths and globs before they reach git.
//!
//! Each check returns the reason as text so callers can wrap it in the error
//! that fits (a bad ref inside a URL is an invalid URL; a bad ref argument is
//! an invalid ref). The rules keep every value a plain name: nothing git could
//! read as an option (`-…`), as revision syntax (`main~1`, `@{…}`, `a..b`), or
//! as a path outside the repository (`..`, absolute paths).

/// Longest ref or path accepted; far above anything real, low enough to bound work.
const MAX_LENGTH: usize = 4096;

/// Checks a branch, tag, full ref (`refs/…`) or commit id, following the
/// rules of `git check-ref-format` plus "no leading '-'".
pub(crate) fn check_reference(reference: &str) -> Result<(), String> {
    if reference.is_empty() {
        return Err("the ref is empty".to_string());
    }
    if reference.len() > MAX_LENGTH {
        return Err(format!("the ref is longer than {MAX_LENGTH} bytes"));
    }
    if reference.starts_with('-') {
        return Err("it starts with '-', which git would read as an option".to_string());
    }
    if let Some(bad) = reference
        .chars()
        .find(|c| c.is_control() || c.is_whitespace() || "~^:?*[\\".contains(*c))
    {
        return Err(format!("refs cannot contain {bad:?}"));
    }
    if reference.contains("..") {
        return Err("refs cannot contain '..'".to_string());
    }
    if reference.contains("@{") || reference == "@" {
        return Err("refs cannot use '@{…}' or be '@'".to_string());
    }
    if reference.starts_with('/') || reference.ends_with('/') || reference.contains("//") {
        return Err("refs cannot start or end with '/' or contain '//'".to_string());
    }
    if reference.ends_with('.') {
        return Err("refs cannot end with '.'".to_string());
    }
    for component in reference.split('/') {
        if component.starts_with('.') || component.ends_with(".lock") {
            return Err("no part of a ref may start with '.' or end with '.lock'".to_string());
        }
    }
    Ok(())
}

/// True for a full SHA-1 or SHA-256 object id, as [`crate::GitReader::resolve`] returns.
pub(crate) fn is_full_commit_id(value: &str) -> bool {
    (value.len() == 40 || value.len() == 64) && value.chars().all(|c| c.is_ascii_hexdigit())
}

/// True for something that can only be meant as an abbreviated commit id.
pub(crate) fn is_abbreviated_commit_id(value: &str) -> bool {
    (7..=64).contains(&value.len()) && value.chars().all(|c| c.is_ascii_hexdigit())
}

/// Checks a path inside a repository (a file, a folder, or a glob) and
/// returns it without a trailing '/'. The empty path is the repository root.
pub(crate) fn check_path(path: &str) -> Result<&str, String> {
    if path.len() > MAX_LENGTH {
        return Err(format!("the path is longer than {MAX_LENGTH} bytes"));
    }
    if let Some(bad) = path.chars().find(|c| c.is_control()) {
        return Err(format!("paths cannot contain {bad:?}"));
    }
    if path.starts_with('-') {
        return Err("it starts with '-', which git would read as an option".to_string());
    }
    if path.starts_with('/') {
        return Err("the path is absolute; write it relative to the repository root".to_string());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Ok(trimmed);
    }
    for segment in trimmed.split('/') {
        match segment {
            "" => return Err("the path contains an empty segment ('//')".to_string()),
            "." | ".." => {
                return Err(format!(
                    "the path contains a '{segment}' segment; write it from the repository root"
                ));
            }
            _ => {}
        }
    }
    Ok(trimmed)
}

#[cfg(test)]
mod tests {
    use super::{check_path, check_reference, is_abbreviated_commit_id, is_full_commit_id};

    #[test]
    fn accepts_plain_refs() {
        for reference in [
            "main",
            "feature/x",
            "v1.0.0",
            "refs/heads/main",
            "release-2024.01",
            "a@b",
        ] {
            assert_eq!(check_reference(reference), Ok(()), "{reference}");
        }
    }

    #[test]
    fn refuses_options_revision_syntax_and_escapes() {
        for reference in [
            "",
            "-x",
            "--output=/tmp/x",
            "main..other",
            "../x",
            "main~1",
            "main^{tree}",
            "HEAD:file",
            "ma*in",
            "a b",
            "a\0b",
            "a\nb",
            "@{-1}",
            "@",
            "/main",
            "main/",
            "a//b",
            "main.",
            ".hidden",
            "a/.b",
            "main.lock",
            "back\\slash",
        ] {
            assert!(
                check_reference(reference).is_err(),
                "{reference:?} was accepted"
            );
        }
    }

    #[test]
    fn recognises_commit_ids() {
        assert!(is_full_commit_id(&"a".repeat(40)));
        assert!(is_full_commit_id(&"0".repeat(64)));
        assert!(!is_full_commit_id(&"a".repeat(39)));
        assert!(!is_full_commit_id(&"g".repeat(40)));
        assert!(is_abbreviated_commit_id("deadbee"));
        assert!(!is_abbreviated_commit_id("dead"));
        assert!(!is_abbreviated_commit_id("main"));
    }

    #[test]
    fn paths_stay_inside_the_repository() {
        assert_eq!(check_path("catalog-info.yaml"), Ok("catalog-info.yaml"));
        assert_eq!(check_path("services/a/"), Ok("services/a"));
        assert_eq!(
            check_path("**/catalog-info.yaml"),
            Ok("**/catalog-info.yaml")
        );
        assert_eq!(check_path(""), Ok(""));
        for path in [
            "-x",
            "--literal",
            "/etc/passwd",
            "../x",
            "a/../../b",
            "a/..",
            "./a",
            "a/./b",
            "a//b",
            "a\0b",
            "a\nb",
        ] {
            assert!(check_path(path).is_err(), "{path:?} was accepted");
        }
    }
}

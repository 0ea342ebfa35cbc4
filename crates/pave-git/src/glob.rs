//! Globs over repository paths, as [`crate::GitReader::list_files`] takes them.
//!
//! `*`, `?` and `[…]` stay within one path segment; `**` spans segments
//! (`**/catalog-info.yaml` also matches `catalog-info.yaml` at the root);
//! `{a,b}` is an alternation. Matching is case-sensitive, like git.

use globset::{GlobBuilder, GlobMatcher};

use crate::error::GitError;
use crate::validation::check_path;

/// Characters that make a path segment a pattern rather than a name.
const PATTERN_CHARACTERS: &[char] = &['*', '?', '[', ']', '{', '}', '\\'];

/// A compiled glob and the literal folder it is confined to.
#[derive(Debug, Clone)]
pub(crate) struct PathGlob {
    matcher: GlobMatcher,
    prefix: String,
}

impl PathGlob {
    pub(crate) fn new(glob: &str) -> Result<PathGlob, GitError> {
        let invalid = |reason: String| GitError::InvalidGlob {
            glob: glob.to_string(),
            reason,
        };
        let checked = check_path(glob).map_err(invalid)?;
        if checked.is_empty() {
            return Err(invalid(
                "the glob is empty; use \"**\" for every file".to_string(),
            ));
        }
        let matcher = GlobBuilder::new(checked)
            .literal_separator(true)
            .backslash_escape(true)
            .build()
            .map_err(|error| invalid(error.kind().to_string()))?
            .compile_matcher();
        let prefix = checked
            .split('/')
            .take_while(|segment| !segment.contains(PATTERN_CHARACTERS))
            .collect::<Vec<_>>()
            .join("/");
        Ok(PathGlob { matcher, prefix })
    }

    /// The leading segments without pattern characters, so git lists only
    /// that part of the tree (`""` when the glob starts with a pattern).
    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn is_match(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }
}

#[cfg(test)]
mod tests {
    use super::PathGlob;

    fn glob(text: &str) -> PathGlob {
        PathGlob::new(text).unwrap_or_else(|error| panic!("{text}: {error}"))
    }

    #[test]
    fn star_stays_in_one_segment_and_double_star_spans() {
        let services = glob("services/*/catalog-info.yaml");
        assert_eq!(services.prefix(), "services");
        assert!(services.is_match("services/a/catalog-info.yaml"));
        assert!(!services.is_match("services/a/b/catalog-info.yaml"));
        assert!(!services.is_match("catalog-info.yaml"));

        let anywhere = glob("**/catalog-info.yaml");
        assert_eq!(anywhere.prefix(), "");
        assert!(anywhere.is_match("catalog-info.yaml"));
        assert!(anywhere.is_match("a/b/catalog-info.yaml"));
        assert!(!anywhere.is_match("a/b/catalog-info.yml"));

        let alternatives = glob("docs/{a,b}.yaml");
        assert_eq!(alternatives.prefix(), "docs");
        assert!(alternatives.is_match("docs/b.yaml"));

        assert_eq!(glob("a/b.yaml").prefix(), "a/b.yaml");
    }

    #[test]
    fn refuses_unsafe_or_broken_globs() {
        for text in ["", "../*", "-*", "/etc/*", "a/[b", "a\0*"] {
            assert!(PathGlob::new(text).is_err(), "{text:?} was accepted");
        }
    }
}

//! Which remote URLs git may be pointed at.
//!
//! Git accepts many things as a "URL": `ext::` runs a command, `ssh://` and
//! scp-like `host:path` run ssh, a leading `-` is read as an option, a plain
//! path reads any repository on disk without a scheme saying so. Pave accepts
//! only `file:///absolute/path`, `https://host/path`, and `http://` on the
//! loopback interface (for tests and local mirrors), and this module is the
//! one place that decides it.

use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::error::GitError;

/// A remote URL that passed [`Remote::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Remote {
    url: String,
    transport: Transport,
}

/// How git will talk to the remote; decides which protocols are enabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transport {
    File,
    Https,
    /// `http://` to 127.0.0.1, localhost or [::1] only.
    LoopbackHttp,
}

impl Remote {
    /// Accepts the remote or says why not.
    pub(crate) fn parse(url: &str) -> Result<Remote, GitError> {
        let unsupported = |reason: &str| GitError::UnsupportedScheme {
            url: url.to_string(),
            reason: reason.to_string(),
        };
        let invalid = |reason: &str| GitError::InvalidUrl {
            url: url.to_string(),
            reason: reason.to_string(),
        };

        if url.is_empty() {
            return Err(invalid("the remote is empty"));
        }
        if url.starts_with('-') {
            return Err(invalid(
                "it starts with '-', which git would read as an option",
            ));
        }
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(unsupported(if url.contains("::") {
                "`<transport>::` remote helpers can run commands"
            } else if url.starts_with('/') || url.starts_with('.') || url.starts_with('~') {
                "plain local paths are refused; write file:///absolute/path"
            } else if url.contains(':') {
                "scp-like `host:path` means ssh, which is not supported"
            } else {
                "it has no scheme"
            }));
        };
        if scheme.contains("::") {
            return Err(unsupported(
                "`<transport>::` remote helpers can run commands",
            ));
        }
        if let Some(bad) = url.chars().find(|c| c.is_control() || c.is_whitespace()) {
            return Err(invalid(&format!("it contains the character {bad:?}")));
        }
        if url.contains('?') || url.contains('#') {
            return Err(invalid(
                "a remote has no query or fragment; remove the part from '?' or '#'",
            ));
        }
        let transport = match scheme.to_ascii_lowercase().as_str() {
            "file" => {
                check_file_path(rest).map_err(|reason| invalid(&reason))?;
                Transport::File
            }
            "https" => {
                check_authority_and_path(rest).map_err(|reason| invalid(&reason))?;
                Transport::Https
            }
            "http" => {
                let host = check_authority_and_path(rest).map_err(|reason| invalid(&reason))?;
                if !is_loopback(&host) {
                    return Err(unsupported(
                        "plain http is allowed only for 127.0.0.1, localhost or [::1]; use https",
                    ));
                }
                Transport::LoopbackHttp
            }
            other => {
                return Err(unsupported(&format!(
                    "the scheme {other:?} is not supported"
                )));
            }
        };
        Ok(Remote {
            url: url.to_string(),
            transport,
        })
    }

    /// The URL exactly as given (it also names the mirror).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn transport(&self) -> Transport {
        self.transport
    }
}

/// The `file://` URL of an absolute local path. Every byte other than
/// letters, digits, `-._~` and `/` is percent-encoded: git decodes `%XX` in
/// file URLs, so a directory named `50%41` must be written `50%2541`, and
/// encoding spaces, '?' and '#' lets [`Remote::parse`] accept such paths.
pub(crate) fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for &byte in path.as_os_str().as_bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// `file://` must be followed by an absolute path (empty host), so the URL
/// cannot name another machine, and must not wander with `..`.
fn check_file_path(rest: &str) -> Result<(), String> {
    let Some(path) = rest.strip_prefix('/') else {
        return Err("a file URL must be file:///absolute/path (three slashes)".to_string());
    };
    if path.trim_matches('/').is_empty() {
        return Err("the file URL names no repository".to_string());
    }
    if path.split('/').any(|segment| segment == "..") {
        return Err("the path contains a '..' segment; write the canonical path".to_string());
    }
    Ok(())
}

/// Checks `host[:port]/path` and returns the lowercased host.
fn check_authority_and_path(rest: &str) -> Result<String, String> {
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err(
            "credentials in the URL are refused (they would be stored in the mirror and \
                    printed in logs)"
                .to_string(),
        );
    }
    let (host, port) = split_port(authority);
    if host.is_empty() {
        return Err("the URL has no host".to_string());
    }
    let host_is_valid = if let Some(inner) = host.strip_prefix('[') {
        inner.strip_suffix(']').is_some_and(|ip| {
            !ip.is_empty() && ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':')
        })
    } else {
        host.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            && !host.starts_with(['-', '.'])
    };
    if !host_is_valid {
        return Err(format!("the host {host:?} is not a valid host name"));
    }
    if let Some(port) = port
        && (port.is_empty() || port.len() > 5 || !port.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(format!("the port {port:?} is not a number"));
    }
    if path.trim_matches('/').is_empty() {
        return Err("the URL names no repository path".to_string());
    }
    if path.split('/').any(|segment| segment == "..") {
        return Err("the path contains a '..' segment".to_string());
    }
    Ok(host.to_ascii_lowercase())
}

/// Splits `host:port`, leaving `[v6]` hosts whole.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    if authority.starts_with('[') {
        match authority.find(']') {
            Some(end) => {
                let (host, after) = authority.split_at(end + 1);
                (host, after.strip_prefix(':'))
            }
            None => (authority, None),
        }
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "[::1]")
}

#[cfg(test)]
mod tests {
    use super::{Remote, Transport, file_url};
    use crate::error::GitError;

    #[test]
    fn accepts_file_https_and_loopback_http() {
        let cases = [
            ("file:///srv/git/repo.git", Transport::File),
            ("FILE:///srv/git/repo", Transport::File),
            ("https://github.com/backstage/backstage", Transport::Https),
            (
                "https://git.example.com:8443/group/sub/repo.git",
                Transport::Https,
            ),
            ("http://127.0.0.1:9/x.git", Transport::LoopbackHttp),
            ("http://localhost/x.git", Transport::LoopbackHttp),
            ("http://[::1]:8080/x.git", Transport::LoopbackHttp),
        ];
        for (url, transport) in cases {
            let remote = Remote::parse(url).unwrap_or_else(|error| panic!("{url}: {error}"));
            assert_eq!(remote.transport(), transport, "{url}");
            assert_eq!(remote.url(), url);
        }
    }

    #[test]
    fn refuses_everything_else() {
        let cases = [
            ("", "empty"),
            ("-uhttps://x/y", "option"),
            ("--upload-pack=touch /tmp/pwned", "option"),
            ("ext::sh -c touch% /tmp/pwned", "remote helpers"),
            ("fd::17", "remote helpers"),
            ("ssh://git@github.com/o/r.git", "\"ssh\""),
            ("git://github.com/o/r.git", "\"git\""),
            ("git@github.com:o/r.git", "scp-like"),
            ("github.com:o/r", "scp-like"),
            ("/srv/git/repo.git", "plain local paths"),
            ("./repo", "plain local paths"),
            ("~/repo", "plain local paths"),
            ("repo", "no scheme"),
            ("file://host/srv/repo", "three slashes"),
            ("file:///", "no repository"),
            ("file:///srv/../etc/repo", "'..'"),
            ("https://", "no host"),
            ("https://github.com", "no repository"),
            ("https://github.com/", "no repository"),
            ("https://user:token@github.com/o/r", "credentials"),
            ("https://github.com/o/../r", "'..'"),
            ("https://git hub.com/o/r", "character"),
            ("https://github.com/o/r\0", "character"),
            ("https://github.com/o/r\n", "character"),
            ("https://github.com/o/r?x=1", "query"),
            ("https://-x.com/o/r", "not a valid host"),
            ("https://github.com:22a/o/r", "not a number"),
            ("http://example.com/o/r", "plain http"),
            ("http://127.0.0.2/o/r", "plain http"),
            ("ftp://example.com/o/r", "\"ftp\""),
        ];
        for (url, needle) in cases {
            match Remote::parse(url) {
                Ok(remote) => panic!("{url:?} was accepted as {remote:?}"),
                Err(error @ (GitError::InvalidUrl { .. } | GitError::UnsupportedScheme { .. })) => {
                    let message = error.to_string();
                    assert!(message.contains(needle), "{url:?}: {message}");
                }
                Err(other) => panic!("{url:?}: unexpected error {other:?}"),
            }
        }
    }

    #[test]
    fn file_urls_encode_what_git_would_decode_or_pave_refuse() {
        let path = std::path::Path::new("/srv/my data/50%41/a#b?c/r.git");
        let url = file_url(path);
        assert_eq!(url, "file:///srv/my%20data/50%2541/a%23b%3Fc/r.git");
        assert!(Remote::parse(&url).is_ok(), "{url}");
        assert_eq!(
            file_url(std::path::Path::new("/srv/git/o/r.git")),
            "file:///srv/git/o/r.git"
        );
    }
}

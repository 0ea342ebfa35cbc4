//! `backstage.io/source-location`: where an entity's code lives. Backstage
//! sets it to the folder of the descriptor's location for entities read from
//! a URL, and deployments read `score.yaml` beside `catalog-info.yaml` from
//! there; Pave does the same. An annotation the entity sets itself wins.

/// The annotation.
pub const SOURCE_LOCATION: &str = "backstage.io/source-location";

/// `url:<folder>/` for a `url:` location key, or `None` for other
/// locations (a file location's folder is a path on the server, not a
/// source anyone can fetch).
///
/// - `…/blob/<ref>/<path>/file.yaml` (GitHub style, also `/-/blob/` for
///   GitLab) becomes `…/tree/<ref>/<path>/`;
/// - `<remote>#<ref>:<path>/file.yaml` becomes `<remote>#<ref>:<path>/`.
pub fn source_location_of(location_key: &str) -> Option<String> {
    let url = location_key.strip_prefix("url:")?;
    let folder = if let Some((remote, rest)) = url.split_once('#') {
        let (reference, path) = rest.split_once(':')?;
        let folder = path
            .rsplit_once('/')
            .map(|(folder, _)| folder)
            .unwrap_or("");
        if folder.is_empty() {
            format!("{remote}#{reference}:")
        } else {
            format!("{remote}#{reference}:{folder}/")
        }
    } else if let Some(index) = url.rfind("/blob/") {
        let (base, rest) = url.split_at(index);
        let rest = &rest["/blob/".len()..];
        let folder = rest.rsplit_once('/').map(|(folder, _)| folder)?;
        format!("{base}/tree/{folder}/")
    } else {
        let (folder, _) = url.rsplit_once('/')?;
        format!("{folder}/")
    };
    Some(format!("url:{folder}"))
}

#[cfg(test)]
mod tests {
    use super::source_location_of;

    #[test]
    fn the_folder_of_the_descriptor_becomes_the_source() {
        let cases = [
            (
                "url:https://github.com/o/r/blob/main/catalog-info.yaml",
                Some("url:https://github.com/o/r/tree/main/"),
            ),
            (
                "url:https://gitlab.com/g/r/-/blob/v1/services/a/catalog-info.yaml",
                Some("url:https://gitlab.com/g/r/-/tree/v1/services/a/"),
            ),
            (
                "url:file:///srv/git/team/orders.git/blob/main/catalog-info.yaml",
                Some("url:file:///srv/git/team/orders.git/tree/main/"),
            ),
            (
                "url:file:///srv/r.git#main:svc/catalog-info.yaml",
                Some("url:file:///srv/r.git#main:svc/"),
            ),
            (
                "url:file:///srv/r.git#:catalog-info.yaml",
                Some("url:file:///srv/r.git#:"),
            ),
            ("file:/srv/catalog/catalog-info.yaml", None),
        ];
        for (key, expected) in cases {
            assert_eq!(source_location_of(key).as_deref(), expected, "{key}");
        }
    }
}

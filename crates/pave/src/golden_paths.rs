//! The golden paths shipped with Pave (`golden-paths/` in the source tree),
//! compiled into the binary and written to the data directory at start-up,
//! where the catalog reads them like any file location.
//!
//! They are rewritten on every start, so an upgraded binary brings its new
//! templates; edits made in the data directory do not survive a restart
//! (register your own templates instead).

use std::path::{Path, PathBuf};

use anyhow::Context;

#[derive(rust_embed::Embed)]
#[folder = "../../golden-paths/"]
struct GoldenPaths;

/// The location file that lists every golden path.
const LOCATION_FILE: &str = "all.yaml";

/// Writes the golden paths under `<data_dir>/golden-paths` and returns the
/// path of the location file to register.
pub fn install(data_dir: &Path) -> anyhow::Result<PathBuf> {
    let root = data_dir.join("golden-paths");
    // Built aside and swapped in, so a crash never leaves a partial copy.
    let staging = data_dir.join(".golden-paths.new");
    if staging.exists() {
        std::fs::remove_dir_all(&staging)
            .with_context(|| format!("cannot remove {}", staging.display()))?;
    }
    for name in GoldenPaths::iter() {
        let Some(file) = GoldenPaths::get(&name) else {
            continue;
        };
        let target = staging.join(name.as_ref());
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&target, file.data.as_ref())
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    if root.exists() {
        std::fs::remove_dir_all(&root)
            .with_context(|| format!("cannot replace {}", root.display()))?;
    }
    std::fs::rename(&staging, &root)
        .with_context(|| format!("cannot move the golden paths into {}", root.display()))?;
    Ok(root.join(LOCATION_FILE))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_golden_path_file_is_embedded_and_written() {
        let directory = tempfile::tempdir().expect("tempdir");
        let location = super::install(directory.path()).expect("install");
        assert!(location.ends_with("golden-paths/all.yaml"));
        let root = directory.path().join("golden-paths");
        for relative in [
            "python-service/template.yaml",
            "python-service/skeleton/.github/workflows/ci.yaml",
            "python-service/skeleton/app/server.py",
            "rust-service/skeleton/Cargo.toml",
            "rust-service/skeleton/.gitignore",
        ] {
            assert!(root.join(relative).is_file(), "{relative} is missing");
        }
        // A second start replaces the copy and leaves no staging behind.
        std::fs::write(root.join("stale.txt"), "old").expect("write");
        super::install(directory.path()).expect("install again");
        assert!(!root.join("stale.txt").exists());
        assert!(!directory.path().join(".golden-paths.new").exists());
    }
}

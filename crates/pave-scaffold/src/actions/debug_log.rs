//! `debug:log`: writes a message, and optionally the workspace's files, to
//! the task log.

use serde_json::{Value, json};

use super::files;
use super::{Action, ActionContext, ActionError, ActionFuture};

const NAME: &str = "debug:log";

/// File contents longer than this are cut in the log: a log line is for
/// reading, and the whole file is in the workspace anyway.
const MAX_LOGGED_FILE_BYTES: usize = 64 * 1024;

/// Logs a message and, on request, the workspace listing.
#[derive(Debug, Clone, Copy, Default)]
pub struct DebugLog;

/// What `listWorkspace` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    None,
    Names,
    Contents,
}

impl Action for DebugLog {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Writes a message to the task log, and optionally the workspace's file names or contents."
    }

    fn input_schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "message": {"type": "string", "description": "Message to log."},
                "listWorkspace": {
                    "description": "Also log the workspace: true or \"with-filenames\" for the names, \"with-contents\" for names and contents.",
                    "oneOf": [
                        {"type": "boolean"},
                        {"type": "string", "enum": ["with-filenames", "with-contents"]}
                    ]
                }
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            if let Some(message) = input.get("message").and_then(Value::as_str) {
                context.log(message);
            }
            let listing = match input.get("listWorkspace") {
                Some(Value::Bool(true)) => Listing::Names,
                Some(Value::String(mode)) if mode == "with-filenames" => Listing::Names,
                Some(Value::String(mode)) if mode == "with-contents" => Listing::Contents,
                _ => Listing::None,
            };
            if listing == Listing::None {
                return Ok(json!({}));
            }
            let entries = files::list_workspace(context, NAME)?;
            for (relative, is_directory) in entries {
                if is_directory {
                    continue;
                }
                if listing == Listing::Names {
                    context.log(relative);
                    continue;
                }
                let text = contents(context, &relative)?;
                context.log(format!("{relative}:\n{text}"));
            }
            Ok(json!({}))
        })
    }
}

/// A workspace file's contents for the log.
fn contents(context: &ActionContext<'_>, relative: &str) -> Result<String, ActionError> {
    // Symlinks pointing outside are reported, not read.
    let path = match context.workspace.resolve(relative) {
        Ok(path) => path,
        Err(error) => return Ok(format!("({error})")),
    };
    let bytes = std::fs::read(&path).map_err(|e| ActionError::io(NAME, "read", relative, e))?;
    let shown = &bytes[..bytes.len().min(MAX_LOGGED_FILE_BYTES)];
    let mut text = match std::str::from_utf8(shown) {
        Ok(text) => text.to_string(),
        // A cut in the middle of a character is still text.
        Err(error) if error.error_len().is_none() => {
            String::from_utf8_lossy(&shown[..error.valid_up_to()]).into_owned()
        }
        Err(_) => return Ok(format!("(binary, {} bytes)", bytes.len())),
    };
    if bytes.len() > MAX_LOGGED_FILE_BYTES {
        text.push_str(&format!("\n… ({} bytes in total)", bytes.len()));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::symlink;

    use serde_json::json;

    use super::super::test_support::{run, workspace, write_files};

    #[tokio::test]
    async fn logs_the_message() {
        let (directories, workspace) = workspace();
        let (result, log) = run(
            &directories,
            &workspace,
            "debug:log",
            json!({"message": "hello"}),
        )
        .await;
        assert_eq!(result.unwrap(), json!({}));
        assert_eq!(log, ["hello"]);
    }

    #[tokio::test]
    async fn lists_names_and_contents() {
        let (directories, workspace) = workspace();
        write_files(
            workspace.root(),
            &[("a.txt", b"alpha"), ("dir/b.bin", &[0xff, 0xfe])],
        );
        write_files(directories.outside.path(), &[("secret", b"top secret")]);
        symlink(
            directories.outside.path().join("secret"),
            workspace.root().join("link"),
        )
        .unwrap();

        let (result, log) = run(
            &directories,
            &workspace,
            "debug:log",
            json!({"listWorkspace": true}),
        )
        .await;
        result.unwrap();
        assert_eq!(log, ["a.txt", "dir/b.bin", "link"]);

        let (result, log) = run(
            &directories,
            &workspace,
            "debug:log",
            json!({"listWorkspace": "with-contents"}),
        )
        .await;
        result.unwrap();
        assert_eq!(log[0], "a.txt:\nalpha");
        assert!(log[1].contains("binary"), "{log:?}");
        assert!(!log[2].contains("top secret"), "{log:?}");
        assert!(log[2].contains("points outside"), "{log:?}");
    }

    #[tokio::test]
    async fn unknown_listing_modes_are_refused() {
        let (directories, workspace) = workspace();
        let (result, _log) = run(
            &directories,
            &workspace,
            "debug:log",
            json!({"listWorkspace": "everything"}),
        )
        .await;
        let error = result.unwrap_err().to_string();
        assert!(error.contains("listWorkspace"), "{error}");
    }
}

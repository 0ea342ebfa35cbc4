//! `fetch:template`: copies a skeleton from the template into the workspace,
//! rendering file contents and file and directory names with `values`.
//!
//! Follows Backstage's documented behaviour:
//! - Every file is templated unless `templateFileExtension` is set; then only
//!   files with that extension (`.njk` for `true`) are, and lose it.
//! - `copyWithoutTemplating` globs name files copied as is (their names are
//!   still rendered); the deprecated `copyWithoutRender` also leaves names
//!   alone. A glob matching a directory covers everything below it.
//! - A name that renders empty (`{% if values.x %}name{% endif %}`) is
//!   skipped together with everything below it.
//! - Existing files are kept unless `replace` is true.
//! - Files that are not UTF-8 are copied as is.
//!
//! Rendered names go through the workspace like any other path, and a name
//! that renders to something containing `..` is refused outright, so values
//! cannot steer a file outside the target directory.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::files::{self, SourceKind};
use super::{Action, ActionContext, ActionError, ActionFuture, parse_input};
use crate::text::{TextOptions, render_text};

const NAME: &str = "fetch:template";

/// The extension `templateFileExtension: true` stands for.
const DEFAULT_TEMPLATE_EXTENSION: &str = ".njk";

/// Copies a skeleton into the workspace, rendering contents and names.
#[derive(Debug, Clone, Copy, Default)]
pub struct FetchTemplate;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Input {
    url: String,
    #[serde(default = "current_directory")]
    target_path: String,
    #[serde(default)]
    values: Map<String, Value>,
    copy_without_templating: Option<Vec<String>>,
    copy_without_render: Option<Vec<String>>,
    #[serde(default)]
    cookiecutter_compat: bool,
    template_file_extension: Option<Value>,
    #[serde(default)]
    replace: bool,
    #[serde(default)]
    trim_blocks: bool,
    #[serde(default)]
    lstrip_blocks: bool,
}

fn current_directory() -> String {
    "./".to_string()
}

/// How the settings combine into per-entry decisions.
struct Plan {
    extension: Option<String>,
    copy_only: GlobSet,
    /// `false` only for the deprecated `copyWithoutRender`, whose matches
    /// keep their names unrendered too.
    render_copied_names: bool,
    variables: Value,
    options: TextOptions,
}

impl Plan {
    fn new(input: &Input) -> Result<Plan, ActionError> {
        let extension = match &input.template_file_extension {
            None | Some(Value::Bool(false)) => None,
            Some(Value::Bool(true)) => Some(DEFAULT_TEMPLATE_EXTENSION.to_string()),
            Some(Value::String(text)) if text.is_empty() => None,
            Some(Value::String(text)) if text.starts_with('.') => Some(text.clone()),
            Some(Value::String(text)) => Some(format!(".{text}")),
            Some(_) => {
                return Err(ActionError::invalid(
                    NAME,
                    "templateFileExtension",
                    "must be true, false or an extension such as `.njk`",
                ));
            }
        };
        let (patterns, key, render_copied_names) = match (
            &input.copy_without_templating,
            &input.copy_without_render,
        ) {
            (Some(_), Some(_)) => {
                return Err(ActionError::invalid(
                    NAME,
                    "copyWithoutRender",
                    "cannot be used together with copyWithoutTemplating; keep only copyWithoutTemplating",
                ));
            }
            (Some(patterns), None) => (patterns.as_slice(), "copyWithoutTemplating", true),
            (None, Some(patterns)) => (patterns.as_slice(), "copyWithoutRender", false),
            (None, None) => (&[][..], "copyWithoutTemplating", true),
        };
        if extension.is_some() && (!patterns.is_empty() || input.cookiecutter_compat) {
            return Err(ActionError::invalid(
                NAME,
                "templateFileExtension",
                "cannot be combined with copyWithoutTemplating, copyWithoutRender or cookiecutterCompat; with an extension, files without it are already copied as is",
            ));
        }
        let mut builder = GlobSetBuilder::new();
        for (index, pattern) in patterns.iter().enumerate() {
            let cleaned = pattern.trim_start_matches("./").trim_end_matches('/');
            let glob = GlobBuilder::new(cleaned)
                .literal_separator(true)
                .build()
                .map_err(|error| {
                    ActionError::invalid(NAME, &format!("{key}[{index}]"), error.to_string())
                })?;
            builder.add(glob);
        }
        let copy_only = builder
            .build()
            .map_err(|error| ActionError::invalid(NAME, key, error.to_string()))?;
        let root_name = if input.cookiecutter_compat {
            "cookiecutter"
        } else {
            "values"
        };
        let mut variables = Map::new();
        variables.insert(root_name.to_string(), Value::Object(input.values.clone()));
        Ok(Plan {
            extension,
            copy_only,
            render_copied_names,
            variables: Value::Object(variables),
            options: TextOptions {
                cookiecutter_compat: input.cookiecutter_compat,
                trim_blocks: input.trim_blocks,
                lstrip_blocks: input.lstrip_blocks,
            },
        })
    }

    /// Whether `relative` or a directory above it matches a copy-only glob.
    fn is_copy_only(&self, relative: &str) -> bool {
        let mut prefix = relative;
        loop {
            if self.copy_only.is_match(prefix) {
                return true;
            }
            match prefix.rfind('/') {
                Some(index) => prefix = &prefix[..index],
                None => return false,
            }
        }
    }

    fn render(&self, text: &str, path: &str) -> Result<String, ActionError> {
        render_text(text, &self.variables, self.options).map_err(|source| ActionError::Template {
            action: NAME.to_string(),
            path: path.to_string(),
            source: Box::new(source),
        })
    }

    /// The entry's output path below the target (`None`: skip it) and
    /// whether its contents are templated.
    fn output_path(
        &self,
        relative: &str,
        is_file: bool,
    ) -> Result<(Option<String>, bool), ActionError> {
        let (output, render_contents) = match &self.extension {
            Some(extension) => {
                let file_name = relative.rsplit('/').next().unwrap_or(relative);
                let templated = is_file
                    && file_name.len() > extension.len()
                    && file_name.ends_with(extension.as_str());
                let stripped = if templated {
                    &relative[..relative.len() - extension.len()]
                } else {
                    relative
                };
                (self.render(stripped, relative)?, templated)
            }
            None => {
                let render_contents = !self.is_copy_only(relative);
                let output = if render_contents || self.render_copied_names {
                    self.render(relative, relative)?
                } else {
                    relative.to_string()
                };
                (output, render_contents)
            }
        };
        // As in Backstage: an empty rendered segment means "leave this out".
        if output.is_empty()
            || output.starts_with('/')
            || output.contains("//")
            || output.ends_with('/')
        {
            return Ok((None, render_contents));
        }
        if output.split('/').any(|segment| segment == "..") {
            return Err(ActionError::failed(
                NAME,
                format!(
                    "the name `{relative}` rendered to `{output}`, which climbs out of the target directory; check the values used in file names"
                ),
            ));
        }
        Ok((Some(output), render_contents))
    }
}

impl Action for FetchTemplate {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "Copies a skeleton next to the template into the workspace, rendering file contents and names with `values`."
    }

    fn input_schema(&self) -> Value {
        let patterns = json!({"type": "array", "items": {"type": "string"}});
        json!({
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {
                    "type": "string",
                    "description": "Skeleton directory, relative to the template's directory (remote URLs are not supported)."
                },
                "targetPath": {
                    "type": "string",
                    "description": "Directory in the workspace to write into; defaults to the workspace root.",
                    "default": "./"
                },
                "values": {
                    "type": "object",
                    "description": "Values the skeleton reads as `${{ values.x }}`."
                },
                "copyWithoutTemplating": {
                    "description": "Globs (relative to the skeleton) of files copied without templating their contents; their names are still rendered.",
                    "allOf": [patterns]
                },
                "copyWithoutRender": {
                    "description": "Deprecated: like copyWithoutTemplating, but names are not rendered either.",
                    "allOf": [patterns]
                },
                "cookiecutterCompat": {
                    "type": "boolean",
                    "description": "Read `{{ cookiecutter.x }}` instead of `${{ values.x }}`.",
                    "default": false
                },
                "templateFileExtension": {
                    "description": "Only template files with this extension (true means `.njk`) and remove it; other files are copied as is.",
                    "type": ["boolean", "string"],
                    "default": false
                },
                "replace": {
                    "type": "boolean",
                    "description": "Overwrite files that already exist in the workspace.",
                    "default": false
                },
                "trimBlocks": {
                    "type": "boolean",
                    "description": "Remove the first newline after a block tag.",
                    "default": false
                },
                "lstripBlocks": {
                    "type": "boolean",
                    "description": "Strip whitespace before a block tag on its line.",
                    "default": false
                },
                "token": {
                    "type": "string",
                    "description": "Accepted for Backstage compatibility and ignored: content is never fetched remotely."
                }
            }
        })
    }

    fn run<'a>(&'a self, context: &'a mut ActionContext<'_>, input: &'a Value) -> ActionFuture<'a> {
        Box::pin(async move {
            let input: Input = parse_input(NAME, input)?;
            let plan = Plan::new(&input)?;
            if input.copy_without_render.is_some() {
                context.log("copyWithoutRender is deprecated; use copyWithoutTemplating");
            }
            let (template, source) =
                files::source_directory(context, NAME, &input.url, "fetch:template:file")?;
            let target = input.target_path.as_str();
            files::create_directory(context.workspace, NAME, target)?;
            let entries = files::walk(context, NAME, template, &source)?;
            context.log(format!(
                "Processing {} template files and directories from `{}` into `{target}`",
                entries.len(),
                input.url
            ));
            for entry in entries {
                context.check_cancelled(NAME)?;
                let is_file = matches!(entry.kind, SourceKind::File(_));
                let (output, render_contents) = plan.output_path(&entry.relative, is_file)?;
                let Some(output) = output else {
                    context.log(format!(
                        "Skipping `{}`: its name rendered empty",
                        entry.relative
                    ));
                    continue;
                };
                let destination = files::join(target, &output);
                let path = files::destination(context.workspace, NAME, &destination)?;
                if !input.replace && path.symlink_metadata().is_ok() {
                    if is_file {
                        context.log(format!(
                            "Keeping existing `{destination}` (set replace to overwrite)"
                        ));
                    }
                    continue;
                }
                match entry.kind {
                    SourceKind::Directory => {
                        files::create_directory(context.workspace, NAME, &destination)?;
                    }
                    SourceKind::File(source_file) => {
                        let (bytes, permissions) =
                            files::read_source(NAME, template, &source_file)?;
                        let contents = match (render_contents, String::from_utf8(bytes)) {
                            (true, Ok(text)) => plan.render(&text, &entry.relative)?.into_bytes(),
                            (true, Err(binary)) => {
                                context.log(format!(
                                    "Copying binary file `{}` without templating",
                                    entry.relative
                                ));
                                binary.into_bytes()
                            }
                            (false, Ok(text)) => text.into_bytes(),
                            (false, Err(binary)) => binary.into_bytes(),
                        };
                        files::write_file(
                            context.workspace,
                            NAME,
                            &destination,
                            &contents,
                            Some(permissions),
                        )?;
                    }
                }
            }
            Ok(json!({}))
        })
    }
}

#[cfg(test)]
#[path = "fetch_template_tests.rs"]
mod tests;

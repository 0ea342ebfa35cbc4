//! Whole text templates: the files and file names of a `fetch:template`
//! skeleton. Same engine and sandbox as step expressions (see
//! `expression`), but the result is always text and the context is whatever
//! the action passes (`values`, or `cookiecutter` in compatibility mode).

use serde_json::Value;

use crate::compat;
use crate::expression::{
    ExpressionError, ExpressionErrorKind, Failure, build_environment, shorten,
};
use crate::limits::{self, MAX_RENDERED_BYTES, MAX_STRING_BYTES};

/// How [`render_text`] reads a text template.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TextOptions {
    /// `{{ cookiecutter.x }}` syntax (Jinja's `{{ }}` delimiters, a `jsonify`
    /// filter) instead of `${{ values.x }}`.
    pub cookiecutter_compat: bool,
    /// Remove the first newline after a block tag (Nunjucks' `trimBlocks`).
    pub trim_blocks: bool,
    /// Strip whitespace before a block tag on its line (`lstripBlocks`).
    pub lstrip_blocks: bool,
}

/// Renders a whole text template, such as a skeleton file or file name of
/// `fetch:template`, with `variables` (an object: its keys are the top-level
/// names, e.g. `values`) as the context. The result is always text.
///
/// Text without any tag is returned as is, whatever its size. Templated text
/// is bounded like expressions, with more fuel since a file holds many tags.
pub fn render_text(
    text: &str,
    variables: &Value,
    options: TextOptions,
) -> Result<String, ExpressionError> {
    let variable_open = if options.cookiecutter_compat {
        "{{"
    } else {
        "${{"
    };
    if !(text.contains(variable_open) || text.contains("{%") || text.contains("{#")) {
        return Ok(text.to_string());
    }
    let failure = |kind, message: String, line: Option<usize>| ExpressionError {
        step_id: None,
        key_path: String::new(),
        expression: line
            .and_then(|number| text.lines().nth(number.saturating_sub(1)))
            .map(|source| shorten(source.trim()))
            .unwrap_or_default(),
        kind,
        message: match line {
            Some(number) => format!("line {number}: {message}"),
            None => message,
        },
    };
    if text.len() > MAX_STRING_BYTES {
        return Err(failure(
            ExpressionErrorKind::LimitExceeded,
            format!(
                "the text is {} bytes, more than the {MAX_STRING_BYTES} bytes that can be templated; copy it without templating",
                text.len()
            ),
            None,
        ));
    }
    let env = build_environment(options, limits::FUEL_PER_TEXT).map_err(|error| {
        failure(
            ExpressionErrorKind::Evaluation,
            format!("the expression engine could not start: {error}"),
            None,
        )
    })?;
    let source = compat::translate_template(text);
    let context = minijinja::Value::from(minijinja::value::Serde(variables));
    let rendered = env.render_str(&source, context).map_err(|error| {
        let converted = Failure::from_minijinja("", "", &error);
        if converted.kind != ExpressionErrorKind::Syntax {
            return failure(converted.kind, converted.message, error.line());
        }
        // An unclosed `{#` or `{%` is reported where the file ends; point at
        // where it opens instead, and say how to keep such text literal
        // (shell `${#array[@]}` and Markdown `{#id}` are common culprits).
        let opener = if converted.message.contains("comment") {
            Some("{#")
        } else if converted.message.contains("block") {
            Some("{%")
        } else {
            None
        };
        let line = opener
            .and_then(|opener| text.lines().position(|line| line.contains(opener)))
            .map(|index| index + 1)
            .or(error.line());
        failure(
            converted.kind,
            format!(
                "{}; if this file is not a template, list it in `copyWithoutTemplating`, or wrap literal `{{#`, `{{%` and `${{{{` text in {{% raw %}}…{{% endraw %}}",
                converted.message
            ),
            line,
        )
    })?;
    if rendered.len() > MAX_RENDERED_BYTES {
        return Err(failure(
            ExpressionErrorKind::LimitExceeded,
            format!(
                "it rendered {} bytes, more than the limit of {MAX_RENDERED_BYTES}",
                rendered.len()
            ),
            None,
        ));
    }
    Ok(rendered)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn renders_values_and_blocks_and_leaves_plain_braces() {
        let variables = json!({"values": {"name": "svc", "tags": ["a"]}});
        let text = "name: ${{ values.name }}\n{% if values.tags %}tagged{% endif %}\nhelm: {{ .Values.x }}\n";
        assert_eq!(
            render_text(text, &variables, TextOptions::default()).unwrap(),
            "name: svc\ntagged\nhelm: {{ .Values.x }}\n"
        );
    }

    #[test]
    fn cookiecutter_syntax_uses_plain_braces() {
        let variables = json!({"cookiecutter": {"name": "svc"}});
        let options = TextOptions {
            cookiecutter_compat: true,
            ..TextOptions::default()
        };
        assert_eq!(
            render_text(
                "{{ cookiecutter.name }} {{ cookiecutter.name | jsonify }}",
                &variables,
                options
            )
            .unwrap(),
            "svc \"svc\""
        );
    }

    #[test]
    fn an_unclosed_comment_points_at_its_line_and_says_how_to_keep_it() {
        let text = "#!/bin/sh\nitems=(a b)\necho ${#items[@]}\necho done\necho end\n";
        let error = render_text(text, &json!({}), TextOptions::default()).unwrap_err();
        assert!(error.message.starts_with("line 3:"), "{error}");
        assert_eq!(error.expression, "echo ${#items[@]}");
        assert!(
            error.to_string().contains("copyWithoutTemplating"),
            "{error}"
        );
        assert!(error.to_string().contains("{% raw %}"), "{error}");
    }

    #[test]
    fn text_without_tags_is_returned_unchanged() {
        let text = "x".repeat(MAX_STRING_BYTES + 10);
        assert_eq!(
            render_text(&text, &json!({}), TextOptions::default()).unwrap(),
            text
        );
    }

    #[test]
    fn errors_name_the_line() {
        let error = render_text(
            "ok\n${{ values.x | nosuchfilter }}\n",
            &json!({}),
            TextOptions::default(),
        )
        .unwrap_err();
        assert!(error.message.starts_with("line 2:"), "{error}");
        assert!(error.expression.contains("nosuchfilter"), "{error}");
    }

    #[test]
    fn includes_cannot_read_files() {
        let error = render_text(
            "{% include '/etc/passwd' %}",
            &json!({}),
            TextOptions::default(),
        )
        .unwrap_err();
        assert!(error.message.contains("cannot read files"), "{error}");
    }
}

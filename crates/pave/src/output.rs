//! Printing results as a table, JSON or YAML.

use comfy_table::{ContentArrangement, Table, presets::UTF8_BORDERS_ONLY};
use serde_json::Value;

use crate::cli::Output;

/// Prints `value` as JSON or YAML, or calls `table` for the table view.
pub fn print(
    output: Output,
    value: &Value,
    table: impl FnOnce(&Value) -> String,
) -> anyhow::Result<()> {
    match output {
        Output::Json => println!("{}", serde_json::to_string_pretty(value)?),
        Output::Yaml => print!("{}", serde_saphyr::to_string(value)?),
        Output::Table => {
            let text = table(value);
            if text.ends_with('\n') {
                print!("{text}");
            } else {
                println!("{text}");
            }
        }
    }
    Ok(())
}

/// A table of `items` with the given (header, field) columns.
pub fn table(items: &[Value], columns: &[(&str, &str)]) -> String {
    if items.is_empty() {
        return "(none)".into();
    }
    let mut table = Table::new();
    table
        .load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(columns.iter().map(|(header, _)| *header));
    for item in items {
        table.add_row(columns.iter().map(|(_, field)| cell(item.get(*field))));
    }
    table.to_string()
}

/// Field: value lines for one object.
pub fn fields(value: &Value, columns: &[(&str, &str)]) -> String {
    let width = columns
        .iter()
        .map(|(header, _)| header.len())
        .max()
        .unwrap_or(0);
    columns
        .iter()
        .filter(|(_, field)| value.get(*field).is_some_and(|v| !v.is_null()))
        .map(|(header, field)| format!("{header:width$}  {}", cell(value.get(*field))))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn cell(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| cell(Some(item)))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// `line:column: policy `id`: message` for a Cedar diagnostic.
pub fn diagnostic_line(diagnostic: &Value) -> String {
    let mut line = String::new();
    if let (Some(row), Some(column)) = (diagnostic.get("line"), diagnostic.get("column")) {
        line.push_str(&format!("{row}:{column}: "));
    }
    if let Some(policy) = diagnostic.get("policyId").and_then(Value::as_str) {
        line.push_str(&format!("policy `{policy}`: "));
    }
    line.push_str(
        diagnostic
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or(""),
    );
    line
}

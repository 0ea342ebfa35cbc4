//! Size and nesting bounds for everything a template author controls.
//!
//! Templates come from git repositories anyone in the organisation can write
//! to, so a template (or the values a user submits) must not be able to make
//! Pave recurse without bound or allocate without bound.

use serde_json::Value;

/// Deepest nesting of arrays and objects accepted in a template entity, in
/// submitted values and in a step input.
pub const MAX_DEPTH: usize = 64;

/// Most JSON nodes (scalars, arrays, objects) accepted in one template entity.
pub const MAX_NODES: usize = 100_000;

/// Longest single string accepted in a template, and longest string one
/// expression may render.
pub const MAX_STRING_BYTES: usize = 1024 * 1024;

/// Most bytes one rendered step input (all its strings and values together)
/// may hold.
pub const MAX_RENDERED_BYTES: usize = 4 * 1024 * 1024;

/// Interpreter fuel for one expression or one text template. minijinja charges
/// about one unit per instruction and per 64 bytes allocated, so this bounds
/// both loops and memory.
pub const FUEL_PER_RENDER: u64 = 200_000;

/// Interpreter fuel for one whole text template (a skeleton file or a file
/// name): files hold many tags, so more than one expression gets.
pub const FUEL_PER_TEXT: u64 = 2_000_000;

/// Nesting depth minijinja may reach while evaluating (loops, calls).
pub const RECURSION_LIMIT: usize = 64;

/// What exceeded a bound, described for the person who wrote the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BoundExceeded {
    Depth { path: String },
    Nodes,
    String { path: String, len: usize },
}

impl std::fmt::Display for BoundExceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BoundExceeded::Depth { path } => write!(
                f,
                "{path}: nested deeper than {MAX_DEPTH} levels; flatten the structure"
            ),
            BoundExceeded::Nodes => write!(
                f,
                "more than {MAX_NODES} values in total; split the template or move data into files"
            ),
            BoundExceeded::String { path, len } => write!(
                f,
                "{path}: string of {len} bytes is longer than the limit of {MAX_STRING_BYTES} bytes; move large content into skeleton files"
            ),
        }
    }
}

/// Checks depth, node count and string length without recursion, so that a
/// hostile value cannot overflow the stack while being checked.
pub(crate) fn check_json_bounds(root: &Value, root_path: &str) -> Result<(), BoundExceeded> {
    let mut stack: Vec<(&Value, usize, String)> = vec![(root, 0, root_path.to_string())];
    let mut nodes = 0usize;
    while let Some((value, depth, path)) = stack.pop() {
        nodes += 1;
        if nodes > MAX_NODES {
            return Err(BoundExceeded::Nodes);
        }
        if depth > MAX_DEPTH {
            return Err(BoundExceeded::Depth { path });
        }
        match value {
            Value::String(text) if text.len() > MAX_STRING_BYTES => {
                return Err(BoundExceeded::String {
                    path,
                    len: text.len(),
                });
            }
            Value::Array(items) => {
                for (index, item) in items.iter().enumerate() {
                    stack.push((item, depth + 1, format!("{path}[{index}]")));
                }
            }
            Value::Object(map) => {
                for (key, item) in map {
                    stack.push((item, depth + 1, join_key(&path, key)));
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Appends an object key to a dotted field path (`spec.steps[0]` + `input`).
pub(crate) fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

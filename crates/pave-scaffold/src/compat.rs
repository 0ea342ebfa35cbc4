//! Nunjucks syntax that templates use and minijinja spells differently.
//!
//! Backstage evaluates `${{ }}` with Nunjucks, whose expressions are
//! JavaScript-flavoured: templates in the wild write `===` and `!==`
//! (the sample templates do). minijinja only knows `==` and `!=`, which mean
//! the same for the JSON values templates compare, so the operators are
//! rewritten outside string literals before compiling. `{% raw %}` blocks are
//! copied untouched.

/// Rewrites `===`/`!==` to `==`/`!=` outside string literals in one expression.
pub(crate) fn translate_expression(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut quote: Option<char> = None;
    let mut chars = expression.char_indices().peekable();
    while let Some((index, ch)) = chars.next() {
        if let Some(open) = quote {
            out.push(ch);
            if ch == '\\' {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            } else if ch == open {
                quote = None;
            }
            continue;
        }
        match ch {
            '"' | '\'' => {
                quote = Some(ch);
                out.push(ch);
            }
            '=' | '!' if expression[index..].starts_with(if ch == '=' { "===" } else { "!==" }) => {
                out.push(ch);
                out.push('=');
                // Skip the two '=' that follow.
                chars.next();
                chars.next();
            }
            _ => out.push(ch),
        }
    }
    out
}

/// Applies [`translate_expression`] inside every `${{ }}` and `{% %}` tag of a
/// text template.
pub(crate) fn translate_template(source: &str) -> String {
    let mut out = String::with_capacity(source.len());
    let mut rest = source;
    loop {
        let next = [("${{", "}}"), ("{%", "%}")]
            .into_iter()
            .filter_map(|(open, close)| rest.find(open).map(|pos| (pos, open, close)))
            .min_by_key(|(pos, _, _)| *pos);
        let Some((pos, open, close)) = next else {
            out.push_str(rest);
            break;
        };
        out.push_str(&rest[..pos]);
        let after = &rest[pos + open.len()..];
        let Some(end) = find_close(after, close) else {
            // Unterminated tag: leave it for minijinja to report.
            out.push_str(&rest[pos..]);
            break;
        };
        let inner = &after[..end];
        out.push_str(open);
        out.push_str(&translate_expression(inner));
        out.push_str(close);
        rest = &after[end + close.len()..];
        if open == "{%" && tag_name(inner) == "raw" {
            match find_endraw(rest) {
                Some(index) => {
                    out.push_str(&rest[..index]);
                    rest = &rest[index..];
                }
                None => {
                    out.push_str(rest);
                    break;
                }
            }
        }
    }
    out
}

/// The first word of a block tag, without whitespace-control markers.
fn tag_name(inner: &str) -> &str {
    inner
        .trim_start_matches(['-', '+'])
        .trim_start()
        .split(|c: char| c.is_whitespace() || c == '-' || c == '+')
        .next()
        .unwrap_or("")
}

/// Position of the `{% endraw %}` tag that closes a raw block.
fn find_endraw(text: &str) -> Option<usize> {
    let mut offset = 0;
    while let Some(found) = text[offset..].find("{%") {
        let start = offset + found;
        if tag_name(&text[start + 2..]) == "endraw" {
            return Some(start);
        }
        offset = start + 2;
    }
    None
}

/// Finds `close` outside string literals.
fn find_close(text: &str, close: &str) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (index, ch) in text.char_indices() {
        if let Some(open) = quote {
            if escaped {
                escaped = false;
            } else if ch == '\\' {
                escaped = true;
            } else if ch == open {
                quote = None;
            }
            continue;
        }
        if ch == '"' || ch == '\'' {
            quote = Some(ch);
        } else if text[index..].starts_with(close) {
            return Some(index);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_equality_becomes_equality_outside_strings() {
        assert_eq!(
            translate_expression("a === 'x === y' and b !== \"z\""),
            "a == 'x === y' and b != \"z\""
        );
        assert_eq!(translate_expression("a == b"), "a == b");
        assert_eq!(translate_expression("a != b"), "a != b");
    }

    #[test]
    fn templates_are_translated_inside_tags_only() {
        assert_eq!(
            translate_template("x === ${{ a === 'b' }} {% if a !== 1 %}y{% endif %}"),
            "x === ${{ a == 'b' }} {% if a != 1 %}y{% endif %}"
        );
    }

    #[test]
    fn raw_blocks_are_left_alone() {
        let source = "{% raw %}${{ github.sha === 1 }}{% endraw %}${{ a === 1 }}";
        assert_eq!(
            translate_template(source),
            "{% raw %}${{ github.sha === 1 }}{% endraw %}${{ a == 1 }}"
        );
    }
}

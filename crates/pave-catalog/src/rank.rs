//! Ranking for catalog search: how well an entity matches the words of a
//! query, weighting where each word is found (an exact name beats a word in
//! a description).

use serde_json::Value;

/// Where a word can match, and what a match there is worth.
const WEIGHTS: &[(&str, f64)] = &[
    ("/metadata/title", 3.0),
    ("/spec/owner", 2.0),
    ("/spec/type", 1.5),
    ("/kind", 1.5),
    ("/metadata/description", 1.0),
];

/// The score of `entity` for `words` (lower-case); 0 when a word matches
/// nowhere.
pub fn score(entity: &Value, words: &[String]) -> f64 {
    let text = |pointer: &str| {
        entity
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase()
    };
    let name = text("/metadata/name");
    let tags: Vec<String> = entity
        .pointer("/metadata/tags")
        .and_then(Value::as_array)
        .map(|tags| {
            tags.iter()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect()
        })
        .unwrap_or_default();
    let mut total = 0.0;
    for word in words {
        let mut best: f64 = 0.0;
        if name == *word {
            best = best.max(10.0);
        } else if name.starts_with(word.as_str()) {
            best = best.max(6.0);
        } else if name.contains(word.as_str()) {
            best = best.max(4.0);
        }
        if tags.iter().any(|tag| tag == word) {
            best = best.max(3.5);
        } else if tags.iter().any(|tag| tag.contains(word.as_str())) {
            best = best.max(2.0);
        }
        for (pointer, weight) in WEIGHTS {
            if text(pointer).contains(word.as_str()) {
                best = best.max(*weight);
            }
        }
        if best == 0.0 {
            return 0.0;
        }
        total += best;
    }
    total
}

/// The words of a query: lower-cased, split on whitespace, at most 8.
pub fn words(term: &str) -> Vec<String> {
    term.split_whitespace()
        .map(str::to_lowercase)
        .filter(|word| !word.is_empty())
        .take(8)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn exact_names_beat_prefixes_beat_descriptions() {
        let exact = json!({"kind": "Component", "metadata": {"name": "payments"}});
        let prefix = json!({"kind": "Component", "metadata": {"name": "payments-api"}});
        let described = json!({"kind": "Component", "metadata": {"name": "ledger", "description": "Moves payments"}});
        let unrelated = json!({"kind": "Component", "metadata": {"name": "ledger"}});
        let words = words("Payments");
        assert!(score(&exact, &words) > score(&prefix, &words));
        assert!(score(&prefix, &words) > score(&described, &words));
        assert!(score(&described, &words) > 0.0);
        assert_eq!(score(&unrelated, &words), 0.0);
    }

    #[test]
    fn every_word_must_match_somewhere() {
        let entity = json!({"kind": "API", "metadata": {"name": "orders", "tags": ["rest"]}, "spec": {"owner": "team-a"}});
        assert!(score(&entity, &words("orders rest")) > 0.0);
        assert_eq!(score(&entity, &words("orders grpc")), 0.0);
        assert!(score(&entity, &words("team-a")) > 0.0);
    }
}

//! "Did you mean": the closest valid name to a misspelt one, for config fields, event names,
//! folder slugs and organizations. Case, `-` and `_` differences count as nothing; otherwise
//! the edit distance must be small relative to the name.

/// The candidate closest to `input`, if any is close enough.
pub fn closest<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let normal = normalise(input);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        let distance = if normalise(candidate) == normal {
            0
        } else {
            distance(input, candidate)
        };
        let limit = (input.chars().count().max(candidate.chars().count()) / 3).max(1);
        if distance <= limit && best.is_none_or(|(d, c)| (distance, candidate) < (d, c)) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '-' | '_'))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Levenshtein distance over characters, counting a swap of neighbours as one edit (optimal
/// string alignment, `strsim`'s).
fn distance(a: &str, b: &str) -> usize {
    strsim::osa_distance(a, b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIELDS: &[&str] = crate::config::parse::WEBHOOK_FIELDS;

    #[test]
    fn near_misses_find_their_name() {
        assert_eq!(
            closest("userEmial", FIELDS.iter().copied()),
            Some("userEmail")
        );
        assert_eq!(
            closest("user_email", FIELDS.iter().copied()),
            Some("userEmail")
        );
        assert_eq!(closest("event", FIELDS.iter().copied()), Some("events"));
        assert_eq!(closest("URL", FIELDS.iter().copied()), Some("url"));
        assert_eq!(
            closest("secret-rotation", FIELDS.iter().copied()),
            Some("secretRotation")
        );
        assert_eq!(
            closest("product.complete", ["product.completed", "product.deleted"]),
            Some("product.completed")
        );
    }

    #[test]
    fn far_names_suggest_nothing() {
        assert_eq!(closest("colour", FIELDS.iter().copied()), None);
        assert_eq!(closest("x", FIELDS.iter().copied()), None);
        assert_eq!(closest("anything", std::iter::empty()), None);
    }
}

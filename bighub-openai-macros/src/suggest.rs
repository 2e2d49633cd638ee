//! "Did you mean ...?": the closest known word to a misspelled one.
//!
//! Used for risk levels and parameter names; darling suggests attribute keys by itself.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(&lower, &candidate.to_lowercase()), candidate))
        // A third of the word's length (at least one edit) keeps `grup` -> `group` and drops
        // suggestions that share nothing with what was written.
        .filter(|(distance, _)| *distance <= (word.chars().count() / 3).max(1))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Levenshtein distance: insertions, deletions and substitutions, in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn suggests_close_words_only() {
        let params = ["user_id", "group", "duration"];
        assert_eq!(closest("grup", params), Some("group"));
        assert_eq!(closest("userid", params), Some("user_id"));
        assert_eq!(
            closest("hgh", ["low", "medium", "high", "critical"]),
            Some("high")
        );
        assert_eq!(
            closest("High", ["low", "medium", "high", "critical"]),
            Some("high")
        );
        assert_eq!(closest("banana", params), None);
    }
}

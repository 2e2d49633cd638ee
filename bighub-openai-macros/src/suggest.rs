//! "Did you mean ...?": the closest known word to a misspelled one.
//!
//! Used for attribute keys, risk levels and parameter names.

/// The candidate closest to `word`, when it is close enough to be a likely typo.
pub(crate) fn closest<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .map(|candidate| {
            let longest = word.chars().count().max(candidate.chars().count());
            (
                edit_distance(&lower, &candidate.to_lowercase()),
                longest,
                candidate,
            )
        })
        // Up to two edits in five characters (at least one) keeps `grp` -> `group` and drops
        // suggestions that share little with what was written.
        .filter(|(distance, longest, _)| *distance <= (longest * 2 / 5).max(1))
        .map(|(distance, _, candidate)| (distance, candidate))
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// Edit distance counting insertions, deletions, substitutions and swaps of two adjacent
/// characters (`hihg` is one edit from `high`), in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // rows[i][j]: distance between the first i characters of a and the first j of b.
    let mut rows = vec![vec![0; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let substitution = rows[i - 1][j - 1] + usize::from(a[i - 1] != b[j - 1]);
            let mut best = substitution.min(rows[i - 1][j] + 1).min(rows[i][j - 1] + 1);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = best;
        }
    }
    rows[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
        assert_eq!(edit_distance("hihg", "high"), 1);
    }

    #[test]
    fn suggests_close_words_only() {
        let params = ["user_id", "group", "duration"];
        assert_eq!(closest("grup", params), Some("group"));
        assert_eq!(closest("grp", params), Some("group"));
        assert_eq!(
            closest("hihg", ["low", "medium", "high", "critical"]),
            Some("high")
        );
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

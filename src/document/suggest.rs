//! "Did you mean" suggestions for misspelt names (fields, values, rule ids), as clap and cargo make them.

/// The candidate closest to `input`, if it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input_lower = input.to_ascii_lowercase();
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&input_lower, &c.to_ascii_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["port", "protocol", "bind", "expose", "purpose"];
        assert_eq!(did_you_mean("proto", fields), Some("protocol"));
        assert_eq!(did_you_mean("exposed", fields), Some("expose"));
        assert_eq!(did_you_mean("Bind", fields), Some("bind"));
        assert_eq!(did_you_mean("zzz", fields), None);
        assert_eq!(
            did_you_mean("windoze", ["windows", "linux", "macos", "kubernetes"]),
            Some("windows")
        );
    }
}

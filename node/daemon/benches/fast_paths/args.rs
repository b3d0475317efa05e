//! Command-line values the cluster benchmarks share.

/// A count that must be at least 1 (`value_parser = at_least_one`).
pub fn at_least_one(value: &str) -> Result<usize, String> {
    match value.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

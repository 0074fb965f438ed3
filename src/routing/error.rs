//! Routing errors: bad rules, match outcomes other than a match, and
//! Werkzeug's `BuildError` with its "Did you mean" suggestions.

use std::collections::BTreeSet;
use std::fmt;

use super::rule::Rule;
use super::value::{py_list_repr, py_repr};

/// A rule that cannot be added, with the text Werkzeug raises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RuleError {
    kind: &'static str,
    message: String,
}

impl RuleError {
    pub(crate) fn new(kind: &'static str, message: String) -> Self {
        RuleError { kind, message }
    }

    pub(crate) fn value(message: String) -> Self {
        RuleError::new("ValueError", message)
    }

    /// The Python exception class Werkzeug raises: `ValueError`,
    /// `TypeError`, `LookupError` or `SyntaxError`.
    pub fn kind(&self) -> &'static str {
        self.kind
    }

    /// The message alone (also the `Display` text).
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// Why a request did not match a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoutingError {
    /// No rule matches the path (404).
    NotFound,
    /// Rules match the path but not the method (405); `allowed` is sorted.
    MethodNotAllowed {
        /// The union of the methods of the rules that matched the path.
        allowed: Vec<String>,
    },
    /// The canonical URL differs (308): a missing trailing slash, merged
    /// slashes, or a rule with defaults. `location` is the quoted path
    /// (plus `?query`) relative to the application root.
    RequestRedirect {
        /// Where to redirect, e.g. `/projects/?page=2`.
        location: String,
    },
}

impl fmt::Display for RoutingError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RoutingError::NotFound => f.write_str("404 Not Found"),
            RoutingError::MethodNotAllowed { .. } => f.write_str("405 Method Not Allowed"),
            RoutingError::RequestRedirect { location } => {
                write!(f, "308 Permanent Redirect: {location}")
            }
        }
    }
}

impl std::error::Error for RoutingError {}

/// What kind of build failure happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildErrorKind {
    /// Werkzeug's `BuildError`: no rule fits the endpoint, values and method.
    NoRule,
    /// A converter rejected a value (Python `ValueError`, e.g. `int()` of
    /// text, or a value not among `any(...)` items).
    InvalidValue,
}

/// `url_for` failed. `Display` is exactly Flask's message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildError {
    kind: BuildErrorKind,
    endpoint: String,
    message: String,
}

impl BuildError {
    /// The kind of failure.
    pub fn kind(&self) -> BuildErrorKind {
        self.kind
    }

    /// The endpoint that was asked for.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The Python exception class: `BuildError` or `ValueError`.
    pub fn python_class(&self) -> &'static str {
        match self.kind {
            BuildErrorKind::NoRule => "BuildError",
            BuildErrorKind::InvalidValue => "ValueError",
        }
    }

    pub(crate) fn invalid_value(endpoint: &str, message: String) -> Self {
        BuildError {
            kind: BuildErrorKind::InvalidValue,
            endpoint: endpoint.to_owned(),
            message,
        }
    }

    /// Werkzeug's `BuildError.__str__`, with the suggestion from
    /// `closest_rule` over `rules` (grouped by endpoint, as `Map._rules`).
    pub(crate) fn no_rule<'r>(
        endpoint: &str,
        keys: &[&str],
        method: Option<&str>,
        rules: impl Iterator<Item = &'r Rule>,
    ) -> Self {
        let mut message = format!("Could not build url for endpoint {}", py_repr(endpoint));
        if let Some(m) = method.filter(|m| !m.is_empty()) {
            message.push_str(&format!(" ({})", py_repr(m)));
        }
        let sorted: BTreeSet<&str> = keys.iter().copied().collect();
        if !sorted.is_empty() {
            message.push_str(&format!(
                " with values {}",
                py_list_repr(sorted.iter().copied())
            ));
        }
        message.push('.');
        if let Some(rule) = closest_rule(endpoint, &sorted, method, rules) {
            if rule.endpoint == endpoint {
                if method.is_some_and(|m| !m.is_empty() && !rule.methods.contains(m)) {
                    message.push_str(&format!(
                        " Did you mean to use methods {}?",
                        py_list_repr(rule.methods.iter().map(String::as_str))
                    ));
                }
                let missing: BTreeSet<&str> = rule
                    .argument_set
                    .iter()
                    .map(String::as_str)
                    .filter(|a| !sorted.contains(a))
                    .collect();
                if !missing.is_empty() {
                    message.push_str(&format!(
                        " Did you forget to specify values {}?",
                        py_list_repr(missing)
                    ));
                }
            } else {
                message.push_str(&format!(
                    " Did you mean {} instead?",
                    py_repr(&rule.endpoint)
                ));
            }
        }
        BuildError {
            kind: BuildErrorKind::NoRule,
            endpoint: endpoint.to_owned(),
            message,
        }
    }
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BuildError {}

/// Werkzeug's `BuildError.closest_rule`: the first rule with the highest
/// score `0.98 * similarity(endpoint) + 0.01 * values fit + 0.01 * method
/// fits`, summed in the same order as Python so ties break identically.
fn closest_rule<'r>(
    endpoint: &str,
    keys: &BTreeSet<&str>,
    method: Option<&str>,
    rules: impl Iterator<Item = &'r Rule>,
) -> Option<&'r Rule> {
    let wanted: Vec<char> = endpoint.chars().collect();
    let mut best: Option<(f64, &Rule)> = None;
    for rule in rules {
        let candidate: Vec<char> = rule.endpoint.chars().collect();
        let ratio = sequence_ratio(&candidate, &wanted);
        let fits_values = keys.iter().all(|k| rule.argument_set.contains(*k));
        let fits_method = method.is_some_and(|m| rule.methods.contains(m));
        let score = 0.98 * ratio
            + 0.01 * f64::from(u8::from(fits_values))
            + 0.01 * f64::from(u8::from(fits_method));
        // Python's `max` keeps the first of equal items.
        if best.is_none_or(|(top, _)| score > top) {
            best = Some((score, rule));
        }
    }
    best.map(|(_, r)| r)
}

/// `difflib.SequenceMatcher(None, a, b).ratio()`, including the
/// "popular element" autojunk heuristic for `b` of 200+ items.
pub(crate) fn sequence_ratio(a: &[char], b: &[char]) -> f64 {
    let total = a.len() + b.len();
    if total == 0 {
        return 1.0;
    }
    // b2j: positions of each element of b, minus popular elements.
    let mut b2j: std::collections::HashMap<char, Vec<usize>> = std::collections::HashMap::new();
    for (j, c) in b.iter().enumerate() {
        b2j.entry(*c).or_default().push(j);
    }
    if b.len() >= 200 {
        let ntest = b.len() / 100 + 1;
        b2j.retain(|_, idxs| idxs.len() <= ntest);
    }
    let mut matches = 0;
    let mut queue = vec![(0, a.len(), 0, b.len())];
    while let Some((alo, ahi, blo, bhi)) = queue.pop() {
        let (i, j, k) = find_longest_match(a, b, &b2j, alo, ahi, blo, bhi);
        if k > 0 {
            matches += k;
            if alo < i && blo < j {
                queue.push((alo, i, blo, j));
            }
            if i + k < ahi && j + k < bhi {
                queue.push((i + k, ahi, j + k, bhi));
            }
        }
    }
    2.0 * matches as f64 / total as f64
}

/// `SequenceMatcher.find_longest_match` without junk (no `isjunk`).
fn find_longest_match(
    a: &[char],
    b: &[char],
    b2j: &std::collections::HashMap<char, Vec<usize>>,
    alo: usize,
    ahi: usize,
    blo: usize,
    bhi: usize,
) -> (usize, usize, usize) {
    let (mut besti, mut bestj, mut bestsize) = (alo, blo, 0);
    let mut j2len: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    for (i, c) in a.iter().enumerate().take(ahi).skip(alo) {
        let mut newj2len = std::collections::HashMap::new();
        if let Some(js) = b2j.get(c) {
            for &j in js {
                if j < blo {
                    continue;
                }
                if j >= bhi {
                    break;
                }
                let k = j
                    .checked_sub(1)
                    .and_then(|p| j2len.get(&p))
                    .copied()
                    .unwrap_or(0)
                    + 1;
                newj2len.insert(j, k);
                if k > bestsize {
                    besti = i + 1 - k;
                    bestj = j + 1 - k;
                    bestsize = k;
                }
            }
        }
        j2len = newj2len;
    }
    // Extend with equal (non-junk) elements on both sides; popular
    // elements are not junk, so they extend the match here.
    while besti > alo && bestj > blo && a[besti - 1] == b[bestj - 1] {
        besti -= 1;
        bestj -= 1;
        bestsize += 1;
    }
    while besti + bestsize < ahi
        && bestj + bestsize < bhi
        && a[besti + bestsize] == b[bestj + bestsize]
    {
        bestsize += 1;
    }
    (besti, bestj, bestsize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ratio(a: &str, b: &str) -> f64 {
        let a: Vec<char> = a.chars().collect();
        let b: Vec<char> = b.chars().collect();
        sequence_ratio(&a, &b)
    }

    #[test]
    fn ratios_match_difflib() {
        // difflib.SequenceMatcher(None, a, b).ratio() in Python 3.11.
        assert_eq!(ratio("user", "usr"), 0.8571428571428571);
        assert_eq!(ratio("abcd", "bcde"), 0.75);
        assert_eq!(ratio("", ""), 1.0);
        assert_eq!(ratio("static", "index"), 0.18181818181818182);
        assert_eq!(ratio("private_page", "page_private"), 0.5833333333333334);
        let long_a = "ab".repeat(150);
        let long_b = format!("{}xyz", "ba".repeat(120));
        // `a` and `b` are "popular" in the long second sequence and ignored.
        assert_eq!(ratio(&long_a, &long_b), 0.0);
    }

    #[test]
    fn routing_error_display() {
        assert_eq!(RoutingError::NotFound.to_string(), "404 Not Found");
        let e = RuleError::value("x".into());
        assert_eq!((e.kind(), e.message()), ("ValueError", "x"));
    }
}

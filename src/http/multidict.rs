//! Werkzeug's `MultiDict`: the shape of query strings, forms, files and cookies.

/// An ordered multi-map: every key may hold several values, `get` gives the
/// first, `getlist` all of them, and keys iterate in the order they first
/// appeared in the request.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiDict<V = String> {
    entries: Vec<(String, V)>,
}

impl<V> Default for MultiDict<V> {
    fn default() -> Self {
        MultiDict {
            entries: Vec::new(),
        }
    }
}

impl<V> MultiDict<V> {
    /// An empty multi-dict.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a value for `key` after the ones it already has.
    pub fn append(&mut self, key: impl Into<String>, value: V) {
        self.entries.push((key.into(), value));
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Every value of `key`, in order.
    pub fn get_all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a V> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// Whether `key` has at least one value.
    pub fn contains_key(&self, key: &str) -> bool {
        self.entries.iter().any(|(k, _)| k == key)
    }

    /// Distinct keys in order of first appearance.
    pub fn keys(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for (k, _) in &self.entries {
            if !seen.contains(&k.as_str()) {
                seen.push(k);
            }
        }
        seen
    }

    /// `(key, value)` pairs in order, duplicates included.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &V)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of `(key, value)` pairs.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V> FromIterator<(K, V)> for MultiDict<V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        MultiDict {
            entries: iter.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_and_key_order() {
        let d: MultiDict = [("b", "1"), ("a", "2"), ("b", "3")]
            .into_iter()
            .map(|(k, v)| (k, v.to_owned()))
            .collect();
        assert_eq!(d.get("b").map(String::as_str), Some("1"));
        assert_eq!(d.get_all("b").cloned().collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(d.keys(), ["b", "a"]);
        assert!(!d.contains_key("c"));
    }
}

//! A case-insensitive, order-preserving multi-map of HTTP headers
//! (Werkzeug's `Headers`).

/// HTTP headers: names compare case-insensitively, order and duplicates are
/// kept, so `Set-Cookie` can appear several times.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers {
    entries: Vec<(String, String)>,
}

impl Headers {
    /// An empty header list.
    pub fn new() -> Self {
        Self::default()
    }

    /// The first value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name`, in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.entries
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Whether `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// Replaces every value of `name` with one value, keeping the position of
    /// the first occurrence (Werkzeug's `Headers.set`).
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        if let Some(pos) = self
            .entries
            .iter()
            .position(|(k, _)| k.eq_ignore_ascii_case(&name))
        {
            self.entries[pos] = (name.clone(), value);
            let mut i = pos + 1;
            while i < self.entries.len() {
                if self.entries[i].0.eq_ignore_ascii_case(&name) {
                    self.entries.remove(i);
                } else {
                    i += 1;
                }
            }
        } else {
            self.entries.push((name, value));
        }
    }

    /// Sets `name` only when it is not present yet (Werkzeug's `setdefault`).
    pub fn set_default(&mut self, name: &str, value: impl Into<String>) {
        if !self.contains(name) {
            self.entries.push((name.to_owned(), value.into()));
        }
    }

    /// Adds a value for `name`, keeping the ones already there.
    pub fn append(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.push((name.into(), value.into()));
    }

    /// Removes every value of `name`; returns whether any was present.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        before != self.entries.len()
    }

    /// `(name, value)` pairs in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no headers.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Headers {
            entries: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_insensitive_and_ordered() {
        let mut h = Headers::new();
        h.append("Set-Cookie", "a=1");
        h.append("X-A", "x");
        h.append("set-cookie", "b=2");
        assert_eq!(h.get("SET-COOKIE"), Some("a=1"));
        assert_eq!(h.get_all("Set-Cookie").collect::<Vec<_>>(), ["a=1", "b=2"]);
        h.set("set-Cookie", "c=3");
        assert_eq!(
            h.iter().collect::<Vec<_>>(),
            [("set-Cookie", "c=3"), ("X-A", "x")]
        );
        assert!(h.remove("x-a"));
        assert_eq!(h.len(), 1);
    }
}

//! MarkupSafe's `escape` and `Markup`: text that is already safe HTML.

/// Escapes exactly the five characters MarkupSafe escapes, with the same
/// entities, so pages are byte-identical to Flask's.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    escape_into(text, &mut out);
    out
}

/// [`escape`] appending to an existing buffer.
pub fn escape_into(text: &str, out: &mut String) {
    // Writing to a String cannot fail.
    let _ = escape_to(text, out);
}

/// [`escape`] written to any text sink (a template's output, say), in runs
/// between the characters replaced, without building the escaped string.
pub fn escape_to(text: &str, out: &mut impl std::fmt::Write) -> std::fmt::Result {
    let mut last = 0;
    for (i, b) in text.bytes().enumerate() {
        let rep = match b {
            b'&' => "&amp;",
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'\'' => "&#39;",
            b'"' => "&#34;",
            _ => continue,
        };
        out.write_str(&text[last..i])?;
        out.write_str(rep)?;
        last = i + 1;
    }
    out.write_str(&text[last..])
}

/// A string that is safe HTML: templates do not escape it again, and adding a
/// plain string to it escapes the plain string (MarkupSafe's `Markup`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Markup(pub String);

impl Markup {
    /// Wraps text that is already safe, as `Markup(text)` does.
    pub fn new(text: impl Into<String>) -> Self {
        Markup(text.into())
    }

    /// Escapes plain text into markup, as `escape(text)` does.
    pub fn escape(text: &str) -> Self {
        Markup(escape(text))
    }

    /// The HTML text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `markup + "plain"`: the plain side is escaped.
    pub fn concat_plain(&self, plain: &str) -> Markup {
        let mut s = self.0.clone();
        escape_into(plain, &mut s);
        Markup(s)
    }
}

impl std::fmt::Display for Markup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_the_five_markupsafe_characters_only() {
        assert_eq!(
            escape(r#"<a href='x'>&"/</a>"#),
            "&lt;a href=&#39;x&#39;&gt;&amp;&#34;/&lt;/a&gt;"
        );
    }

    #[test]
    fn concat_escapes_the_plain_side() {
        assert_eq!(Markup::new("<b>").concat_plain("<i>").0, "<b>&lt;i&gt;");
    }
}

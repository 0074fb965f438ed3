//! One URL rule: parsing `/<conv(args):name>` strings into matcher parts
//! and build operations, as Werkzeug's `Rule._parse_rule` and
//! `Rule._compile_builder` do.

use std::collections::BTreeSet;

use indexmap::IndexMap;

use super::converter_args::parse_converter_args;
use super::converters::{re_escape, Converter};
use super::error::RuleError;
use super::value::{py_repr, RouteValue};
use crate::urls::quote_path_into;

/// What the application asks to route (Flask's `add_url_rule` arguments).
#[derive(Clone, Debug, PartialEq)]
pub struct RuleSpec {
    /// The rule string, e.g. `/user/<int:id>`; must start with `/`.
    pub rule: String,
    /// The endpoint name used by `url_for`.
    pub endpoint: String,
    /// The HTTP methods; `None` means `["GET"]` as in Flask. Upper-cased.
    pub methods: Option<Vec<String>>,
    /// Values passed to the view when this rule matches; a default for a
    /// variable the rule does not contain also selects this rule in
    /// `build` (Werkzeug's "defaults").
    pub defaults: IndexMap<String, RouteValue>,
    /// Per-rule `strict_slashes`; `None` uses the map's (true).
    pub strict_slashes: Option<bool>,
    /// Flask's automatic `OPTIONS`: when true and `OPTIONS` is not among
    /// `methods`, it is added and the app answers it itself.
    pub provide_automatic_options: bool,
}

impl RuleSpec {
    /// A spec with Flask's defaults: GET only, automatic OPTIONS.
    pub fn new(rule: impl Into<String>, endpoint: impl Into<String>) -> Self {
        RuleSpec {
            rule: rule.into(),
            endpoint: endpoint.into(),
            methods: None,
            defaults: IndexMap::new(),
            strict_slashes: None,
            provide_automatic_options: true,
        }
    }

    /// Sets the methods (builder style).
    pub fn methods(mut self, methods: &[&str]) -> Self {
        self.methods = Some(methods.iter().map(|m| (*m).to_owned()).collect());
        self
    }

    /// Adds a default (builder style).
    pub fn default_value(mut self, key: &str, value: impl Into<RouteValue>) -> Self {
        self.defaults.insert(key.to_owned(), value.into());
        self
    }

    /// Sets `strict_slashes` (builder style).
    pub fn strict_slashes(mut self, strict: bool) -> Self {
        self.strict_slashes = Some(strict);
        self
    }
}

/// A compiled rule, as listed by `flask routes`.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The rule string as given.
    pub rule: String,
    /// The endpoint name.
    pub endpoint: String,
    /// Allowed methods, including `HEAD` when `GET` is present and
    /// `OPTIONS` when automatic.
    pub methods: BTreeSet<String>,
    /// The variable names in the order they appear in the rule.
    pub arguments: Vec<String>,
    /// The rule's defaults.
    pub defaults: IndexMap<String, RouteValue>,
    /// Whether a missing trailing slash redirects (true) or matches.
    pub strict_slashes: bool,
    /// Whether the app answers `OPTIONS` for this rule itself.
    pub automatic_options: bool,
    /// The converter of each variable, in rule order.
    pub(crate) converters: IndexMap<String, Converter>,
    /// The parts the matcher walks, one per `/`-separated segment (a part
    /// holding a `path` converter swallows the rest).
    pub(crate) parts: Vec<RulePart>,
    /// Werkzeug's `_trace`: the rule as static text and variables. Two
    /// rules are equal (`Rule.__eq__`) when their traces are.
    pub(crate) trace: Vec<(bool, String)>,
    /// Werkzeug's `arguments` set: variables plus default keys.
    pub(crate) argument_set: BTreeSet<String>,
    /// Precompiled URL builder.
    pub(crate) build_ops: Vec<BuildOp>,
}

/// One step of building a URL for a rule.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum BuildOp {
    /// Already-quoted text (static parts and variables with defaults).
    Const(String),
    /// A variable converted with `to_url`.
    Var(String),
}

/// Werkzeug's `Weighting`; derived ordering matches the Python tuple
/// comparison (fields in the same order, `Vec` ordering is list ordering).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Weighting {
    neg_static_count: isize,
    static_weights: Vec<(usize, isize)>,
    neg_argument_count: isize,
    argument_weights: Vec<u32>,
}

/// A piece of a dynamic part, matched left to right with backtracking.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Piece {
    /// Literal text.
    Lit(String),
    /// A converter's pattern (captured as one value).
    Conv(Converter),
    /// `(?<!/)(/?)` at the end of a final part that ends in `/`.
    SlashSuffix,
}

/// Werkzeug's `RulePart`.
#[derive(Clone, Debug)]
pub(crate) struct RulePart {
    /// The static text, or Werkzeug's regex text for dynamic parts; the
    /// identity of the part in the matcher.
    pub(crate) content: String,
    pub(crate) is_static: bool,
    pub(crate) is_final: bool,
    pub(crate) suffixed: bool,
    pub(crate) weight: Weighting,
    /// For dynamic parts: what to match.
    pub(crate) pieces: Vec<Piece>,
    /// For dynamic parts: capture order. Werkzeug sorts the capture groups
    /// by name (`__werkzeug_10` before `__werkzeug_2`), which this keeps.
    pub(crate) capture_order: Vec<usize>,
}

impl PartialEq for RulePart {
    fn eq(&self, other: &Self) -> bool {
        self.content == other.content
            && self.is_static == other.is_static
            && self.is_final == other.is_final
            && self.suffixed == other.suffixed
            && self.weight == other.weight
    }
}

/// Accumulates one part while parsing.
struct PartBuilder {
    content: String,
    is_static: bool,
    is_final: bool,
    static_weights: Vec<(usize, isize)>,
    argument_weights: Vec<u32>,
    pieces: Vec<Piece>,
}

impl PartBuilder {
    fn new() -> Self {
        PartBuilder {
            content: String::new(),
            is_static: true,
            is_final: false,
            static_weights: Vec::new(),
            argument_weights: Vec::new(),
            pieces: Vec::new(),
        }
    }

    fn push_lit(&mut self, text: &str) {
        if let Some(Piece::Lit(prev)) = self.pieces.last_mut() {
            prev.push_str(text);
        } else {
            self.pieces.push(Piece::Lit(text.to_owned()));
        }
    }

    fn weight(&self) -> Weighting {
        Weighting {
            neg_static_count: -(self.static_weights.len() as isize),
            static_weights: self.static_weights.clone(),
            neg_argument_count: -(self.argument_weights.len() as isize),
            argument_weights: self.argument_weights.clone(),
        }
    }

    fn finish(self, suffixed: bool) -> RulePart {
        let weight = self.weight();
        let n = self.argument_weights.len();
        let mut capture_order: Vec<usize> = (0..n).collect();
        capture_order.sort_by_key(|i| format!("__werkzeug_{i}"));
        RulePart {
            content: self.content,
            is_static: self.is_static,
            is_final: self.is_final,
            suffixed,
            weight,
            pieces: if self.is_static {
                Vec::new()
            } else {
                self.pieces
            },
            capture_order,
        }
    }
}

/// One token of a rule string.
enum Token<'a> {
    Slash,
    Static(&'a str),
    Var {
        converter: Option<&'a str>,
        args: Option<&'a str>,
        name: &'a str,
    },
}

fn ident_len(s: &str) -> usize {
    let b = s.as_bytes();
    if b.first()
        .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
    {
        b.iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
            .count()
    } else {
        0
    }
}

/// Werkzeug's `_part_re` at `pos`: returns the token and its end.
fn next_token(rule: &str, pos: usize) -> Option<(Token<'_>, usize)> {
    let rest = &rule[pos..];
    if rest.starts_with('/') {
        return Some((Token::Slash, pos + 1));
    }
    if !rest.starts_with('<') {
        let len = rest.find(['<', '/']).unwrap_or(rest.len());
        return Some((Token::Static(&rest[..len]), pos + len));
    }
    let inner = &rest[1..];
    // `<converter(args):name>` or `<converter:name>`.
    let conv_len = ident_len(inner);
    if conv_len > 0 {
        let after = &inner[conv_len..];
        if let Some(args_src) = after.strip_prefix('(') {
            // Lazy `.*?` (no newlines) up to a `)` followed by `:name>`.
            for (i, c) in args_src.char_indices() {
                if c == '\n' {
                    break;
                }
                if c == ')' {
                    if let Some((name, used)) = var_tail(&args_src[i + 1..]) {
                        let end = pos + 1 + conv_len + 1 + i + 1 + used;
                        let tok = Token::Var {
                            converter: Some(&inner[..conv_len]),
                            args: Some(&args_src[..i]),
                            name,
                        };
                        return Some((tok, end));
                    }
                }
            }
        }
        if let Some((name, used)) = var_tail(after) {
            let tok = Token::Var {
                converter: Some(&inner[..conv_len]),
                args: None,
                name,
            };
            return Some((tok, pos + 1 + conv_len + used));
        }
    }
    let name_len = ident_len(inner);
    if name_len > 0 && inner[name_len..].starts_with('>') {
        let tok = Token::Var {
            converter: None,
            args: None,
            name: &inner[..name_len],
        };
        return Some((tok, pos + 1 + name_len + 1));
    }
    None
}

/// `:name>`; returns the name and the bytes used.
fn var_tail(s: &str) -> Option<(&str, usize)> {
    let s2 = s.strip_prefix(':')?;
    let n = ident_len(s2);
    (n > 0 && s2[n..].starts_with('>')).then(|| (&s2[..n], n + 2))
}

/// Collapses runs of `/` (Werkzeug's `re.sub("/{2,}", "/", …)`).
pub(crate) fn merge_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut prev_slash = false;
    for c in path.chars() {
        if c == '/' && prev_slash {
            continue;
        }
        prev_slash = c == '/';
        out.push(c);
    }
    out
}

impl Rule {
    /// Compiles a spec the way Flask's `add_url_rule` and Werkzeug's
    /// `Rule.bind` do.
    pub(crate) fn compile(spec: RuleSpec) -> Result<Rule, RuleError> {
        if !spec.rule.starts_with('/') {
            return Err(RuleError::value(format!(
                "URL rule '{}' must start with a slash.",
                spec.rule
            )));
        }
        let mut methods: BTreeSet<String> = spec
            .methods
            .unwrap_or_else(|| vec!["GET".to_owned()])
            .iter()
            .map(|m| m.to_uppercase())
            .collect();
        let automatic_options = spec.provide_automatic_options && !methods.contains("OPTIONS");
        if automatic_options {
            methods.insert("OPTIONS".to_owned());
        }
        if methods.contains("GET") {
            methods.insert("HEAD".to_owned());
        }

        let merged = merge_slashes(&spec.rule);
        let mut converters: IndexMap<String, Converter> = IndexMap::new();
        let mut trace: Vec<(bool, String)> = Vec::new();
        let mut parts = Vec::new();
        let mut part = PartBuilder::new();
        let mut pos = 0;
        while pos < merged.len() {
            let (token, end) = next_token(&merged, pos).ok_or_else(|| {
                RuleError::value(format!("malformed url rule: {}", py_repr(&merged)))
            })?;
            match token {
                Token::Static(text) => {
                    let idx = part.static_weights.len();
                    part.static_weights
                        .push((idx, -(text.chars().count() as isize)));
                    trace.push((false, text.to_owned()));
                    if part.is_static {
                        part.content.push_str(text);
                    } else {
                        part.content.push_str(&re_escape(text));
                    }
                    part.push_lit(text);
                }
                Token::Var {
                    converter,
                    args,
                    name,
                } => {
                    if part.is_static {
                        // The content becomes a regex from here on.
                        part.content = re_escape(&part.content);
                        part.is_static = false;
                    }
                    let parsed =
                        parse_converter_args(args.unwrap_or("")).map_err(RuleError::value)?;
                    let conv = Converter::new(converter.unwrap_or("default"), parsed)
                        .map_err(|(kind, msg)| RuleError::new(kind, msg))?;
                    if !conv.part_isolating() {
                        part.is_final = true;
                    }
                    let n = part.argument_weights.len();
                    part.content
                        .push_str(&format!("(?P<__werkzeug_{n}>{})", conv.regex()));
                    part.argument_weights.push(conv.weight());
                    part.pieces.push(Piece::Conv(conv.clone()));
                    converters.insert(name.to_owned(), conv);
                    trace.push((true, name.to_owned()));
                }
                Token::Slash => {
                    trace.push((false, "/".to_owned()));
                    if part.is_final {
                        part.content.push('/');
                        part.push_lit("/");
                    } else {
                        if !part.is_static {
                            part.content.push_str("\\Z");
                        }
                        parts.push(std::mem::replace(&mut part, PartBuilder::new()).finish(false));
                    }
                }
            }
            pos = end;
        }
        let suffixed = part.is_final && part.content.ends_with('/');
        if suffixed {
            part.content.pop();
            part.content.push_str("(?<!/)(/?)");
            if let Some(Piece::Lit(text)) = part.pieces.last_mut() {
                text.pop();
                if text.is_empty() {
                    part.pieces.pop();
                }
            }
            part.pieces.push(Piece::SlashSuffix);
        }
        if !part.is_static {
            part.content.push_str("\\Z");
        }
        let last = part.finish(suffixed);
        let weight = last.weight.clone();
        parts.push(last);
        if suffixed {
            let mut empty = PartBuilder::new().finish(false);
            empty.weight = weight;
            parts.push(empty);
        }

        let build_ops = compile_builder(&trace, &converters, &spec.defaults)?;
        let mut argument_set: BTreeSet<String> = spec.defaults.keys().cloned().collect();
        argument_set.extend(converters.keys().cloned());
        Ok(Rule {
            rule: spec.rule,
            endpoint: spec.endpoint,
            methods,
            arguments: converters.keys().cloned().collect(),
            defaults: spec.defaults,
            strict_slashes: spec.strict_slashes.unwrap_or(true),
            automatic_options,
            converters,
            parts,
            trace,
            argument_set,
            build_ops,
        })
    }

    /// Werkzeug's `Rule.suitable_for`: the method fits, every argument is
    /// given or defaulted, and given values agree with the defaults.
    pub(crate) fn suitable_for<'v>(
        &self,
        get: &dyn Fn(&str) -> Option<&'v RouteValue>,
        method: Option<&str>,
    ) -> bool {
        if method.is_some_and(|m| !self.methods.contains(m)) {
            return false;
        }
        let all_present = self
            .argument_set
            .iter()
            .all(|k| self.defaults.contains_key(k) || get(k).is_some());
        all_present
            && self
                .defaults
                .iter()
                .all(|(k, d)| get(k).is_none_or(|v| v.py_eq(d)))
    }

    /// Werkzeug's `Rule.provides_defaults_for`.
    pub(crate) fn provides_defaults_for(&self, other: &Rule) -> bool {
        !self.defaults.is_empty()
            && self.endpoint == other.endpoint
            && self.trace != other.trace
            && self.argument_set == other.argument_set
    }

    /// Whether `key` is consumed by the rule when building (a variable or
    /// a default key), so it does not go to the query string.
    pub(crate) fn consumes(&self, key: &str) -> bool {
        self.converters.contains_key(key) || self.defaults.contains_key(key)
    }

    /// Builds the path (without query string). The error is a converter's
    /// Python `ValueError` text.
    pub(crate) fn build_path<'v>(
        &self,
        get: &dyn Fn(&str) -> Option<&'v RouteValue>,
        out: &mut String,
    ) -> Result<(), String> {
        for op in &self.build_ops {
            match op {
                BuildOp::Const(text) => out.push_str(text),
                BuildOp::Var(name) => {
                    // suitable_for guarantees presence; a missing value is
                    // Werkzeug's TypeError, reported as a ValueError here.
                    let value = get(name)
                        .ok_or_else(|| format!("missing required argument: {}", py_repr(name)))?;
                    if let Some(conv) = self.converters.get(name) {
                        out.push_str(&conv.to_url(value)?);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Werkzeug's `_compile_builder`: folds static text (quoted) and defaulted
/// variables into constants, and checks the builder's parameter names for
/// duplicates as Python's compiler would.
fn compile_builder(
    trace: &[(bool, String)],
    converters: &IndexMap<String, Converter>,
    defaults: &IndexMap<String, RouteValue>,
) -> Result<Vec<BuildOp>, RuleError> {
    let mut ops: Vec<BuildOp> = Vec::new();
    let push_const = |ops: &mut Vec<BuildOp>, text: &str, quote: bool| {
        if !matches!(ops.last(), Some(BuildOp::Const(_))) {
            ops.push(BuildOp::Const(String::new()));
        }
        if let Some(BuildOp::Const(buf)) = ops.last_mut() {
            if quote {
                quote_path_into(text, buf);
            } else {
                buf.push_str(text);
            }
        }
    };
    let mut params: Vec<&str> = Vec::new();
    for (dynamic, data) in trace {
        if !dynamic {
            push_const(&mut ops, data, true);
        } else if let (Some(default), Some(conv)) = (defaults.get(data), converters.get(data)) {
            let text = conv.to_url(default).map_err(RuleError::value)?;
            push_const(&mut ops, &text, false);
        } else {
            params.push(data);
            ops.push(BuildOp::Var(data.clone()));
        }
    }
    params.extend(defaults.keys().map(String::as_str));
    let mut seen = BTreeSet::new();
    for p in params {
        if !seen.insert(p) {
            return Err(RuleError::new(
                "SyntaxError",
                format!(
                    "duplicate argument {} in function definition (<werkzeug routing>, line 1)",
                    py_repr(p)
                ),
            ));
        }
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(rule: &str) -> Rule {
        Rule::compile(RuleSpec::new(rule, "e")).unwrap()
    }

    fn err(rule: &str) -> String {
        Rule::compile(RuleSpec::new(rule, "e"))
            .unwrap_err()
            .to_string()
    }

    fn contents(rule: &str) -> Vec<String> {
        compile(rule)
            .parts
            .iter()
            .map(|p| p.content.clone())
            .collect()
    }

    #[test]
    fn parts_match_werkzeug_contents() {
        // Werkzeug's `[p.content for p in rule._parts]`, minus the domain part.
        assert_eq!(contents("/"), ["", ""]);
        assert_eq!(contents("/foo/"), ["", "foo", ""]);
        assert_eq!(
            contents("/a-<int:x>.html"),
            ["", "a\\-(?P<__werkzeug_0>\\d+)\\.html\\Z"]
        );
        assert_eq!(
            contents("/files/<path:p>/"),
            ["", "files", "(?P<__werkzeug_0>[^/].*?)(?<!/)(/?)\\Z", ""]
        );
        assert_eq!(
            contents("/<path:a>/edit"),
            ["", "(?P<__werkzeug_0>[^/].*?)/edit\\Z"]
        );
        assert_eq!(contents("//a//b"), ["", "a", "b"]);
    }

    #[test]
    fn weights_order_like_python_tuples() {
        let w = |r: &str| compile(r).parts[1].weight.clone();
        // More static pieces first, then longer statics, then converters
        // by weight (int 50 < string 100 < path 200).
        assert!(w("/a<x>") < w("/<x>"));
        assert!(w("/<int:x>") < w("/<x>"));
        assert!(w("/<x>") < w("/<path:x>"));
        assert!(w("/abc<x>") < w("/a<x>"));
    }

    #[test]
    fn methods_follow_flask() {
        let r = compile("/");
        assert_eq!(
            r.methods.iter().collect::<Vec<_>>(),
            ["GET", "HEAD", "OPTIONS"]
        );
        assert!(r.automatic_options);
        let spec = RuleSpec::new("/", "e").methods(&["post", "options"]);
        let r = Rule::compile(spec).unwrap();
        assert_eq!(r.methods.iter().collect::<Vec<_>>(), ["OPTIONS", "POST"]);
        assert!(!r.automatic_options);
        let mut spec = RuleSpec::new("/", "e");
        spec.provide_automatic_options = false;
        let r = Rule::compile(spec).unwrap();
        assert_eq!(r.methods.iter().collect::<Vec<_>>(), ["GET", "HEAD"]);
    }

    #[test]
    fn rule_errors_are_werkzeugs() {
        assert_eq!(err("x"), "URL rule 'x' must start with a slash.");
        assert_eq!(err("/<x"), "malformed url rule: '/<x'");
        assert_eq!(err("//<1x>"), "malformed url rule: '/<1x>'");
        assert_eq!(err("/<int(:x>"), "malformed url rule: '/<int(:x>'");
        assert_eq!(err("/<foo:x>"), "the converter 'foo' does not exist");
        assert_eq!(
            err("/<a>/<a>"),
            "duplicate argument 'a' in function definition (<werkzeug routing>, line 1)"
        );
        assert_eq!(
            Rule::compile(RuleSpec::new("/<int:x>", "e").default_value("x", "abc"))
                .unwrap_err()
                .to_string(),
            "invalid literal for int() with base 10: 'abc'"
        );
    }

    #[test]
    fn converter_arguments_may_hold_parentheses() {
        let r = compile("/<any(a, \"b)c\"):x>");
        assert_eq!(
            r.converters["x"],
            Converter::Any(vec!["a".into(), "b)c".into()])
        );
        // A `>` outside a variable is static text.
        assert_eq!(contents("/<x>>"), ["", "(?P<__werkzeug_0>[^/]{1,})>\\Z"]);
    }

    #[test]
    fn capture_order_sorts_group_names_as_strings() {
        let rule: String = (0..11).map(|i| format!("<path:v{i}>-")).collect();
        let r = compile(&format!("/{rule}"));
        assert_eq!(r.parts[1].capture_order, [0, 1, 10, 2, 3, 4, 5, 6, 7, 8, 9]);
    }

    #[test]
    fn builder_folds_defaults_and_quotes_static_text() {
        let spec = RuleSpec::new("/a b/<int:page>/<x>", "e").default_value("page", 1i64);
        let r = Rule::compile(spec).unwrap();
        assert_eq!(
            r.build_ops,
            [BuildOp::Const("/a%20b/1/".into()), BuildOp::Var("x".into())]
        );
        assert_eq!(r.arguments, ["page", "x"]);
    }
}

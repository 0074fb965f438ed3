//! Werkzeug's URL converters (`string`, `int`, `float`, `path`, `uuid`,
//! `any`): matching, `to_python` and `to_url`.
//!
//! Werkzeug describes each converter with a regular expression. Here each
//! converter knows how to enumerate the ends of a match at a position in
//! the order Python's backtracking regex engine would try them (greedy
//! repeats longest first, the lazy `path` shortest first, `any` items in
//! the order written), so a rule part with several converters matches
//! exactly like Werkzeug's compiled part regex, without a regex engine.

use super::converter_args::{bind, bind_or_none, ArgValue, ConverterArgs};
use super::value::{
    decimal_value, py_float_parse, py_float_str, py_int_of_float, py_int_text, py_repr, Number,
    RouteValue,
};
use crate::urls::quote_path;

/// A converter bound to one rule variable.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Converter {
    /// `string` / `default`: `[^/]{min,max}` (`{n}` for `length`).
    Text {
        min: usize,
        max: Option<usize>,
        exact: bool,
    },
    /// `int`: `\d+` (`-?\d+` when signed), validated by `to_python`.
    Int {
        fixed_digits: usize,
        min: Option<Number>,
        max: Option<Number>,
        signed: bool,
    },
    /// `float`: `\d+\.\d+` (`-?` when signed).
    Float {
        min: Option<Number>,
        max: Option<Number>,
        signed: bool,
    },
    /// `path`: `[^/].*?`, not part-isolating.
    Path,
    /// `uuid`: 8-4-4-4-12 hex digits.
    Uuid,
    /// `any(a, b)`: one of the items, tried in the order written.
    Any(Vec<String>),
}

impl Converter {
    /// Builds the converter `name` with its parsed arguments; errors are
    /// Werkzeug's (`LookupError`/`TypeError`/`ValueError` texts).
    pub(crate) fn new(
        name: &str,
        args: ConverterArgs,
    ) -> Result<Converter, (&'static str, String)> {
        let type_err = |m: String| ("TypeError", m);
        let value_err = |m: String| ("ValueError", m);
        match name {
            "default" | "string" => {
                let v = bind(
                    "UnicodeConverter",
                    &["minlength", "maxlength", "length"],
                    args,
                )
                .map_err(type_err)?;
                let count = |a: &ArgValue| -> Result<usize, (&'static str, String)> {
                    let n = a.to_int().map_err(|m| {
                        if matches!(a, ArgValue::None) {
                            ("TypeError", m)
                        } else {
                            ("ValueError", m)
                        }
                    })?;
                    // A negative count is no valid regex repeat in Python
                    // either; reject it now rather than on every request.
                    usize::try_from(n)
                        .map_err(|_| value_err(format!("invalid repeat count {n} in converter")))
                };
                if let Some(len) = v[2].as_ref().filter(|a| **a != ArgValue::None) {
                    let n = count(len)?;
                    return Ok(Converter::Text {
                        min: n,
                        max: Some(n),
                        exact: true,
                    });
                }
                // Werkzeug converts `maxlength` before `minlength`.
                let max = match &v[1] {
                    None | Some(ArgValue::None) => None,
                    Some(a) => Some(count(a)?),
                };
                // A missing `minlength` defaults to 1; an explicit `None`
                // fails in `int()` as in Python.
                let min = match &v[0] {
                    None => 1,
                    Some(a) => count(a)?,
                };
                if max.is_some_and(|m| m < min) {
                    return Err(value_err("min repeat greater than max repeat".to_owned()));
                }
                Ok(Converter::Text {
                    min,
                    max,
                    exact: false,
                })
            }
            "int" => {
                let v = bind_or_none(
                    bind(
                        "NumberConverter",
                        &["fixed_digits", "min", "max", "signed"],
                        args,
                    )
                    .map_err(type_err)?,
                );
                let fixed_digits = match &v[0] {
                    ArgValue::None => 0,
                    ArgValue::Float(f) if f.fract() == 0.0 && *f >= 0.0 => *f as usize,
                    a @ (ArgValue::Int(_) | ArgValue::Bool(_)) => {
                        usize::try_from(a.to_int().map_err(value_err)?).unwrap_or(0)
                    }
                    a => {
                        return Err(type_err(format!(
                            "fixed_digits must be an integer, not {}",
                            py_repr(a.type_name())
                        )))
                    }
                };
                Ok(Converter::Int {
                    fixed_digits,
                    min: v[1].to_bound("min").map_err(type_err)?,
                    max: v[2].to_bound("max").map_err(type_err)?,
                    signed: v[3].truthy(),
                })
            }
            "float" => {
                let v = bind_or_none(
                    bind("FloatConverter", &["min", "max", "signed"], args).map_err(type_err)?,
                );
                Ok(Converter::Float {
                    min: v[0].to_bound("min").map_err(type_err)?,
                    max: v[1].to_bound("max").map_err(type_err)?,
                    signed: v[2].truthy(),
                })
            }
            // BaseConverter.__init__ accepts and ignores any arguments.
            "path" => Ok(Converter::Path),
            "uuid" => Ok(Converter::Uuid),
            "any" => {
                let (items, kwargs) = args;
                if let Some((name, _)) = kwargs.first() {
                    return Err(type_err(format!(
                        "AnyConverter.__init__() got an unexpected keyword argument {}",
                        py_repr(name)
                    )));
                }
                let items = items
                    .into_iter()
                    .map(|a| match a {
                        ArgValue::Str(s) => Ok(s),
                        // re.escape() of a non-string item.
                        other => Err(type_err(format!(
                            "decoding to str: need a bytes-like object, {} found",
                            other.type_name()
                        ))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Converter::Any(items))
            }
            _ => Err((
                "LookupError",
                format!("the converter {} does not exist", py_repr(name)),
            )),
        }
    }

    /// Werkzeug's `weight`: numbers sort before strings, paths last.
    pub(crate) fn weight(&self) -> u32 {
        match self {
            Converter::Int { .. } | Converter::Float { .. } => 50,
            Converter::Path => 200,
            _ => 100,
        }
    }

    /// Whether the converter stays within one `/`-separated segment.
    pub(crate) fn part_isolating(&self) -> bool {
        !matches!(self, Converter::Path)
    }

    /// The regex Werkzeug would use. Two rule parts share a matcher state
    /// exactly when their regex text is equal, so this is the identity key.
    pub(crate) fn regex(&self) -> String {
        match self {
            Converter::Text {
                min,
                max,
                exact: true,
            } => format!("[^/]{{{}}}", max.unwrap_or(*min)),
            Converter::Text { min, max, .. } => match max {
                Some(m) => format!("[^/]{{{min},{m}}}"),
                None => format!("[^/]{{{min},}}"),
            },
            Converter::Int { signed, .. } => format!("{}\\d+", if *signed { "-?" } else { "" }),
            Converter::Float { signed, .. } => {
                format!("{}\\d+\\.\\d+", if *signed { "-?" } else { "" })
            }
            Converter::Path => "[^/].*?".to_owned(),
            Converter::Uuid => {
                "[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}"
                    .to_owned()
            }
            Converter::Any(items) => {
                let escaped: Vec<String> = items.iter().map(|i| re_escape(i)).collect();
                format!("(?:{})", escaped.join("|"))
            }
        }
    }

    /// Calls `try_end` with each end of a match starting at `pos` in `s`,
    /// in the order the regex engine would try them, until it returns true.
    pub(crate) fn for_each_end(
        &self,
        s: &str,
        pos: usize,
        try_end: &mut dyn FnMut(usize) -> bool,
    ) -> bool {
        let rest = &s[pos..];
        match self {
            Converter::Text { min, max, .. } => {
                // Greedy `[^/]{min,max}`: longest first.
                let mut ends: usize = 0;
                let mut count = 0usize;
                for c in rest.chars() {
                    if c == '/' || max.is_some_and(|m| count >= m) {
                        break;
                    }
                    ends += c.len_utf8();
                    count += 1;
                }
                let mut end = ends;
                loop {
                    if count < *min {
                        return false;
                    }
                    if try_end(pos + end) {
                        return true;
                    }
                    match rest[..end].chars().next_back() {
                        Some(c) => {
                            end -= c.len_utf8();
                            count -= 1;
                        }
                        None => return false,
                    }
                }
            }
            Converter::Int { signed, .. } => {
                let sign = usize::from(*signed && rest.starts_with('-'));
                let digits = digit_run(&rest[sign..]);
                greedy_back(&rest[sign..sign + digits], pos + sign, 1, try_end)
            }
            Converter::Float { signed, .. } => {
                let sign = usize::from(*signed && rest.starts_with('-'));
                let int_len = digit_run(&rest[sign..]);
                if int_len == 0 || rest.as_bytes().get(sign + int_len) != Some(&b'.') {
                    return false;
                }
                let frac_start = sign + int_len + 1;
                let frac = digit_run(&rest[frac_start..]);
                greedy_back(
                    &rest[frac_start..frac_start + frac],
                    pos + frac_start,
                    1,
                    try_end,
                )
            }
            Converter::Path => {
                // `[^/].*?`: one non-slash character, then lazily anything
                // but a newline (Python's `.`).
                let mut chars = rest.char_indices();
                match chars.next() {
                    Some((_, c)) if c != '/' => {
                        if try_end(pos + c.len_utf8()) {
                            return true;
                        }
                    }
                    _ => return false,
                }
                for (i, c) in chars {
                    if c == '\n' {
                        return false;
                    }
                    if try_end(pos + i + c.len_utf8()) {
                        return true;
                    }
                }
                false
            }
            Converter::Uuid => {
                let b = rest.as_bytes();
                let ok = b.len() >= 36
                    && b[..36].iter().enumerate().all(|(i, c)| match i {
                        8 | 13 | 18 | 23 => *c == b'-',
                        _ => c.is_ascii_hexdigit(),
                    });
                ok && try_end(pos + 36)
            }
            Converter::Any(items) => {
                if items.is_empty() {
                    // `(?:)` matches the empty string.
                    return try_end(pos);
                }
                items
                    .iter()
                    .any(|item| rest.starts_with(item.as_str()) && try_end(pos + item.len()))
            }
        }
    }

    /// Werkzeug's `to_python`; `None` is a `ValidationError` (the rule
    /// does not match). Integers beyond `i64` are treated the same way.
    pub(crate) fn to_python(&self, value: &str) -> Option<RouteValue> {
        match self {
            Converter::Text { .. } | Converter::Path | Converter::Any(_) => {
                Some(RouteValue::Str(value.to_owned()))
            }
            Converter::Uuid => Some(RouteValue::Str(value.to_ascii_lowercase())),
            Converter::Int {
                fixed_digits,
                min,
                max,
                ..
            } => {
                if *fixed_digits != 0 && value.chars().count() != *fixed_digits {
                    return None;
                }
                let n: i64 = py_int_text(value).ok()?.parse().ok()?;
                in_bounds(Number::Int(i128::from(n)), min, max).then_some(RouteValue::Int(n))
            }
            Converter::Float { min, max, .. } => {
                let x = py_float_parse(value).ok()?;
                in_bounds(Number::Float(x), min, max).then_some(RouteValue::Float(x))
            }
        }
    }

    /// Werkzeug's `to_url`. The error is the Python `ValueError` text.
    pub(crate) fn to_url(&self, value: &RouteValue) -> Result<String, String> {
        match self {
            Converter::Text { .. } | Converter::Path => Ok(quote_path(&value.to_string())),
            Converter::Uuid => Ok(value.to_string()),
            Converter::Any(items) => {
                let text = value.to_string();
                if matches!(value, RouteValue::Str(s) if items.contains(s)) {
                    return Ok(text);
                }
                let mut sorted: Vec<&String> = items.iter().collect();
                sorted.sort();
                sorted.dedup();
                let listed: Vec<String> = sorted.iter().map(|i| format!("'{i}'")).collect();
                Err(format!("'{text}' is not one of {}", listed.join(", ")))
            }
            Converter::Int { fixed_digits, .. } => {
                let text = match value {
                    RouteValue::Int(i) => i.to_string(),
                    RouteValue::Bool(b) => u8::from(*b).to_string(),
                    RouteValue::Float(x) => py_int_of_float(*x)?,
                    RouteValue::Str(s) => py_int_text(s)?,
                };
                Ok(zfill(text, *fixed_digits))
            }
            Converter::Float { .. } => {
                let x = match value {
                    RouteValue::Int(i) => *i as f64,
                    RouteValue::Bool(b) => f64::from(u8::from(*b)),
                    RouteValue::Float(x) => *x,
                    RouteValue::Str(s) => py_float_parse(s)?,
                };
                Ok(py_float_str(x))
            }
        }
    }
}

fn in_bounds(n: Number, min: &Option<Number>, max: &Option<Number>) -> bool {
    use std::cmp::Ordering::{Greater, Less};
    // Python: `(min is not None and n < min) or (max is not None and n > max)`
    // rejects; comparisons with NaN are false and so accept.
    let below = min.is_some_and(|m| n.partial_cmp_num(&m) == Some(Less));
    let above = max.is_some_and(|m| n.partial_cmp_num(&m) == Some(Greater));
    !(below || above)
}

/// Byte length of the leading run of Python `\d` characters.
fn digit_run(s: &str) -> usize {
    s.char_indices()
        .find(|(_, c)| decimal_value(*c).is_none())
        .map_or(s.len(), |(i, _)| i)
}

/// Tries the ends of a greedy repeat over `run` (starting at byte `base`),
/// longest first, down to `min_chars` characters.
fn greedy_back(
    run: &str,
    base: usize,
    min_chars: usize,
    try_end: &mut dyn FnMut(usize) -> bool,
) -> bool {
    let mut count = run.chars().count();
    let mut end = run.len();
    while count >= min_chars {
        if try_end(base + end) {
            return true;
        }
        match run[..end].chars().next_back() {
            Some(c) => end -= c.len_utf8(),
            None => break,
        }
        count -= 1;
    }
    false
}

/// Python's `str.zfill`.
fn zfill(text: String, width: usize) -> String {
    let len = text.chars().count();
    if len >= width {
        return text;
    }
    let pad = "0".repeat(width - len);
    match text.strip_prefix(['-', '+']) {
        Some(rest) => format!("{}{pad}{rest}", &text[..1]),
        None => format!("{pad}{text}"),
    }
}

/// Python's `re.escape` (3.7+), used for rule-part identity keys.
pub(crate) fn re_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\u{b}\u{c}".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::converter_args::parse_converter_args;
    use super::*;

    fn args(s: &str) -> ConverterArgs {
        parse_converter_args(s).unwrap()
    }

    #[test]
    fn converter_construction_errors_are_pythons() {
        let err = |name: &str, a: &str| Converter::new(name, args(a)).unwrap_err().1;
        assert_eq!(
            err("int", "foo=1"),
            "NumberConverter.__init__() got an unexpected keyword argument 'foo'"
        );
        assert_eq!(
            err("string", "2, minlength=3"),
            "UnicodeConverter.__init__() got multiple values for argument 'minlength'"
        );
        assert_eq!(
            err("string", "length=x"),
            "invalid literal for int() with base 10: 'x'"
        );
        assert_eq!(err("foo", ""), "the converter 'foo' does not exist");
        assert_eq!(
            err("any", "1, 2"),
            "decoding to str: need a bytes-like object, int found"
        );
        assert_eq!(
            err("string", "1, 2, 3, 4"),
            "UnicodeConverter.__init__() takes from 2 to 5 positional arguments but 6 were given"
        );
        assert!(Converter::new("path", args("foo=1")).is_ok());
    }

    #[test]
    fn regexes_are_werkzeugs() {
        let re = |name: &str, a: &str| Converter::new(name, args(a)).unwrap().regex();
        assert_eq!(re("string", ""), "[^/]{1,}");
        assert_eq!(re("string", "length=2"), "[^/]{2}");
        assert_eq!(re("string", "2, 3"), "[^/]{2,3}");
        assert_eq!(re("int", "signed=True"), "-?\\d+");
        assert_eq!(re("float", ""), "\\d+\\.\\d+");
        assert_eq!(re("any", "a, \"b.c\""), "(?:a|b\\.c)");
        assert_eq!(re("any", ""), "(?:)");
    }

    fn ends(c: &Converter, s: &str) -> Vec<usize> {
        let mut out = Vec::new();
        c.for_each_end(s, 0, &mut |e| {
            out.push(e);
            false
        });
        out
    }

    #[test]
    fn match_ends_follow_regex_preference() {
        let text = Converter::new("string", args("")).unwrap();
        assert_eq!(ends(&text, "ab/c"), vec![2, 1]);
        let two = Converter::new("string", args("length=2")).unwrap();
        assert_eq!(ends(&two, "abc"), vec![2]);
        assert_eq!(ends(&Converter::Path, "a/b\nc"), vec![1, 2, 3]);
        assert_eq!(ends(&Converter::Path, "/a"), Vec::<usize>::new());
        let int = Converter::new("int", args("signed=True")).unwrap();
        assert_eq!(ends(&int, "-12x"), vec![3, 2]);
        let float = Converter::new("float", args("")).unwrap();
        assert_eq!(ends(&float, "1.25"), vec![4, 3]);
        assert_eq!(ends(&float, "1."), Vec::<usize>::new());
        let any = Converter::new("any", args("a, ab")).unwrap();
        assert_eq!(ends(&any, "abc"), vec![1, 2]);
        assert_eq!(
            ends(&Converter::Uuid, "ABCDEF00-0000-0000-0000-000000000000/x"),
            vec![36]
        );
    }

    #[test]
    fn to_python_validates() {
        let int = Converter::new("int", args("fixed_digits=3, min=5")).unwrap();
        assert_eq!(int.to_python("012"), Some(RouteValue::Int(12)));
        assert_eq!(int.to_python("12"), None);
        assert_eq!(int.to_python("004"), None);
        let big = Converter::new("int", args("")).unwrap();
        assert_eq!(big.to_python("\u{661}\u{662}"), Some(RouteValue::Int(12)));
        assert_eq!(big.to_python("99999999999999999999"), None);
        assert_eq!(
            Converter::Uuid.to_python("ABCDEF00-0000-0000-0000-000000000000"),
            Some(RouteValue::Str(
                "abcdef00-0000-0000-0000-000000000000".into()
            ))
        );
        let float = Converter::new("float", args("max=2")).unwrap();
        assert_eq!(float.to_python("1.5"), Some(RouteValue::Float(1.5)));
        assert_eq!(float.to_python("2.5"), None);
    }

    #[test]
    fn to_url_like_werkzeug() {
        let fixed = Converter::new("int", args("fixed_digits=4")).unwrap();
        let url = |c: &Converter, v: RouteValue| c.to_url(&v);
        assert_eq!(url(&fixed, RouteValue::Int(-5)).unwrap(), "-005");
        assert_eq!(url(&fixed, RouteValue::Bool(true)).unwrap(), "0001");
        assert_eq!(url(&fixed, RouteValue::Float(3.9)).unwrap(), "0003");
        assert_eq!(url(&fixed, " 1_0 ".into()).unwrap(), "0010");
        assert_eq!(
            url(&fixed, "abc".into()).unwrap_err(),
            "invalid literal for int() with base 10: 'abc'"
        );
        let float = Converter::new("float", args("")).unwrap();
        assert_eq!(url(&float, RouteValue::Int(3)).unwrap(), "3.0");
        assert_eq!(url(&float, "1e3".into()).unwrap(), "1000.0");
        let any = Converter::new("any", args("help, about")).unwrap();
        assert_eq!(url(&any, "help".into()).unwrap(), "help");
        assert_eq!(
            url(&any, "x".into()).unwrap_err(),
            "'x' is not one of 'about', 'help'"
        );
        let text = Converter::new("string", args("")).unwrap();
        assert_eq!(url(&text, "a b/c?".into()).unwrap(), "a%20b/c%3F");
        assert_eq!(url(&Converter::Uuid, "A B".into()).unwrap(), "A B");
    }
}

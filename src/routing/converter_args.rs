//! Converter arguments: Werkzeug's `parse_converter_args` (the text in
//! `<int(min=1, signed=True):x>`) and Python's binding of them to a
//! converter's `__init__` parameters, with Python's error texts.

use super::value::{
    is_py_digit, is_py_word, py_float_parse, py_int_of_float, py_int_text, py_repr, Number,
};

/// A converter argument after Werkzeug's `_pythonize`.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum ArgValue {
    None,
    Bool(bool),
    Int(i128),
    Float(f64),
    Str(String),
}

impl ArgValue {
    /// Python truthiness.
    pub(crate) fn truthy(&self) -> bool {
        match self {
            ArgValue::None => false,
            ArgValue::Bool(b) => *b,
            ArgValue::Int(i) => *i != 0,
            ArgValue::Float(f) => *f != 0.0,
            ArgValue::Str(s) => !s.is_empty(),
        }
    }

    /// Python's type name, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            ArgValue::None => "NoneType",
            ArgValue::Bool(_) => "bool",
            ArgValue::Int(_) => "int",
            ArgValue::Float(_) => "float",
            ArgValue::Str(_) => "str",
        }
    }

    /// Python's `int(value)`.
    pub(crate) fn to_int(&self) -> Result<i128, String> {
        match self {
            ArgValue::Int(i) => Ok(*i),
            ArgValue::Bool(b) => Ok(i128::from(*b)),
            ArgValue::Float(f) => py_int_of_float(*f).and_then(|t| parse_i128(&t, self)),
            ArgValue::Str(s) => py_int_text(s).and_then(|t| parse_i128(&t, self)),
            ArgValue::None => Err(
                "int() argument must be a string, a bytes-like object or a real number, \
                 not 'NoneType'"
                    .to_owned(),
            ),
        }
    }

    /// A numeric bound (`min`/`max`); `None` when unset.
    pub(crate) fn to_bound(&self, name: &str) -> Result<Option<Number>, String> {
        match self {
            ArgValue::None => Ok(None),
            ArgValue::Bool(b) => Ok(Some(Number::Int(i128::from(*b)))),
            ArgValue::Int(i) => Ok(Some(Number::Int(*i))),
            ArgValue::Float(f) => Ok(Some(Number::Float(*f))),
            // Python would only fail when a URL is matched; failing while
            // the rule is added points at the culprit instead.
            ArgValue::Str(_) => Err(format!(
                "the converter argument {} must be a number, not 'str'",
                py_repr(name)
            )),
        }
    }
}

fn parse_i128(text: &str, orig: &ArgValue) -> Result<i128, String> {
    text.parse::<i128>()
        .map_err(|_| format!("integer argument out of range: {orig:?}"))
}

/// Werkzeug's `_pythonize`: constants, then `int`, then `float`, then a
/// string with one level of matching quotes removed.
fn pythonize(value: &str) -> ArgValue {
    match value {
        "None" => return ArgValue::None,
        "True" => return ArgValue::Bool(true),
        "False" => return ArgValue::Bool(false),
        _ => {}
    }
    if let Ok(t) = py_int_text(value) {
        if let Ok(i) = t.parse::<i128>() {
            return ArgValue::Int(i);
        }
    }
    if let Ok(f) = py_float_parse(value) {
        return ArgValue::Float(f);
    }
    let mut chars = value.chars();
    let (first, last) = (chars.next(), value.chars().next_back());
    if first.is_some() && first == last && matches!(first, Some('"' | '\'')) {
        let q = first.map_or(0, char::len_utf8);
        let inner = value.get(q..value.len().saturating_sub(q)).unwrap_or("");
        return ArgValue::Str(inner.to_owned());
    }
    ArgValue::Str(value.to_owned())
}

/// Positional and keyword converter arguments.
pub(crate) type ConverterArgs = (Vec<ArgValue>, Vec<(String, ArgValue)>);

/// Werkzeug's `parse_converter_args`: a port of its `_converter_args_re`
/// scanned with `finditer` (text that no item matches at the end is
/// ignored, text skipped before an item is an error, as in Werkzeug).
pub(crate) fn parse_converter_args(argstr: &str) -> Result<ConverterArgs, String> {
    let mut text: Vec<char> = argstr.chars().collect();
    text.push(',');
    let mut args = Vec::new();
    let mut kwargs: Vec<(String, ArgValue)> = Vec::new();
    let mut position = 0;
    loop {
        let found =
            (position..text.len()).find_map(|start| match_arg(&text, start).map(|m| (start, m)));
        let Some((start, item)) = found else { break };
        if start != position {
            let skipped: String = text[position..start].iter().collect();
            return Err(format!("Cannot parse converter argument '{skipped}'"));
        }
        let value = pythonize(&item.value);
        match item.name {
            Some(name) => match kwargs.iter_mut().find(|(k, _)| *k == name) {
                Some(slot) => slot.1 = value,
                None => kwargs.push((name, value)),
            },
            None => args.push(value),
        }
        position = item.end;
    }
    Ok((args, kwargs))
}

struct ArgItem {
    name: Option<String>,
    value: String,
    end: usize,
}

fn skip_ws(t: &[char], mut i: usize) -> usize {
    while t.get(i).is_some_and(|c| c.is_whitespace()) {
        i += 1;
    }
    i
}

fn run_len(t: &[char], i: usize, pred: impl Fn(char) -> bool) -> usize {
    t[i.min(t.len())..].iter().take_while(|c| pred(**c)).count()
}

/// One anchored match of
/// `\s*((?P<name>\w+)\s*=\s*)?(?P<value>…)\s*,` at `start`.
fn match_arg(t: &[char], start: usize) -> Option<ArgItem> {
    let p = skip_ws(t, start);
    let w = run_len(t, p, is_py_word);
    if w > 0 {
        let eq = skip_ws(t, p + w);
        if t.get(eq) == Some(&'=') {
            if let Some((value, end)) = match_value(t, skip_ws(t, eq + 1)) {
                let name = t[p..p + w].iter().collect();
                return Some(ArgItem {
                    name: Some(name),
                    value,
                    end,
                });
            }
        }
    }
    let (value, end) = match_value(t, p)?;
    Some(ArgItem {
        name: None,
        value,
        end,
    })
}

/// The value alternatives in regex order, each followed by `\s*,`.
/// Returns the value text (`stringval` when quoted) and the match end.
fn match_value(t: &[char], v: usize) -> Option<(String, usize)> {
    let tail = |end: usize| {
        let c = skip_ws(t, end);
        (t.get(c) == Some(&',')).then_some(c + 1)
    };
    let text = |a: usize, b: usize| t[a..b].iter().collect::<String>();
    for lit in ["True", "False"] {
        let n = lit.chars().count();
        if t.len() >= v + n && t[v..v + n].iter().copied().eq(lit.chars()) {
            if let Some(end) = tail(v + n) {
                return Some((lit.to_owned(), end));
            }
        }
    }
    let digits = run_len(t, v, is_py_digit);
    let any_char = |i: usize| t.get(i).is_some_and(|c| *c != '\n');
    // \d+.\d+
    for k in (1..=digits).rev() {
        if any_char(v + k) {
            let m = run_len(t, v + k + 1, is_py_digit);
            for j in (1..=m).rev() {
                if let Some(end) = tail(v + k + 1 + j) {
                    return Some((text(v, v + k + 1 + j), end));
                }
            }
        }
    }
    // \d+.
    for k in (1..=digits).rev() {
        if any_char(v + k) {
            if let Some(end) = tail(v + k + 1) {
                return Some((text(v, v + k + 1), end));
            }
        }
    }
    // \d+
    for k in (1..=digits).rev() {
        if let Some(end) = tail(v + k) {
            return Some((text(v, v + k), end));
        }
    }
    // [\w\d_.]+
    let word = run_len(t, v, |c| is_py_word(c) || c == '.');
    for k in (1..=word).rev() {
        if let Some(end) = tail(v + k) {
            return Some((text(v, v + k), end));
        }
    }
    // [urUR]?(?P<stringval>"[^"]*?"|'[^']*')
    let quoted = |q: usize| -> Option<(String, usize)> {
        let open = *t.get(q)?;
        if open != '"' && open != '\'' {
            return None;
        }
        let close = t[q + 1..].iter().position(|c| *c == open)? + q + 1;
        tail(close + 1).map(|end| (text(q, close + 1), end))
    };
    if t.get(v).is_some_and(|c| "urUR".contains(*c)) {
        if let Some(found) = quoted(v + 1) {
            return Some(found);
        }
    }
    quoted(v)
}

/// Binds converter arguments to parameter names as Python would, with
/// Python's `TypeError` messages.
pub(crate) fn bind(
    class: &str,
    params: &[&str],
    (args, kwargs): ConverterArgs,
) -> Result<Vec<Option<ArgValue>>, String> {
    if args.len() > params.len() {
        return Err(format!(
            "{class}.__init__() takes from 2 to {} positional arguments but {} were given",
            params.len() + 2,
            args.len() + 2
        ));
    }
    let mut slots: Vec<Option<ArgValue>> = args.into_iter().map(Some).collect();
    slots.resize(params.len(), None);
    for (name, value) in kwargs {
        let Some(i) = params.iter().position(|p| *p == name) else {
            return Err(format!(
                "{class}.__init__() got an unexpected keyword argument {}",
                py_repr(&name)
            ));
        };
        if slots[i].is_some() {
            return Err(format!(
                "{class}.__init__() got multiple values for argument {}",
                py_repr(&name)
            ));
        }
        slots[i] = Some(value);
    }
    Ok(slots)
}

/// Parameters whose Python defaults are all `None`-like (`0`, `False`).
pub(crate) fn bind_or_none(slots: Vec<Option<ArgValue>>) -> Vec<ArgValue> {
    slots
        .into_iter()
        .map(|s| s.unwrap_or(ArgValue::None))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> ConverterArgs {
        parse_converter_args(s).unwrap()
    }

    #[test]
    fn converter_argument_parsing_matches_werkzeug() {
        assert_eq!(
            args("length=2"),
            (vec![], vec![("length".to_owned(), ArgValue::Int(2))])
        );
        assert_eq!(
            args("about, help, \"foo,bar\", u'x y'"),
            (
                vec![
                    ArgValue::Str("about".into()),
                    ArgValue::Str("help".into()),
                    ArgValue::Str("foo,bar".into()),
                    ArgValue::Str("x y".into()),
                ],
                vec![]
            )
        );
        assert_eq!(
            args("signed=True, min=1.5, max=None"),
            (
                vec![],
                vec![
                    ("signed".to_owned(), ArgValue::Bool(true)),
                    ("min".to_owned(), ArgValue::Float(1.5)),
                    ("max".to_owned(), ArgValue::None),
                ]
            )
        );
        // `\d+.\d+` lets `.` be any character: "3,1" is one value.
        assert_eq!(args("3,1"), (vec![ArgValue::Str("3,1".into())], vec![]));
        assert_eq!(args(""), (vec![], vec![]));
        assert_eq!(
            parse_converter_args("maxlength=-1").unwrap_err(),
            "Cannot parse converter argument 'maxlength=-'"
        );
    }
}

//! Conditional and range requests as Werkzeug answers them: `parse_etags`,
//! `parse_range_header`, `parse_date` (Python's `email.utils` parser) and
//! `is_resource_modified` (werkzeug/http.py, werkzeug/sansio/http.py).

use crate::http::Request;

/// Parsed entity tags (Werkzeug's `ETags`).
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct ETags {
    star: bool,
    strong: Vec<String>,
    weak: Vec<String>,
}

impl ETags {
    /// Whether any tag (or `*`) was given (Werkzeug's `__bool__`).
    pub(crate) fn is_present(&self) -> bool {
        self.star || !self.strong.is_empty() || !self.weak.is_empty()
    }

    fn is_strong(&self, tag: &str) -> bool {
        self.strong.iter().any(|t| t == tag)
    }

    /// Strong comparison; `*` matches anything.
    fn contains(&self, tag: &str) -> bool {
        self.star || self.is_strong(tag)
    }

    /// Weak comparison: weak tags match too.
    fn contains_weak(&self, tag: &str) -> bool {
        self.weak.iter().any(|t| t == tag) || self.contains(tag)
    }
}

/// The length of a `\s*,\s*` separator at the start of `s`, if there is one.
fn separator_len(s: &str) -> Option<usize> {
    let trimmed = s.trim_start();
    let rest = trimmed.strip_prefix(',')?;
    Some(s.len() - rest.trim_start().len())
}

/// Werkzeug's `parse_etags`, which applies
/// `([Ww]/)?(?:"(.*?)"|(.*?))(?:\s*,\s*|$)` repeatedly; the lazy groups
/// end at the first place a separator (or the end) follows.
pub(crate) fn parse_etags(value: Option<&str>) -> ETags {
    let mut tags = ETags::default();
    let Some(value) = value.filter(|v| !v.is_empty()) else {
        return tags;
    };
    let mut pos = 0;
    while pos < value.len() {
        let mut start = pos;
        let rest = &value[pos..];
        let is_weak = rest.starts_with("W/") || rest.starts_with("w/");
        if is_weak {
            start += 2;
        }
        let item = &value[start..];
        // The quoted form: the first closing quote followed by a separator or the end.
        let quoted = item.strip_prefix('"').and_then(|inner| {
            inner.match_indices('"').find_map(|(i, _)| {
                let after = &inner[i + 1..];
                let sep = if after.is_empty() {
                    Some(0)
                } else {
                    separator_len(after)
                }?;
                Some((&inner[..i], start + 1 + i + 1 + sep))
            })
        });
        let (raw, is_quoted, end) = match quoted {
            Some((tag, end)) => (tag, true, end),
            None => {
                // The bare form: up to the first separator, or the end.
                let found = item
                    .char_indices()
                    .find_map(|(i, _)| separator_len(&item[i..]).map(|n| (i, n)));
                match found {
                    Some((i, n)) => (&item[..i], false, start + i + n),
                    None => (item, false, value.len()),
                }
            }
        };
        if !is_quoted && raw == "*" {
            return ETags {
                star: true,
                ..ETags::default()
            };
        }
        if is_weak {
            tags.weak.push(raw.to_owned());
        } else {
            tags.strong.push(raw.to_owned());
        }
        pos = end.max(pos + 1);
    }
    tags
}

/// Werkzeug's `unquote_etag`: drops `W/` and the quotes.
pub(crate) fn unquote_etag(etag: &str) -> &str {
    let etag = etag.trim();
    let etag = etag
        .strip_prefix("W/")
        .or_else(|| etag.strip_prefix("w/"))
        .unwrap_or(etag);
    match etag.strip_prefix('"').and_then(|e| e.strip_suffix('"')) {
        Some(inner) => inner,
        None => etag,
    }
}

/// A parsed `Range` header: the unit and `(start, end)` pairs, `end`
/// exclusive, `start` negative for a suffix range (`-500`).
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Range {
    units: String,
    ranges: Vec<(i128, Option<i128>)>,
}

impl Range {
    /// Werkzeug's `range_for_length`: the one satisfiable byte range.
    pub(crate) fn range_for_length(&self, length: u64) -> Option<(u64, u64)> {
        if self.units != "bytes" || self.ranges.len() != 1 {
            return None;
        }
        let length = i128::from(length);
        let (mut start, end) = self.ranges[0];
        let end = match end {
            Some(e) => e,
            None => {
                if start < 0 {
                    start += length;
                }
                length
            }
        };
        if start >= end || !(0 <= start && start < length) {
            return None;
        }
        let start = u64::try_from(start).ok()?;
        let end = u64::try_from(end.min(length)).ok()?;
        Some((start, end))
    }
}

/// Werkzeug's `_plain_int`: ASCII digits with an optional leading `-`,
/// surrounding whitespace ignored. Values past `i128` saturate, which keeps
/// Python's arbitrary-precision answers for any file size.
fn plain_int(s: &str) -> Option<i128> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = digits.bytes().fold(0i128, |acc, b| {
        acc.saturating_mul(10).saturating_add(i128::from(b - b'0'))
    });
    Some(if neg { -n } else { n })
}

/// Werkzeug's `parse_range_header`; `None` when missing or malformed.
pub(crate) fn parse_range_header(value: Option<&str>) -> Option<Range> {
    let value = value?;
    let (units, rng) = value.split_once('=')?;
    let mut ranges = Vec::new();
    let mut last_end: i128 = 0;
    for item in rng.split(',') {
        let item = item.trim();
        if !item.contains('-') {
            return None;
        }
        if item.starts_with('-') {
            if last_end < 0 {
                return None;
            }
            ranges.push((plain_int(item)?, None));
            last_end = -1;
        } else {
            let (begin, end) = item.split_once('-')?;
            let begin = plain_int(begin)?;
            if begin < last_end || last_end < 0 {
                return None;
            }
            let end = end.trim();
            let end = if end.is_empty() {
                None
            } else {
                let e = plain_int(end)?.saturating_add(1);
                if begin >= e {
                    return None;
                }
                Some(e)
            };
            last_end = end.unwrap_or(-1);
            ranges.push((begin, end));
        }
    }
    Some(Range {
        units: units.trim().to_lowercase(),
        ranges,
    })
}

const MONTHS: [&str; 24] = [
    "jan",
    "feb",
    "mar",
    "apr",
    "may",
    "jun",
    "jul",
    "aug",
    "sep",
    "oct",
    "nov",
    "dec",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const ZONES: [(&str, i64); 14] = [
    ("UT", 0),
    ("UTC", 0),
    ("GMT", 0),
    ("Z", 0),
    ("AST", -400),
    ("ADT", -300),
    ("EST", -500),
    ("EDT", -400),
    ("CST", -600),
    ("CDT", -500),
    ("MST", -700),
    ("MDT", -600),
    ("PST", -800),
    ("PDT", -700),
];

/// Python's `int()` on a short field: optional sign, ASCII digits.
fn py_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || digits.len() > 12 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => 31,
    }
}

/// Werkzeug's `parse_date` (Python's `email.utils._parsedate_tz` plus
/// `datetime` validation): Unix seconds, or `None`. Accepts the three HTTP
/// date forms, numeric and named zones, and the lenient variants Python does.
pub(crate) fn parse_date(value: Option<&str>) -> Option<i64> {
    let mut data: Vec<String> = value?.split_whitespace().map(str::to_owned).collect();
    let first = data.first()?;
    if first.ends_with(',') || DAYS.contains(&first.to_lowercase().as_str()) {
        data.remove(0);
    } else if let Some(i) = first.rfind(',') {
        data[0] = first[i + 1..].to_owned();
    }
    if data.len() == 3 {
        let stuff: Vec<String> = data[0].split('-').map(str::to_owned).collect();
        if stuff.len() == 3 {
            data = stuff.into_iter().chain(data.drain(1..)).collect();
        }
    }
    if data.len() == 4 {
        let s = data[3].clone();
        let i = s.find('+').or_else(|| s.find('-'));
        match i {
            Some(i) if i > 0 => {
                data.truncate(3);
                data.push(s[..i].to_owned());
                data.push(s[i..].to_owned());
            }
            _ => data.push(String::new()),
        }
    }
    if data.len() < 5 {
        return None;
    }
    data.truncate(5);
    let [mut dd, mut mm, mut yy, mut tm, mut tz]: [String; 5] = data.try_into().ok()?;
    if dd.is_empty() || mm.is_empty() || yy.is_empty() {
        return None;
    }
    mm = mm.to_lowercase();
    if !MONTHS.contains(&mm.as_str()) {
        (dd, mm) = (mm, dd.to_lowercase());
        if !MONTHS.contains(&mm.as_str()) {
            return None;
        }
    }
    let mut month = MONTHS.iter().position(|m| *m == mm)? as i64 + 1;
    if month > 12 {
        month -= 12;
    }
    if dd.ends_with(',') {
        dd.pop();
    }
    if yy.find(':').is_some_and(|i| i > 0) {
        std::mem::swap(&mut yy, &mut tm);
    }
    if yy.ends_with(',') {
        yy.pop();
    }
    if !yy.starts_with(|c: char| c.is_ascii_digit()) {
        std::mem::swap(&mut yy, &mut tz);
    }
    if tm.ends_with(',') {
        tm.pop();
    }
    let mut parts: Vec<&str> = tm.split(':').collect();
    if parts.len() == 1 && tm.contains('.') {
        parts = tm.split('.').collect();
    }
    let (thh, tmm, tss) = match parts.as_slice() {
        [h, m] => (*h, *m, "0"),
        [h, m, s] => (*h, *m, *s),
        _ => return None,
    };
    let mut year = py_int(&yy)?;
    let day = py_int(&dd)?;
    let (hour, minute, second) = (py_int(thh)?, py_int(tmm)?, py_int(tss)?);
    if year < 100 {
        year += if year > 68 { 1900 } else { 2000 };
    }
    let tz = tz.to_uppercase();
    let offset = match ZONES.iter().find(|(name, _)| *name == tz) {
        Some((_, off)) => Some(*off),
        None => py_int(&tz).filter(|off| !(*off == 0 && tz.starts_with('-'))),
    };
    let offset_secs = offset.map_or(0, |off| {
        let (sign, off) = if off < 0 { (-1, -off) } else { (1, off) };
        sign * ((off / 100) * 3600 + (off % 100) * 60)
    });
    // Python's datetime() refuses out-of-range fields.
    if !(1..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || !(0..24).contains(&hour)
        || !(0..60).contains(&minute)
        || !(0..60).contains(&second)
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs)
}

/// Werkzeug's `is_resource_modified` for a response with `etag` (quoted, as
/// in the header) and `last_modified` (Unix seconds).
pub(crate) fn is_resource_modified(
    request: &Request,
    etag: Option<&str>,
    last_modified: Option<i64>,
    ignore_if_range: bool,
) -> bool {
    let h = &request.headers;
    let mut unmodified = false;
    // (date, etag) of If-Range, considered only alongside a Range header.
    let if_range: Option<(Option<i64>, Option<&str>)> = if !ignore_if_range && h.contains("Range") {
        Some(match h.get("If-Range").filter(|v| !v.is_empty()) {
            None => (None, None),
            Some(v) => match parse_date(Some(v)) {
                Some(date) => (Some(date), None),
                None => (None, Some(unquote_etag(v))),
            },
        })
    } else {
        None
    };
    let modified_since = match if_range {
        Some((Some(date), _)) => Some(date),
        _ => parse_date(h.get("If-Modified-Since")),
    };
    if let (Some(since), Some(lm)) = (modified_since, last_modified) {
        if lm <= since {
            unmodified = true;
        }
    }
    if let Some(etag) = etag.filter(|e| !e.is_empty()) {
        let etag = unquote_etag(etag);
        if let Some((_, Some(range_tag))) = if_range {
            unmodified = parse_etags(Some(range_tag)).contains(etag);
        } else {
            let if_none_match = parse_etags(h.get("If-None-Match"));
            if if_none_match.is_present() {
                unmodified = if_none_match.contains_weak(etag);
            }
            let if_match = parse_etags(h.get("If-Match"));
            if if_match.is_present() {
                unmodified = !if_match.is_strong(etag);
            }
        }
    }
    !unmodified
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(v: &str) -> (bool, Vec<&str>, Vec<&str>) {
        let t = parse_etags(Some(v));
        let leak = |v: Vec<String>| -> Vec<&str> {
            v.into_iter()
                .map(|s| &*Box::leak(s.into_boxed_str()))
                .collect()
        };
        (t.star, leak(t.strong), leak(t.weak))
    }

    #[test]
    fn etags_parse_like_werkzeug() {
        // Expected values from werkzeug.http.parse_etags.
        assert_eq!(tags(r#""a", W/"b", c"#), (false, vec!["a", "c"], vec!["b"]));
        assert_eq!(tags("*"), (true, vec![], vec![]));
        assert_eq!(tags(r#""*""#), (false, vec!["*"], vec![]));
        assert_eq!(tags(r#""a,b" , "c""#), (false, vec!["a,b", "c"], vec![]));
        assert_eq!(tags(r#""a"b", c"#), (false, vec!["a\"b", "c"], vec![]));
        assert_eq!(
            tags(r#""unterminated"#),
            (false, vec!["\"unterminated"], vec![])
        );
        assert_eq!(tags("a,,b"), (false, vec!["a", "", "b"], vec![]));
        assert!(!parse_etags(None).is_present());
        assert!(!parse_etags(Some("")).is_present());
    }

    #[test]
    fn unquote_etag_drops_weakness_and_quotes() {
        assert_eq!(unquote_etag(r#"W/"bar""#), "bar");
        assert_eq!(unquote_etag(r#" "bar" "#), "bar");
        assert_eq!(unquote_etag("bar"), "bar");
    }

    #[test]
    fn range_header_parses_like_werkzeug() {
        let r = |v: &str| parse_range_header(Some(v)).map(|r| r.range_for_length(20));
        assert_eq!(r("bytes=0-3"), Some(Some((0, 4))));
        assert_eq!(r("bytes=-5"), Some(Some((15, 20))));
        assert_eq!(r("bytes=5-"), Some(Some((5, 20))));
        assert_eq!(r("bytes=15-100"), Some(Some((15, 20))));
        assert_eq!(r("bytes=-0"), Some(Some((0, 20))));
        assert_eq!(r("bytes=20-"), Some(None));
        assert_eq!(r("bytes=-100"), Some(None));
        assert_eq!(r("bytes=0-1,3-4"), Some(None));
        assert_eq!(r("items=0-3"), Some(None));
        assert_eq!(
            r("bytes=0-99999999999999999999999999999999999999999"),
            Some(Some((0, 20)))
        );
        assert_eq!(r("bytes=4-2"), None);
        assert_eq!(r("foo"), None);
        assert_eq!(r("bytes=a-b"), None);
        assert_eq!(r("bytes=+1-2"), None);
        assert_eq!(r("bytes=3-4,0-1"), None);
        assert_eq!(r("bytes=-1,0-1"), None);
        assert_eq!(r("bytes=1"), None);
        assert_eq!(parse_range_header(None), None);
    }

    #[test]
    fn dates_parse_like_python_email_utils() {
        let t = 1_700_000_000;
        let d = |v: &str| parse_date(Some(v));
        assert_eq!(d("Tue, 14 Nov 2023 22:13:20 GMT"), Some(t));
        assert_eq!(d("Tuesday, 14-Nov-23 22:13:20 GMT"), Some(t));
        assert_eq!(d("Tue Nov 14 22:13:20 2023"), Some(t));
        assert_eq!(d("Tue, 14 Nov 2023 23:13:20 +0100"), Some(t));
        assert_eq!(d("Tue, 14 Nov 2023 17:13:20 EST"), Some(t));
        assert_eq!(d("14 Nov 2023 22:13:20"), Some(t));
        assert_eq!(d("Tue, 14 Nov 2023 22:13 GMT"), Some(t - 20));
        assert_eq!(d("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(d("Sat, 29 Feb 2020 00:00:00 GMT"), Some(1_582_934_400));
        assert_eq!(d("Sun, 29 Feb 2021 00:00:00 GMT"), None);
        assert_eq!(d("Tue, 14 Nov 2023 24:00:00 GMT"), None);
        assert_eq!(d("garbage"), None);
        assert_eq!(d(""), None);
        assert_eq!(d("Tue, 14 Foo 2023 22:13:20 GMT"), None);
    }
}

//! Werkzeug's `StateMachineMatcher`: a tree of states, one level per
//! `/`-separated segment. Static segments are hash lookups and win over
//! dynamic transitions, which are tried in weight order. All of it is built
//! when rules are added; a request walks the tree once (backtracking only
//! where Werkzeug does).

use std::collections::{BTreeSet, HashMap};

use super::rule::{Piece, Rule, RulePart};

/// A state: the rules that end here and the transitions out of it.
#[derive(Debug, Default)]
struct State {
    static_: HashMap<String, usize>,
    /// Sorted by weight (stable: equal weights keep insertion order).
    dynamic: Vec<(RulePart, usize)>,
    rules: Vec<usize>,
}

/// The matcher: states in an arena, root at index 0.
#[derive(Debug)]
pub(crate) struct Matcher {
    states: Vec<State>,
}

/// A strict-slashes rule matches with a trailing slash added; Werkzeug
/// aborts the whole search with this.
pub(crate) struct SlashRequired;

/// A structural match: the rule index and the raw captured texts in the
/// rule's converter order.
pub(crate) struct Found<'p> {
    pub(crate) rule: usize,
    pub(crate) values: Vec<&'p str>,
}

/// A segment of the path as a byte range; `(0, 0)` stands for the empty
/// trailing segment Werkzeug synthesizes after a `path/` suffix.
type Seg = (usize, usize);

const TRAILING_EMPTY: [Seg; 1] = [(0, 0)];

impl Default for Matcher {
    fn default() -> Self {
        Matcher {
            states: vec![State::default()],
        }
    }
}

impl Matcher {
    /// Werkzeug's `StateMachineMatcher.add` (plus `update`'s sorting).
    pub(crate) fn add(&mut self, rule_idx: usize, parts: &[RulePart]) {
        let mut state = 0;
        for part in parts {
            state = if part.is_static {
                match self.states[state].static_.get(&part.content) {
                    Some(&next) => next,
                    None => {
                        let next = self.new_state();
                        self.states[state]
                            .static_
                            .insert(part.content.clone(), next);
                        next
                    }
                }
            } else {
                let existing = self.states[state]
                    .dynamic
                    .iter()
                    .find(|(p, _)| p == part)
                    .map(|(_, s)| *s);
                match existing {
                    Some(next) => next,
                    None => {
                        let next = self.new_state();
                        let dynamic = &mut self.states[state].dynamic;
                        let at = dynamic.partition_point(|(p, _)| p.weight <= part.weight);
                        dynamic.insert(at, (part.clone(), next));
                        next
                    }
                }
            };
        }
        self.states[state].rules.push(rule_idx);
    }

    fn new_state(&mut self) -> usize {
        self.states.push(State::default());
        self.states.len() - 1
    }

    /// Werkzeug's `_match` over `path` (which starts with `/` or is
    /// empty). `have_match_for` collects the methods of rules that matched
    /// the path but not `method`.
    pub(crate) fn find<'a, 'p>(
        &'a self,
        rules: &'a [Rule],
        path: &'p str,
        method: &str,
        have_match_for: &mut BTreeSet<&'a str>,
    ) -> Result<Option<Found<'p>>, SlashRequired> {
        let mut segs: Vec<Seg> = Vec::with_capacity(8);
        let mut start = 0;
        for (i, b) in path.bytes().enumerate() {
            if b == b'/' {
                segs.push((start, i));
                start = i + 1;
            }
        }
        segs.push((start, path.len()));
        let mut search = Search {
            matcher: self,
            rules,
            path,
            method,
            have_match_for,
            values: Vec::new(),
            caps: Vec::new(),
        };
        let found = search.visit(0, &segs)?;
        Ok(found.map(|rule| Found {
            rule,
            values: search.values,
        }))
    }
}

struct Search<'a, 'p, 'h> {
    matcher: &'a Matcher,
    rules: &'a [Rule],
    path: &'p str,
    method: &'h str,
    have_match_for: &'h mut BTreeSet<&'a str>,
    values: Vec<&'p str>,
    caps: Vec<(usize, usize)>,
}

impl<'a, 'p> Search<'a, 'p, '_> {
    /// The first rule in `rule_ids` allowing the method; the others' methods
    /// are remembered for a 405.
    fn rule_for_method(&mut self, rule_ids: &[usize], only_lenient: bool) -> Option<usize> {
        for &r in rule_ids {
            let rule = &self.rules[r];
            if only_lenient && rule.strict_slashes {
                continue;
            }
            if rule.methods.contains(self.method) {
                return Some(r);
            }
            self.have_match_for
                .extend(rule.methods.iter().map(String::as_str));
        }
        None
    }

    fn visit(&mut self, state_id: usize, parts: &[Seg]) -> Result<Option<usize>, SlashRequired> {
        let matcher: &'a Matcher = self.matcher;
        let state = &matcher.states[state_id];
        let Some(&(first_start, first_end)) = parts.first() else {
            if let Some(r) = self.rule_for_method(&state.rules, false) {
                return Ok(Some(r));
            }
            // A rule would match with a trailing slash: redirect (strict)
            // or match (lenient), but only if it allows the method.
            if let Some(&slash_state) = state.static_.get("") {
                for &r in &matcher.states[slash_state].rules {
                    let rule = &self.rules[r];
                    if rule.methods.contains(self.method) {
                        if rule.strict_slashes {
                            return Err(SlashRequired);
                        }
                        return Ok(Some(r));
                    }
                }
            }
            return Ok(None);
        };
        let part = &self.path[first_start..first_end];
        if let Some(&next) = state.static_.get(part) {
            if let Some(r) = self.visit(next, &parts[1..])? {
                return Ok(Some(r));
            }
        }
        for (test_part, next) in &state.dynamic {
            let (target, mut remaining) = if test_part.is_final {
                let last_end = parts.last().map_or(first_end, |s| s.1);
                (&self.path[first_start..last_end], &[][..])
            } else {
                (part, &parts[1..])
            };
            let mark = self.values.len();
            // The capture buffer is reused across attempts (no allocation
            // per transition); it is emptied into `values` before recursing.
            let mut caps = std::mem::take(&mut self.caps);
            caps.clear();
            let mut slash_suffix = false;
            let matched = match_pieces(&test_part.pieces, target, 0, &mut caps, &mut slash_suffix);
            if matched {
                if test_part.suffixed && slash_suffix {
                    remaining = &TRAILING_EMPTY;
                }
                for &i in &test_part.capture_order {
                    if let Some(&(s, e)) = caps.get(i) {
                        self.values.push(&target[s..e]);
                    }
                }
            }
            self.caps = caps;
            if matched {
                if let Some(r) = self.visit(*next, remaining)? {
                    return Ok(Some(r));
                }
                self.values.truncate(mark);
            }
        }
        // A trailing slash the rule lacks is fine for lenient rules.
        if parts.len() == 1 && part.is_empty() {
            if let Some(r) = self.rule_for_method(&state.rules, true) {
                return Ok(Some(r));
            }
        }
        Ok(None)
    }
}

/// Matches `pieces` against all of `s[pos..]` (the part regex with its
/// `\Z`), backtracking like Python's engine. Captures are byte ranges.
fn match_pieces(
    pieces: &[Piece],
    s: &str,
    pos: usize,
    caps: &mut Vec<(usize, usize)>,
    slash_suffix: &mut bool,
) -> bool {
    let Some((piece, rest)) = pieces.split_first() else {
        return pos == s.len();
    };
    match piece {
        Piece::Lit(text) => {
            s[pos..].starts_with(text.as_str())
                && match_pieces(rest, s, pos + text.len(), caps, slash_suffix)
        }
        Piece::SlashSuffix => {
            // `(?<!/)(/?)` then `\Z`.
            if pos > 0 && s.as_bytes()[pos - 1] == b'/' {
                return false;
            }
            match &s[pos..] {
                "/" => {
                    *slash_suffix = true;
                    match_pieces(rest, s, s.len(), caps, slash_suffix)
                }
                "" => {
                    *slash_suffix = false;
                    match_pieces(rest, s, pos, caps, slash_suffix)
                }
                _ => false,
            }
        }
        Piece::Conv(conv) => conv.for_each_end(s, pos, &mut |end| {
            caps.push((pos, end));
            if match_pieces(rest, s, end, caps, slash_suffix) {
                return true;
            }
            caps.pop();
            false
        }),
    }
}

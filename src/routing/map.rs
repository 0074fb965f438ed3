//! The URL map: Werkzeug's `Map` plus the matching and building parts of
//! its `MapAdapter`, bound the way Flask binds it (no subdomains or host
//! matching, `redirect_defaults` on, URLs relative to the app root).

use std::borrow::Cow;
use std::collections::BTreeSet;

use indexmap::IndexMap;

use super::error::{BuildError, RoutingError, RuleError};
use super::matcher::{Found, Matcher, SlashRequired};
use super::rule::{merge_slashes, Rule, RuleSpec};
use super::value::RouteValue;
use crate::urls::{push_query_pair, quote_path};

/// The application's rules, compiled for matching and building.
#[derive(Debug)]
pub struct UrlMap {
    rules: Vec<Rule>,
    /// Rule indices per endpoint, endpoints in first-registration order
    /// (Werkzeug's `_rules_by_endpoint`).
    by_endpoint: IndexMap<String, Vec<usize>>,
    matcher: Matcher,
    merge_slashes: bool,
}

/// A successful match.
#[derive(Clone, Debug)]
pub struct RouteMatch<'a> {
    /// The rule that matched.
    pub rule: &'a Rule,
    /// The view arguments: converted values in rule order, then the rule's
    /// defaults.
    pub args: IndexMap<String, RouteValue>,
}

impl Default for UrlMap {
    fn default() -> Self {
        UrlMap::new()
    }
}

/// Werkzeug's `make_redirect_url` relative to the application root.
fn redirect_location(path: &str, query_string: &str) -> RoutingError {
    let mut location = String::with_capacity(path.len() + query_string.len() + 2);
    location.push('/');
    location.push_str(path.trim_start_matches('/'));
    if !query_string.is_empty() {
        location.push('?');
        location.push_str(query_string);
    }
    RoutingError::RequestRedirect { location }
}

fn build_compare_key(rule: &Rule) -> (isize, isize) {
    (
        -(rule.argument_set.len() as isize),
        -(rule.defaults.len() as isize),
    )
}

fn no_match(have_match_for: &BTreeSet<&str>) -> RoutingError {
    if have_match_for.is_empty() {
        RoutingError::NotFound
    } else {
        RoutingError::MethodNotAllowed {
            allowed: have_match_for.iter().map(|m| (*m).to_owned()).collect(),
        }
    }
}

impl UrlMap {
    /// An empty map with Werkzeug's defaults (`merge_slashes` and
    /// `strict_slashes` on).
    pub fn new() -> Self {
        UrlMap {
            rules: Vec::new(),
            by_endpoint: IndexMap::new(),
            matcher: Matcher::default(),
            merge_slashes: true,
        }
    }

    /// Compiles and adds a rule. The error carries Werkzeug's message
    /// (`malformed url rule: '/<x'`, `the converter 'foo' does not exist`,
    /// …). Endpoint clashes between view functions are the app's concern.
    pub fn add(&mut self, spec: RuleSpec) -> Result<(), RuleError> {
        let rule = Rule::compile(spec)?;
        let idx = self.rules.len();
        self.matcher.add(idx, &rule.parts);
        // Werkzeug's `Map.update` keeps each endpoint's rules stably sorted
        // by `build_compare_key`: more arguments first, then more defaults.
        // Building, default redirects and suggestions all use that order.
        let key = build_compare_key(&rule);
        let list = self.by_endpoint.entry(rule.endpoint.clone()).or_default();
        let at = list.partition_point(|&i| build_compare_key(&self.rules[i]) <= key);
        list.insert(at, idx);
        self.rules.push(rule);
        Ok(())
    }

    /// All rules in registration order (for `flask routes`).
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rules of one endpoint in Werkzeug's build order (more
    /// arguments first, then more defaults, then registration order).
    pub fn endpoint_rules<'a>(&'a self, endpoint: &str) -> impl Iterator<Item = &'a Rule> + 'a {
        self.by_endpoint
            .get(endpoint)
            .into_iter()
            .flatten()
            .map(move |&i| &self.rules[i])
    }

    /// Matches a request path (decoded, as Werkzeug's `PATH_INFO`) and
    /// method. `query_string` is the raw query, kept on redirects.
    pub fn match_request(
        &self,
        path: &str,
        method: &str,
        query_string: &str,
    ) -> Result<RouteMatch<'_>, RoutingError> {
        let method: Cow<'_, str> = if method.chars().any(char::is_lowercase) {
            Cow::Owned(method.to_uppercase())
        } else {
            Cow::Borrowed(method)
        };
        // Werkzeug matches `"/" + path_info.lstrip("/")`.
        let path: Cow<'_, str> =
            if path.is_empty() || (path.starts_with('/') && !path.starts_with("//")) {
                Cow::Borrowed(path)
            } else {
                Cow::Owned(format!("/{}", path.trim_start_matches('/')))
            };
        let mut have_match_for = BTreeSet::new();
        match self
            .matcher
            .find(&self.rules, &path, &method, &mut have_match_for)
        {
            Err(SlashRequired) => {
                return Err(redirect_location(
                    &quote_path(&format!("{path}/")),
                    query_string,
                ))
            }
            Ok(Some(found)) => return self.finish(found, &method, query_string, &have_match_for),
            Ok(None) => {}
        }
        // Werkzeug retries with merged slashes; without a `//` the retry
        // would repeat the first search exactly, so it is skipped.
        if self.merge_slashes && path.contains("//") {
            let merged = merge_slashes(&path);
            match self
                .matcher
                .find(&self.rules, &merged, &method, &mut have_match_for)
            {
                Err(SlashRequired) => {
                    return Err(redirect_location(
                        &quote_path(&format!("{merged}/")),
                        query_string,
                    ))
                }
                Ok(Some(_)) => return Err(redirect_location(&quote_path(&merged), query_string)),
                Ok(None) => {}
            }
        }
        Err(no_match(&have_match_for))
    }

    /// Converts the captured values; applies defaults and Werkzeug's
    /// `redirect_defaults`.
    fn finish<'a>(
        &'a self,
        found: Found<'_>,
        method: &str,
        query_string: &str,
        have_match_for: &BTreeSet<&str>,
    ) -> Result<RouteMatch<'a>, RoutingError> {
        let rule = &self.rules[found.rule];
        let mut args = IndexMap::with_capacity(rule.converters.len() + rule.defaults.len());
        for ((name, conv), raw) in rule.converters.iter().zip(found.values) {
            match conv.to_python(raw) {
                Some(value) => {
                    args.insert(name.clone(), value);
                }
                None => return Err(no_match(have_match_for)),
            }
        }
        for (k, v) in &rule.defaults {
            args.insert(k.clone(), v.clone());
        }
        if let Some(location) = self.default_redirect(found.rule, method, &args, query_string) {
            return Err(location);
        }
        Ok(RouteMatch { rule, args })
    }

    /// Werkzeug's `get_default_redirect`: an earlier rule of the endpoint
    /// that provides these values as defaults is the canonical URL.
    fn default_redirect(
        &self,
        rule_idx: usize,
        method: &str,
        args: &IndexMap<String, RouteValue>,
        query_string: &str,
    ) -> Option<RoutingError> {
        let rule = &self.rules[rule_idx];
        for &r in self.by_endpoint.get(&rule.endpoint)? {
            if r == rule_idx {
                break;
            }
            let other = &self.rules[r];
            if other.provides_defaults_for(rule)
                && other.suitable_for(&|k| args.get(k), Some(method))
            {
                let mut values = args.clone();
                values.extend(other.defaults.iter().map(|(k, v)| (k.clone(), v.clone())));
                let mut path = String::new();
                other.build_path(&|k| values.get(k), &mut path).ok()?;
                return Some(redirect_location(&path, query_string));
            }
        }
        None
    }

    /// The methods the path would accept, sorted (Werkzeug's
    /// `allowed_methods`; empty when nothing matches the path).
    pub fn allowed_methods(&self, path: &str) -> Vec<String> {
        match self.match_request(path, "--", "") {
            Err(RoutingError::MethodNotAllowed { allowed }) => allowed,
            _ => Vec::new(),
        }
    }

    /// Builds the URL of `endpoint` (path relative to the app root, plus
    /// `?query` for values that are not rule variables), as `url_for` does
    /// outside a request (the default method is `GET`).
    ///
    /// `values` keep their order; a repeated key is a Python list value: all
    /// its values go to the query string together, at the key's first
    /// position (a rule variable takes the first one).
    pub fn build(
        &self,
        endpoint: &str,
        values: &[(String, RouteValue)],
        method: Option<&str>,
    ) -> Result<String, BuildError> {
        self.build_with_default_method(endpoint, values, method, "GET")
    }

    /// [`UrlMap::build`] with the method tried first when `method` is
    /// `None`: Flask binds its URL adapter with the current request's
    /// method, so `url_for` inside a POST request prefers POST rules.
    pub fn build_with_default_method(
        &self,
        endpoint: &str,
        values: &[(String, RouteValue)],
        method: Option<&str>,
        default_method: &str,
    ) -> Result<String, BuildError> {
        let get = |k: &str| values.iter().find(|(key, _)| key == k).map(|(_, v)| v);
        if method.is_none() {
            if let Some(url) = self.partial_build(endpoint, &get, values, Some(default_method))? {
                return Ok(url);
            }
        }
        if let Some(url) = self.partial_build(endpoint, &get, values, method)? {
            return Ok(url);
        }
        let mut keys: Vec<&str> = Vec::with_capacity(values.len());
        for (k, _) in values {
            if !keys.contains(&k.as_str()) {
                keys.push(k);
            }
        }
        let all_rules = self.by_endpoint.values().flatten().map(|&i| &self.rules[i]);
        Err(BuildError::no_rule(endpoint, &keys, method, all_rules))
    }

    /// Werkzeug's `_partial_build` for one method: the first suitable rule
    /// of the endpoint builds the URL.
    fn partial_build<'v>(
        &self,
        endpoint: &str,
        get: &dyn Fn(&str) -> Option<&'v RouteValue>,
        values: &'v [(String, RouteValue)],
        method: Option<&str>,
    ) -> Result<Option<String>, BuildError> {
        let Some(rule) = self
            .endpoint_rules(endpoint)
            .find(|rule| rule.suitable_for(get, method))
        else {
            return Ok(None);
        };
        let mut path = String::new();
        rule.build_path(get, &mut path)
            .map_err(|msg| BuildError::invalid_value(endpoint, msg))?;
        let mut query = String::new();
        for (i, (key, _)) in values.iter().enumerate() {
            if rule.consumes(key) || values[..i].iter().any(|(k, _)| k == key) {
                continue;
            }
            for (_, value) in values[i..].iter().filter(|(k, _)| k == key) {
                push_query_pair(&mut query, key, &value.to_string());
            }
        }
        let mut url = String::with_capacity(path.len() + query.len() + 2);
        url.push('/');
        url.push_str(path.trim_start_matches('/'));
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query);
        }
        Ok(Some(url))
    }
}

//! Message flashing (`flask/helpers.py`): messages are kept in the session
//! under `_flashes` as a list of `(category, message)` tuples until a later
//! request reads them.

use super::{NoSecretKey, Session};
use crate::json_tag::Tagged;

/// The session key Flask keeps flashed messages under.
const FLASHES: &str = "_flashes";

/// `flash(message, category)`: appends `(category, message)` to the
/// session's `_flashes` list and stores the list again (so the session is
/// modified). Fails on a null session, as Flask's does.
///
/// If `_flashes` holds something other than a list (only a hand-made cookie
/// can do that; Flask would crash) a new list is started.
pub fn flash(session: &mut Session, message: Tagged, category: &str) -> Result<(), NoSecretKey> {
    let mut flashes = match session.get(FLASHES) {
        Some(Tagged::List(items)) => items.clone(),
        _ => Vec::new(),
    };
    flashes.push(Tagged::Tuple(vec![
        Tagged::Str(category.to_owned()),
        message,
    ]));
    session.set(FLASHES, Tagged::List(flashes))
}

/// `get_flashed_messages(with_categories, category_filter)`.
///
/// The first call in a request pops `_flashes` from the session (modifying
/// it when there were any) into `cache`, which lives in the request context
/// (Flask's `request_ctx.flashes`); later calls in the same request answer
/// from `cache` and do not touch the session. Messages are returned alone,
/// or as `Tuple([category, message])` with `with_categories`; a non-empty
/// `category_filter` keeps only those categories.
///
/// Entries that are not a `(str, value)` pair (only a hand-made cookie can
/// hold them) are skipped.
pub fn get_flashed_messages(
    session: &mut Session,
    cache: &mut Option<Vec<(String, Tagged)>>,
    with_categories: bool,
    category_filter: &[String],
) -> Vec<Tagged> {
    let flashes = cache.get_or_insert_with(|| {
        let popped = if session.contains(FLASHES) {
            // A null session never contains the key, so this cannot fail;
            // an error would just mean "no messages".
            session.remove(FLASHES).ok().flatten()
        } else {
            None
        };
        match popped {
            Some(Tagged::List(items) | Tagged::Tuple(items)) => {
                items.into_iter().filter_map(entry).collect()
            }
            _ => Vec::new(),
        }
    });
    flashes
        .iter()
        .filter(|(cat, _)| category_filter.is_empty() || category_filter.contains(cat))
        .map(|(cat, msg)| {
            if with_categories {
                Tagged::Tuple(vec![Tagged::Str(cat.clone()), msg.clone()])
            } else {
                msg.clone()
            }
        })
        .collect()
}

fn entry(item: Tagged) -> Option<(String, Tagged)> {
    match item {
        Tagged::Tuple(pair) | Tagged::List(pair) if pair.len() == 2 => {
            let mut pair = pair.into_iter();
            let category = pair.next()?.as_str()?.to_owned();
            Some((category, pair.next()?))
        }
        _ => None,
    }
}

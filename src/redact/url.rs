//! URLs' secret-shaped parts: userinfo (`user:password@`, `token@`) and
//! query values named like a credential.

use super::{secret_name, HIDDEN};

/// Where the authority of a URL starting at `rest` ends.
fn authority_end(rest: &str) -> usize {
    rest.find(|c: char| "/?#\"'<>\\".contains(c) || c.is_whitespace())
        .unwrap_or(rest.len())
}

/// Every `scheme://user:password@` in `text` with the password as `***`.
pub(super) fn userinfo_hidden(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.contains('@') {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let start = at + 3;
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let auth = &tail[..authority_end(tail)];
        // `user:password@` hides the password; `token@`, with no password,
        // is a credential whole (as a Basic user or an API token).
        let at = auth.rfind('@');
        let secret = at.map(|a| match auth[..a].find(':') {
            Some(colon) => (colon + 1, a),
            None => (0, a),
        });
        match secret {
            Some((from, to)) if &auth[from..to] != HIDDEN && from < to => {
                out.push_str(&auth[..from]);
                out.push_str(HIDDEN);
                out.push_str(&auth[to..]);
                changed = true;
            }
            _ => out.push_str(auth),
        }
        rest = &tail[auth.len()..];
    }
    if !changed {
        return text.into();
    }
    out.push_str(rest);
    out.into()
}

/// The user and password of a URL's userinfo as written.
pub(super) fn userinfo(url: &str) -> Option<(&str, &str)> {
    let tail = &url[url.find("://")? + 3..];
    let auth = &tail[..authority_end(tail)];
    auth[..auth.rfind('@')?].split_once(':')
}

/// Query values named like a credential (`?api_key=…&token=…`) as `***`;
/// `None` where there is none.
pub(super) fn query_hidden(text: &str) -> Option<String> {
    if !text.contains('=') {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(at) = rest.find(['?', '&']) {
        out.push_str(&rest[..=at]);
        let tail = &rest[at + 1..];
        let name_end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-.".contains(c)))
            .unwrap_or(tail.len());
        let (name, after) = tail.split_at(name_end);
        out.push_str(name);
        rest = after;
        let Some(value) = after.strip_prefix('=') else {
            continue;
        };
        let end = value
            .find(|c: char| "&#\"'<>".contains(c) || c.is_whitespace())
            .unwrap_or(value.len());
        out.push('=');
        if secret_name(name) && end > 0 && &value[..end] != HIDDEN {
            out.push_str(HIDDEN);
            changed = true;
        } else {
            out.push_str(&value[..end]);
        }
        rest = &value[end..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

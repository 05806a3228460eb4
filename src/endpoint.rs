//! A target's base URL and every URL the tool derives from it, parsed as a
//! URL (not glued as text): an IPv6 literal keeps its one pair of brackets,
//! a path prefix (`http://h/prefix/v1`) stays in front, a query string
//! (`?api-version=2`, which Azure-style gateways require) is kept on every
//! endpoint, and userinfo (`user:pass@`) is taken out of the URL and sent as
//! an `Authorization: Basic` header instead ([`basic_authorization`]).

use reqwest::Url;

/// Where an endpoint lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Under {
    /// Under the base URL: `{base}/completions`, `{base}/models`.
    Base,
    /// At the server's root, the base URL without a last `/v1` segment:
    /// llama.cpp and vLLM keep `/tokenize`, `/props`, `/metrics`, `/health`
    /// there.
    Root,
}

/// The URL of endpoint `path` (which may carry a query of its own) of the
/// target at `base`: the base's scheme, host, port and path prefix, the
/// base's query string merged with the path's, no userinfo, no fragment.
/// A base that does not parse as a URL is joined as text, as before, so the
/// request itself fails with the transport's reason.
pub fn endpoint(base: &str, under: Under, path: &str) -> String {
    let (path, query) = match path.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (path, None),
    };
    let path = path.trim_start_matches('/');
    let Ok(mut url) = Url::parse(base) else {
        let base = base.trim_end_matches('/');
        let base = match under {
            Under::Base => base,
            Under::Root => base.strip_suffix("/v1").unwrap_or(base),
        };
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        return format!("{base}/{path}{query}");
    };
    let mut prefix = url.path().trim_end_matches('/').to_string();
    if under == Under::Root {
        if let Some(root) = prefix.strip_suffix("/v1") {
            prefix = root.to_string();
        }
    }
    url.set_path(&format!("{prefix}/{path}"));
    let merged: Vec<&str> = [url.query(), query]
        .into_iter()
        .flatten()
        .filter(|q| !q.is_empty())
        .collect();
    let merged = merged.join("&");
    url.set_query((!merged.is_empty()).then_some(merged.as_str()));
    url.set_fragment(None);
    // Only fails for URLs that cannot have userinfo, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.into()
}

/// The `Authorization` value for the userinfo of `base` (RFC 7617: user
/// and password percent-decoded, joined by `:`, base64); `None` without
/// userinfo.
pub fn basic_authorization(base: &str) -> Option<String> {
    let url = Url::parse(base).ok()?;
    if url.username().is_empty() && url.password().is_none() {
        return None;
    }
    let decode = crate::redact::encoding::percent_decode;
    let user = decode(url.username());
    let pass = decode(url.password().unwrap_or(""));
    let token = crate::redact::encoding::base64_encode(format!("{user}:{pass}").as_bytes());
    Some(format!("Basic {token}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_keep_prefix_query_and_brackets() {
        let cases = [
            (
                "http://127.0.0.1:8080/v1",
                Under::Base,
                "/completions",
                "http://127.0.0.1:8080/v1/completions",
            ),
            (
                "http://127.0.0.1:8080/v1/",
                Under::Root,
                "/tokenize",
                "http://127.0.0.1:8080/tokenize",
            ),
            (
                "http://[::1]:9000/v1",
                Under::Base,
                "chat/completions",
                "http://[::1]:9000/v1/chat/completions",
            ),
            (
                "http://h:1/prefix/v1",
                Under::Root,
                "/metrics",
                "http://h:1/prefix/metrics",
            ),
            (
                "http://h:1/v1?api-version=2",
                Under::Base,
                "/completions",
                "http://h:1/v1/completions?api-version=2",
            ),
            (
                "http://h:1/v1?api-version=2",
                Under::Root,
                "/health?full=1",
                "http://h:1/health?api-version=2&full=1",
            ),
            (
                "http://user:p%40ss@h:1/v1#frag",
                Under::Base,
                "/models",
                "http://h:1/v1/models",
            ),
            (
                "https://h/openai",
                Under::Root,
                "/props",
                "https://h/openai/props",
            ),
        ];
        for (base, under, path, want) in cases {
            assert_eq!(endpoint(base, under, path), want, "{base} {under:?} {path}");
        }
        // Not a URL: joined as text, so the request fails with its reason.
        assert_eq!(
            endpoint("not a url/v1", Under::Root, "/props"),
            "not a url/props"
        );
    }

    #[test]
    fn userinfo_becomes_basic_credentials() {
        // RFC 7617 §2's example: Aladdin / open sesame.
        assert_eq!(
            basic_authorization("http://Aladdin:open%20sesame@h/v1").as_deref(),
            Some("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        );
        assert_eq!(basic_authorization("http://h/v1"), None);
    }
}

//! Whether a proxy applies to a plain-HTTP target, read from the environment
//! as reqwest reads it: `HTTP_PROXY`/`http_proxy`, `ALL_PROXY`/`all_proxy`,
//! and the exceptions in `NO_PROXY`/`no_proxy`. A request that a proxy would
//! carry goes through reqwest, which speaks to proxies; the lean path talks
//! to the server directly.

/// The proxy variables that matter for `http://` targets.
#[derive(Debug, Default, Clone)]
pub(super) struct ProxyEnv {
    pub(super) proxy: Option<String>,
    pub(super) no_proxy: Option<String>,
}

pub(super) fn from_env() -> ProxyEnv {
    let var = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| std::env::var(n).ok().filter(|v| !v.trim().is_empty()))
    };
    ProxyEnv {
        proxy: var(&["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]),
        no_proxy: var(&["NO_PROXY", "no_proxy"]),
    }
}

/// Whether requests to `host` would go through the proxy.
pub(super) fn applies(host: &str, env: &ProxyEnv) -> bool {
    if env.proxy.is_none() {
        return false;
    }
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let excepted = env.no_proxy.as_deref().is_some_and(|list| {
        list.split(',').map(str::trim).any(|entry| {
            let domain = entry.trim_start_matches('.');
            entry == "*"
                || host.eq_ignore_ascii_case(entry)
                || (!domain.is_empty()
                    && host.len() > domain.len()
                    && host
                        .to_ascii_lowercase()
                        .ends_with(&domain.to_ascii_lowercase())
                    && host.as_bytes()[host.len() - domain.len() - 1] == b'.')
        })
    });
    !excepted
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(proxy: Option<&str>, no_proxy: Option<&str>) -> ProxyEnv {
        ProxyEnv {
            proxy: proxy.map(str::to_string),
            no_proxy: no_proxy.map(str::to_string),
        }
    }

    #[test]
    fn no_proxy_lists_hosts_domains_and_everything() {
        assert!(!applies("127.0.0.1", &env(None, None)));
        let p = Some("http://proxy:3128");
        assert!(applies("127.0.0.1", &env(p, None)));
        assert!(!applies("127.0.0.1", &env(p, Some("localhost, 127.0.0.1"))));
        assert!(!applies(
            "gpu7.cluster.local",
            &env(p, Some(".cluster.local"))
        ));
        assert!(!applies(
            "gpu7.cluster.local",
            &env(p, Some("cluster.local"))
        ));
        assert!(applies("evilcluster.local", &env(p, Some("cluster.local"))));
        assert!(!applies("anything", &env(p, Some("*"))));
        assert!(!applies("[::1]", &env(p, Some("::1"))));
    }
}

//! The reqwest path (HTTPS, proxies, `INFER_BENCH_CLIENT=reqwest`) against
//! the hostile server: the same accounting. In a binary of its own, since
//! the variable is read when a client is made.

#[path = "hostile/server.rs"]
mod server;

use server::{request, Hostile, KEY};
use std::time::Duration;

fn client(url: String) -> infer_bench::client::Client {
    server::client(url, Duration::from_secs(10))
}

#[tokio::test]
async fn the_reqwest_path_keeps_the_same_accounts() {
    // SAFETY: set before any client exists and before other threads read it;
    // this binary has this one test.
    unsafe { std::env::set_var("INFER_BENCH_CLIENT", "reqwest") };
    let h = Hostile::start();

    let c = client(h.url("close-after-response"));
    for i in 0..20 {
        let o = c.generate(&request()).await;
        assert!(o.ok(), "request {i}: {:?}", o.error);
        assert_eq!(o.reused, None, "reqwest does not say");
    }

    // reqwest cannot say whether a connection was kept: a request closed
    // before any response is sent once more, marked, and still fails here.
    let before = h.requests();
    let o = client(h.url("drop-all")).generate(&request()).await;
    assert!(!o.ok() && o.retried, "{o:?}");
    assert_eq!(h.requests() - before, 2);

    for behaviour in ["index-max", "endless-line", "reset"] {
        let o = client(h.url(behaviour)).generate(&request()).await;
        assert!(!o.ok(), "{behaviour}: {o:?}");
    }
    let o = client(h.url("redirect")).generate(&request()).await;
    assert_eq!(o.http_status, Some(301));
    assert!(
        o.error.unwrap().contains("elsewhere.example"),
        "not followed"
    );
    let o = client(h.url("echo-key")).generate(&request()).await;
    assert!(!format!("{o:?}").contains(KEY));
    let o = client(h.url("interim")).generate(&request()).await;
    assert!(o.ok(), "{:?}", o.error);
}

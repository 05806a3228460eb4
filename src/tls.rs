//! TLS for https targets. reqwest is built without a crypto provider (the
//! default aws-lc-rs compiles a large C library); ring is installed instead.

use std::sync::Once;

pub fn install_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Fails only when another provider is already installed, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

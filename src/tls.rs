//! The process-wide TLS set-up: rustls with the ring provider, for every HTTP client nodectl builds.
//! reqwest's `rustls-no-provider` build needs a provider installed before the first client exists.

use std::sync::Once;

/// Installs ring as rustls's crypto provider, once; later calls do nothing.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

//! What every HTTP client of nodectl shares (the live transport and the Genesys client): rustls with
//! the ring provider, installed once; a reqwest client that follows no redirects and never retries on
//! its own (nodectl's retry policies count attempts exactly); and error text without the URL, which
//! may carry a credential in its query.

use std::sync::Once;

/// Installs ring as rustls's crypto provider, once; later calls do nothing. reqwest's
/// `rustls-no-provider` build needs one before the first client exists.
pub fn install_crypto_provider() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        // An error means another provider is already installed, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A reqwest client as nodectl uses them: one pool, no redirects, no retries of its own.
pub fn http_client() -> Result<reqwest::Client, String> {
    install_crypto_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .retry(reqwest::retry::never())
        .user_agent(concat!("nodectl/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

/// A reqwest error with its causes, the URL replaced by `<url>`.
pub fn error_text(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(url.as_str(), "<url>");
    }
    text + &causes(error)
}

/// The chain of an error's causes, each after `: ` (HTTP libraries put the useful part, such as
/// "connection refused" or "invalid chunk size", in a cause).
pub fn causes(error: &dyn std::error::Error) -> String {
    let mut text = String::new();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

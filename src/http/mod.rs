//! The HTTP plumbing nodectl's two servers (the emulator and `serve`) and its clients (the live
//! transport and the Genesys client) share, and nothing Genesys-specific: `server`, the accept loop
//! with its timeouts, graceful shutdown and body reading within limits; `client`, the rustls
//! provider, the reqwest client without redirects or retries of its own, and error text without
//! URLs; `url`, percent-encoding and -decoding of path segments and query strings. A leaf: it uses
//! no other module of nodectl.

pub mod client;
pub mod server;
pub mod url;

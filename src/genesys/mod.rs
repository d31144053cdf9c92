//! The Genesys Cloud Platform API as nodectl speaks it (docs/http-api.md): the wire models (`dto`),
//! shared by the client and the emulator, and the one HTTP client for every call (`client`) with its
//! errors (`error`). Depends on nothing else of nodectl's.

pub mod client;
pub mod dto;
pub mod error;

pub use client::{Client, ClientOptions, Credentials, Verb};
pub use error::{ApiError, ApiErrorKind};

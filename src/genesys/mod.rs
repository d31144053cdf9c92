//! The Genesys Cloud Platform API as nodectl speaks it (docs/http-api.md): the wire models (`dto`),
//! shared by the client and the emulator, and the one HTTP client for every call (`client`) with its
//! errors (`error`), and the platform's limits the emulator and `serve` enforce as Genesys does.
//! Depends only on the shared HTTP plumbing (`http`).

pub mod client;
pub mod dto;
pub mod error;

/// Genesys's request body limit in bytes; a larger request is answered 413.
pub const MAX_BODY_BYTES: usize = 512_000;

pub use client::{Client, ClientOptions, Credentials, Verb};
pub use error::{ApiError, ApiErrorKind};

//! OAuth for the emulator, sans IO: the client-credentials grant of `POST /oauth/token` (Basic
//! auth, form body `grant_type=client_credentials`) issuing bearer tokens that expire after
//! `--token-ttl`, and the bearer check of every API request. The caller passes the time.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::rng::SplitMix64;
use super::route::Query;
use super::state::ApiError;

/// The client the emulator accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: String,
}

/// The answer of the token endpoint: status and JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenReply {
    pub status: u16,
    pub body: Value,
}

/// Issued tokens and their expiry times.
#[derive(Debug)]
pub struct Tokens {
    ttl_seconds: u64,
    expiry_ms: HashMap<String, u64>,
    rng: SplitMix64,
}

impl Tokens {
    pub fn new(ttl_seconds: u64, seed: u64) -> Tokens {
        Tokens {
            ttl_seconds,
            expiry_ms: HashMap::new(),
            rng: SplitMix64::new(seed),
        }
    }

    /// `POST /oauth/token`: `200 {access_token, token_type: "bearer", expires_in}`, or
    /// `400/401 {error, description, error_description}`.
    pub fn grant(
        &mut self,
        client: &ClientCredentials,
        authorization: Option<&str>,
        body: &[u8],
        now_ms: u64,
    ) -> TokenReply {
        let Some((id, secret)) = authorization.and_then(parse_basic) else {
            return oauth_error(
                401,
                "invalid_client",
                "Client authentication is required: send Authorization: Basic base64(client_id:client_secret).",
            );
        };
        if id != client.client_id || secret != client.client_secret {
            return oauth_error(401, "invalid_client", "Invalid client credentials.");
        }
        let form = Query::parse(&String::from_utf8_lossy(body));
        match form.get("grant_type") {
            Some("client_credentials") => {}
            None => {
                return oauth_error(
                    400,
                    "invalid_request",
                    "grant_type is required (grant_type=client_credentials).",
                );
            }
            Some(other) => {
                return oauth_error(
                    400,
                    "unsupported_grant_type",
                    &format!(
                        "Unsupported grant type \"{other}\"; this client supports client_credentials."
                    ),
                );
            }
        }
        let (token, _) = self.mint(now_ms);
        TokenReply {
            status: 200,
            body: json!({
                "access_token": token,
                "token_type": "bearer",
                "expires_in": self.ttl_seconds,
            }),
        }
    }

    /// A token issued without a grant request: what the emulator's own `/test` and `/execute`
    /// send to its API for a Genesys Cloud Data Actions action, as Genesys authenticates its own
    /// calls. `(token, expires_in)`.
    pub fn mint(&mut self, now_ms: u64) -> (String, u64) {
        self.expiry_ms.retain(|_, expiry| *expiry > now_ms);
        let token = self.rng.hex(32);
        self.expiry_ms.insert(
            token.clone(),
            now_ms.saturating_add(self.ttl_seconds.saturating_mul(1000)),
        );
        (token, self.ttl_seconds)
    }

    /// The bearer token of an API request, if it is one the emulator issued and it has not expired.
    pub fn check(&mut self, authorization: Option<&str>, now_ms: u64) -> Result<String, ApiError> {
        let token = authorization
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim().to_string())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ApiError::new(
                    401,
                    "authentication.required",
                    "No authentication bearer token specified in authorization header.",
                )
            })?;
        match self.expiry_ms.get(&token) {
            Some(expiry) if *expiry > now_ms => Ok(token),
            Some(_) => {
                self.expiry_ms.remove(&token);
                Err(bad_credentials())
            }
            None => Err(bad_credentials()),
        }
    }
}

fn bad_credentials() -> ApiError {
    ApiError::new(401, "bad.credentials", "Invalid login credentials.")
}

fn oauth_error(status: u16, error: &str, description: &str) -> TokenReply {
    TokenReply {
        status,
        body: json!({
            "error": error,
            "description": description,
            "error_description": description,
        }),
    }
}

/// `Basic base64(id:secret)` → `(id, secret)`.
fn parse_basic(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(base64_decode(encoded.trim())?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// The `Authorization` value of the client-credentials grant: `Basic base64(id:secret)`.
pub fn basic_header(client_id: &str, client_secret: &str) -> String {
    format!(
        "Basic {}",
        base64_encode(format!("{client_id}:{client_secret}").as_bytes())
    )
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                let index = usize::try_from((n >> shift) & 63).unwrap_or(0);
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'A')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Standard base64, padding optional; `None` when malformed.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let mut buffer = 0u32;
    let mut bits = 0;
    for c in trimmed.bytes() {
        let value = ALPHABET.iter().position(|&a| a == c)?;
        buffer = (buffer << 6) | u32::try_from(value).ok()?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((buffer >> bits) & 0xFF).ok()?);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> ClientCredentials {
        ClientCredentials {
            client_id: "id".to_string(),
            client_secret: "s3cret".to_string(),
        }
    }

    #[test]
    fn base64_round_trips() {
        for text in ["", "a", "ab", "abc", "abcd", "id:s3cret"] {
            let encoded = base64_encode(text.as_bytes());
            assert_eq!(base64_decode(&encoded).as_deref(), Some(text.as_bytes()));
        }
        assert_eq!(base64_encode(b"id:s3cret"), "aWQ6czNjcmV0");
        assert_eq!(base64_decode("*"), None);
    }

    #[test]
    fn grants_and_expires_tokens() {
        let mut tokens = Tokens::new(2, 1);
        let reply = tokens.grant(
            &client(),
            Some(&basic_header("id", "s3cret")),
            b"grant_type=client_credentials",
            1_000,
        );
        assert_eq!(reply.status, 200);
        let token = reply.body["access_token"].as_str().unwrap_or_default();
        let header = format!("Bearer {token}");
        assert!(tokens.check(Some(&header), 2_999).is_ok());
        assert_eq!(
            tokens
                .check(Some(&header), 3_000)
                .map_err(|e| e.code.clone()),
            Err("bad.credentials".to_string())
        );
        assert_eq!(
            tokens.check(None, 0).map_err(|e| e.code.clone()),
            Err("authentication.required".to_string())
        );
        let bad = tokens.grant(&client(), Some(&basic_header("id", "no")), b"", 0);
        assert_eq!(bad.status, 401);
    }
}

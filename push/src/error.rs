//! Errors of the push transport: configuration, credentials, TLS and connections.
//!
//! A send never returns one of these: a send always ends in a [`crate::Delivery`]. They
//! come from building a client or a local endpoint, and from a connection attempt,
//! where the sender turns them into a retry or a `Failed` outcome.

/// Everything that can go wrong outside a classified delivery.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// A configuration value is out of range or malformed.
    #[error("invalid push configuration: {0}")]
    Config(String),
    /// A key or credential file could not be read (the key itself is never printed).
    #[error("invalid credentials: {0}")]
    Credentials(String),
    /// Signing a token failed.
    #[error("signing failed: {0}")]
    Signing(String),
    /// TLS setup (roots, certificates, handshake) failed.
    #[error("tls: {0}")]
    Tls(String),
    /// The TCP connection or the HTTP/2 handshake failed.
    #[error("connection to {authority} failed: {reason}")]
    Connect {
        /// `host:port` of the endpoint.
        authority: String,
        /// What failed.
        reason: String,
    },
    /// The peer answered something that is not the protocol.
    #[error("protocol: {0}")]
    Protocol(String),
    /// A local socket could not be bound or accepted on.
    #[error("io: {0}")]
    Io(#[from] std::io::Error),
}

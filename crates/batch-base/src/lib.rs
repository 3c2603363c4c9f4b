//! Foundations shared by `batch` (the engine) and `batch-store` (the artifact store), so the
//! store does not depend on the engine: atomic file replacement ([`fs`]), SHA-256 content
//! hashes ([`hash`]) and the injectable wall clock ([`clock`]).
#![warn(missing_docs)]

pub mod clock;
pub mod fs;
pub mod hash;

pub use hash::sha256_hex;

//! SHA-256 of content as 64 lowercase hex digits: the one place the workspace computes it
//! (fragment queue hashes in `batch`, content addresses in `batch-store`).

use std::fmt::Write as _;

use sha2::Digest as _;

/// The SHA-256 of `bytes` as 64 lowercase hex digits: the identity of a file's content, e.g.
/// the queue a shard started from (issue #6 fragments) or an artifact's store key (issue #7).
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest.iter() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_of_known_inputs() {
        // FIPS 180-2 test vectors.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}

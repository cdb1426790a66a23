//! The transaction digest (PEERS.md): an order-independent, duplicate-sensitive
//! sum of the first 8 bytes of each transaction's SHA-256.
//!
//! A sum rather than a hash of a sorted list lets every peer fold
//! transactions in as they arrive, in any order, on any number of tasks.

use sha2::{Digest as _, Sha256};

/// Running digest; starts at 0 (the empty set's digest).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Digest(u64);

impl Digest {
    /// The empty set's digest.
    pub const fn new() -> Self {
        Digest(0)
    }

    /// The contribution of one transaction: SHA-256, first 8 bytes, BE.
    pub fn term(tx: &[u8]) -> u64 {
        let h = Sha256::digest(tx);
        let mut first = [0u8; 8];
        first.copy_from_slice(&h[..8]);
        u64::from_be_bytes(first)
    }

    /// Fold in one transaction.
    pub fn add(&mut self, tx: &[u8]) {
        self.0 = self.0.wrapping_add(Self::term(tx));
    }

    /// Fold in another digest (the union of two multisets).
    pub fn merge(&mut self, other: Digest) {
        self.0 = self.0.wrapping_add(other.0);
    }

    /// The accumulator value.
    pub fn value(&self) -> u64 {
        self.0
    }

    /// 16 lowercase hex digits, as in reports.
    pub fn to_hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_set_is_zero() {
        assert_eq!(Digest::new().to_hex(), "0000000000000000");
    }

    #[test]
    fn known_terms() {
        // SHA-256("") = e3b0c44298fc1c14…, SHA-256("abc") = ba7816bf8f01cfea…
        let cases: &[(&[u8], u64)] = &[(b"", 0xe3b0c44298fc1c14), (b"abc", 0xba7816bf8f01cfea)];
        for (input, want) in cases {
            let got = Digest::term(input);
            assert_eq!(got, *want, "term({input:?}): got {got:x}; want {want:x}");
        }
    }

    #[test]
    fn order_independent_and_duplicate_sensitive() {
        let mut a = Digest::new();
        a.add(b"x");
        a.add(b"y");
        let mut b = Digest::new();
        b.add(b"y");
        b.add(b"x");
        assert_eq!(a, b);
        b.add(b"x");
        assert_ne!(a, b);
        let mut sum = Digest::new();
        sum.merge(a);
        sum.merge(a);
        assert_eq!(sum.value(), a.value().wrapping_mul(2));
    }
}

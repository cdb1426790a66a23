//! The deterministic test workload (PEERS.md "Workload"): SplitMix64-driven,
//! realistic `Transaction` protobufs, byte-identical across implementations.

use crate::digest::Digest;
use crate::envelope::{self, varint_size, write_varint};
use bytes::Bytes;

/// Encoded size of every field except Data, per PEERS.md.
pub const FIXED_FIELDS_LEN: usize = 197;

/// Range of the MaxTimeUse draw (see the note in
/// [`Workload::next_transaction`]).
const MAX_TIME_USE_SPAN: u64 = 15_000;

/// SplitMix64 (PEERS.md "PRNG").
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator whose state starts at `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64-bit output.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Append `n` pseudo-random bytes: `ceil(n/8)` outputs, big-endian,
    /// truncated to `n`.
    pub fn fill(&mut self, out: &mut Vec<u8>, n: usize) {
        let mut left = n;
        while left > 0 {
            let word = self.next_u64().to_be_bytes();
            let take = left.min(8);
            out.extend_from_slice(&word[..take]);
            left -= take;
        }
    }
}

/// Length of the Data field's value for target size `tx_size`, or 0 when
/// there is no Data field.
pub fn data_len(tx_size: usize) -> usize {
    let r = tx_size.saturating_sub(FIXED_FIELDS_LEN);
    if tx_size < FIXED_FIELDS_LEN || r < 3 {
        return 0;
    }
    // Largest d >= 1 with 1 + varintLen(d) + d <= r. Start from the upper
    // bound r - 2 and step down across at most one varint-width boundary.
    let mut d = r - 2;
    while d > 1 && 1 + varint_size(d as u64) + d > r {
        d -= 1;
    }
    d
}

fn put_tag(out: &mut Vec<u8>, field: u64, wire: u64) {
    write_varint(out, (field << 3) | wire);
}

fn put_bytes_field(out: &mut Vec<u8>, field: u64, value: &[u8]) {
    put_tag(out, field, 2);
    write_varint(out, value.len() as u64);
    out.extend_from_slice(value);
}

fn put_varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    put_tag(out, field, 0);
    write_varint(out, value);
}

/// The workload generator: one PRNG stream for the whole workload, so
/// transaction `i` depends on every draw before it. Generate in order.
#[derive(Debug, Clone)]
pub struct Workload {
    rng: SplitMix64,
    tx_size: usize,
    data_len: usize,
    next_index: u64,
}

impl Workload {
    /// A generator for `seed` and target transaction size `tx_size`.
    pub fn new(seed: u64, tx_size: usize) -> Self {
        Workload {
            rng: SplitMix64::new(seed),
            tx_size,
            data_len: data_len(tx_size),
            next_index: 0,
        }
    }

    /// The target size this generator was built for.
    pub fn tx_size(&self) -> usize {
        self.tx_size
    }

    /// Index of the transaction [`next_transaction`](Self::next_transaction)
    /// returns next.
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Encode transaction number `next_index()` and advance.
    pub fn next_transaction(&mut self) -> Vec<u8> {
        let i = self.next_index;
        self.next_index += 1;
        let rng = &mut self.rng;
        let mut scratch = Vec::with_capacity(65);
        let mut out = Vec::with_capacity(FIXED_FIELDS_LEN + self.data_len + 4);

        rng.fill(&mut scratch, 20);
        put_bytes_field(&mut out, 1, &scratch); // ToAddress

        scratch.clear();
        scratch.extend_from_slice(&[0u8; 24]);
        rng.fill(&mut scratch, 8);
        put_bytes_field(&mut out, 3, &scratch); // Amount

        put_varint_field(&mut out, 4, 21_000 + rng.next_u64() % 1_000_000); // MaxGas
        put_varint_field(&mut out, 5, 1_000_000_000 + rng.next_u64() % 1_000_000_000); // MaxGasPrice
                                                                                       // MaxTimeUse. PEERS.md's table says `mod 59000`, but the reference
                                                                                       // (`Workload.ts`) and the pinned `vectors/workload.json` use 15000,
                                                                                       // which also keeps the field at the 2-byte varint the 197-byte base
                                                                                       // size assumes. The vectors win.
        put_varint_field(&mut out, 6, 1_000 + rng.next_u64() % MAX_TIME_USE_SPAN);

        if self.data_len >= 1 {
            scratch.clear();
            rng.fill(&mut scratch, self.data_len);
            put_bytes_field(&mut out, 7, &scratch); // Data
        }

        scratch.clear();
        rng.fill(&mut scratch, 65);
        put_bytes_field(&mut out, 11, &scratch); // Sign

        scratch.clear();
        scratch.extend_from_slice(&[0u8; 24]);
        scratch.extend_from_slice(&i.to_be_bytes());
        put_bytes_field(&mut out, 12, &scratch); // Nonce (no draw)

        scratch.clear();
        rng.fill(&mut scratch, 20);
        put_bytes_field(&mut out, 13, &scratch); // FromAddress

        put_varint_field(&mut out, 15, 1); // ChainID (no draw)
        put_varint_field(&mut out, 16, 2); // Type (no draw)
        out
    }

    /// The next batch of `tx_per_batch` transactions as an encoded envelope.
    pub fn next_batch(&mut self, tx_per_batch: usize) -> Batch {
        let txs: Vec<Vec<u8>> = (0..tx_per_batch).map(|_| self.next_transaction()).collect();
        let mut digest = Digest::new();
        for t in &txs {
            digest.add(t);
        }
        Batch {
            payload: envelope::encode(&txs),
            transactions: txs.len() as u64,
            digest,
        }
    }
}

/// One encoded batch with what a sender reports about it.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The `Transactions` envelope: the frame payload.
    pub payload: Bytes,
    /// Number of transactions in it.
    pub transactions: u64,
    /// Digest of its transactions, added to a report each time it is sent.
    pub digest: Digest,
}

/// The digest and transaction count of a whole workload, as the harness
/// computes the expected outcome.
pub fn workload_digest(
    seed: u64,
    batches: u64,
    tx_per_batch: u64,
    tx_size: usize,
) -> (Digest, u64) {
    let mut w = Workload::new(seed, tx_size);
    let mut digest = Digest::new();
    let total = batches * tx_per_batch;
    for _ in 0..total {
        digest.add(&w.next_transaction());
    }
    (digest, total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_reference_outputs() {
        // Published SplitMix64 outputs for seed 0 (Vigna's reference code).
        let mut r = SplitMix64::new(0);
        let want = [0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f];
        for w in want {
            let got = r.next_u64();
            assert_eq!(got, w, "got {got:x}; want {w:x}");
        }
    }

    #[test]
    fn fill_truncates_big_endian_words() {
        let mut a = SplitMix64::new(7);
        let mut b = SplitMix64::new(7);
        let mut out = Vec::new();
        a.fill(&mut out, 11);
        let mut want = b.next_u64().to_be_bytes().to_vec();
        want.extend_from_slice(&b.next_u64().to_be_bytes()[..3]);
        assert_eq!(out, want);
    }

    #[test]
    fn data_len_table() {
        // (target size, d)
        let cases = [
            (100, 0),
            (197, 0),
            (199, 0),
            (200, 1),   // r = 3: 1 + 1 + 1
            (201, 2),   // r = 4
            (326, 127), // r = 129: 1 + 1 + 127
            (327, 127), // r = 130: 128 needs 2 length bytes -> 131 > 130
            (328, 128), // r = 131
            (650, 450), // r = 453: 1 + 2 + 450
        ];
        for (size, want) in cases {
            let got = data_len(size);
            assert_eq!(got, want, "data_len({size}): got {got}; want {want}");
        }
    }

    #[test]
    fn transactions_have_the_target_size() {
        for size in [0usize, 197, 200, 650, 4096] {
            let mut w = Workload::new(1, size);
            for _ in 0..20 {
                let tx = w.next_transaction();
                let d = data_len(size);
                let expected = if d == 0 {
                    FIXED_FIELDS_LEN
                } else {
                    FIXED_FIELDS_LEN + 1 + varint_size(d as u64) + d
                };
                assert_eq!(tx.len(), expected, "size {size}");
                // And it is a well-formed envelope entry.
                let env = envelope::encode(&[&tx]);
                assert_eq!(envelope::decode_slice(&env).map(|v| v.len()), Ok(1));
            }
        }
    }

    #[test]
    fn deterministic_batches() {
        let mut a = Workload::new(42, 650);
        let mut b = Workload::new(42, 650);
        let ba = a.next_batch(5);
        let bb = b.next_batch(5);
        assert_eq!(ba.payload, bb.payload);
        assert_eq!(ba.transactions, 5);
        let (digest, n) = workload_digest(42, 1, 5, 650);
        assert_eq!((digest, n), (ba.digest, 5));
    }
}

//! The deployed `transaction` protobuf package (its field numbers), and the
//! deployed server's decode-and-re-encode of a payload.

use prost::Message;

/// `message Transactions { repeated Transaction transactions = 1; }`
#[derive(Clone, PartialEq, Message)]
pub struct Transactions {
    /// The batch.
    #[prost(message, repeated, tag = "1")]
    pub transactions: Vec<Transaction>,
}

/// `message AccessTuple { bytes Address = 1; repeated bytes StorageKeys = 2; }`
#[derive(Clone, PartialEq, Message)]
pub struct AccessTuple {
    /// `Address` = 1.
    #[prost(bytes = "vec", tag = "1")]
    pub address: Vec<u8>,
    /// `StorageKeys` = 2.
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub storage_keys: Vec<Vec<u8>>,
}

/// The deployed `Transaction` message (field numbers from
/// system-we-replace.md; field 2 is not used).
#[derive(Clone, PartialEq, Message)]
pub struct Transaction {
    /// `ToAddress` = 1.
    #[prost(bytes = "vec", tag = "1")]
    pub to_address: Vec<u8>,
    /// `Amount` = 3.
    #[prost(bytes = "vec", tag = "3")]
    pub amount: Vec<u8>,
    /// `MaxGas` = 4.
    #[prost(uint64, tag = "4")]
    pub max_gas: u64,
    /// `MaxGasPrice` = 5.
    #[prost(uint64, tag = "5")]
    pub max_gas_price: u64,
    /// `MaxTimeUse` = 6.
    #[prost(uint64, tag = "6")]
    pub max_time_use: u64,
    /// `Data` = 7.
    #[prost(bytes = "vec", tag = "7")]
    pub data: Vec<u8>,
    /// `RelatedAddresses` = 8.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub related_addresses: Vec<Vec<u8>>,
    /// `LastDeviceKey` = 9.
    #[prost(bytes = "vec", tag = "9")]
    pub last_device_key: Vec<u8>,
    /// `NewDeviceKey` = 10.
    #[prost(bytes = "vec", tag = "10")]
    pub new_device_key: Vec<u8>,
    /// `Sign` = 11.
    #[prost(bytes = "vec", tag = "11")]
    pub sign: Vec<u8>,
    /// `Nonce` = 12.
    #[prost(bytes = "vec", tag = "12")]
    pub nonce: Vec<u8>,
    /// `FromAddress` = 13.
    #[prost(bytes = "vec", tag = "13")]
    pub from_address: Vec<u8>,
    /// `ReadOnly` = 14.
    #[prost(bool, tag = "14")]
    pub read_only: bool,
    /// `ChainID` = 15.
    #[prost(uint64, tag = "15")]
    pub chain_id: u64,
    /// `Type` = 16.
    #[prost(uint64, tag = "16")]
    pub tx_type: u64,
    /// `R` = 17.
    #[prost(bytes = "vec", tag = "17")]
    pub r: Vec<u8>,
    /// `S` = 18.
    #[prost(bytes = "vec", tag = "18")]
    pub s: Vec<u8>,
    /// `V` = 19.
    #[prost(bytes = "vec", tag = "19")]
    pub v: Vec<u8>,
    /// `GasTipCap` = 20.
    #[prost(bytes = "vec", tag = "20")]
    pub gas_tip_cap: Vec<u8>,
    /// `GasFeeCap` = 21.
    #[prost(bytes = "vec", tag = "21")]
    pub gas_fee_cap: Vec<u8>,
    /// `AccessList` = 22.
    #[prost(message, repeated, tag = "22")]
    pub access_list: Vec<AccessTuple>,
}

/// Why a payload was not submitted before any phase applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeFailure {
    /// Not a valid `Transactions` message (or an inner `Transaction` is not
    /// valid); the text is the decoder's.
    Invalid(String),
    /// A valid message with no transactions.
    Empty,
}

/// Decode a payload as the deployed server does and re-encode every
/// transaction separately, canonically (fields in number order, proto3
/// defaults omitted): the list of byte strings it submits to consensus.
///
/// Unknown fields are skipped (proto3). A transaction whose known fields
/// have the wrong wire type, that is truncated, or holds a bad varint makes
/// the whole batch invalid.
pub fn decode_and_reencode(payload: &[u8]) -> Result<Vec<Vec<u8>>, DecodeFailure> {
    let batch = Transactions::decode(payload).map_err(|e| DecodeFailure::Invalid(e.to_string()))?;
    if batch.transactions.is_empty() {
        return Err(DecodeFailure::Empty);
    }
    Ok(batch
        .transactions
        .iter()
        .map(Message::encode_to_vec)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    #[test]
    fn workload_reencodes_byte_identical() {
        for (seed, size) in [(1u64, 650usize), (7, 197), (42, 199), (3, 200), (9, 4096)] {
            let mut w = Workload::new(seed, size);
            let batch = w.next_batch(20);
            let original = crate::envelope::decode_slice(&batch.payload).unwrap_or_default();
            let reencoded = decode_and_reencode(&batch.payload);
            let reencoded = reencoded.unwrap_or_default();
            assert_eq!(original.len(), 20);
            assert_eq!(reencoded.len(), 20, "seed {seed} size {size}");
            for (o, r) in original.iter().zip(&reencoded) {
                assert_eq!(*o, r.as_slice(), "seed {seed} size {size}");
            }
        }
    }

    #[test]
    fn full_schema_round_trips() {
        let tx = Transaction {
            to_address: vec![1; 20],
            related_addresses: vec![vec![2; 20], vec![3; 20]],
            read_only: true,
            r: vec![4; 32],
            s: vec![5; 32],
            v: vec![1],
            gas_tip_cap: vec![6],
            gas_fee_cap: vec![7],
            access_list: vec![AccessTuple {
                address: vec![8; 20],
                storage_keys: vec![vec![9; 32]],
            }],
            ..Transaction::default()
        };
        let batch = Transactions {
            transactions: vec![tx.clone()],
        };
        let got = decode_and_reencode(&batch.encode_to_vec());
        assert_eq!(got, Ok(vec![tx.encode_to_vec()]));
    }

    #[test]
    fn decode_failures() {
        let invalid = |p: &[u8]| matches!(decode_and_reencode(p), Err(DecodeFailure::Invalid(_)));
        assert_eq!(decode_and_reencode(b""), Err(DecodeFailure::Empty));
        // Unknown field only: a valid, empty message.
        assert_eq!(
            decode_and_reencode(&[0x10, 0x01]),
            Err(DecodeFailure::Empty)
        );
        // Inner transaction: MaxGas (4) as length-delimited.
        assert!(invalid(&[0x0a, 0x03, 0x22, 0x01, 0x00]));
        // Inner transaction: ToAddress (1) as varint.
        assert!(invalid(&[0x0a, 0x02, 0x08, 0x01]));
        // Inner transaction: truncated bytes field.
        assert!(invalid(&[0x0a, 0x02, 0x0a, 0x05]));
        // Inner transaction: bad varint (never ends).
        assert!(invalid(&[0x0a, 0x02, 0x20, 0xff]));
        // Arbitrary bytes as a transaction.
        assert!(invalid(&[0x0a, 0x03, 0xff, 0xff, 0xff]));
        // Outer field 1 as varint.
        assert!(invalid(&[0x08, 0x01]));
        // Unknown inner field 99 (varint) is skipped; the tx re-encodes empty.
        assert_eq!(
            decode_and_reencode(&[0x0a, 0x03, 0x98, 0x06, 0x01]),
            Ok(vec![vec![]])
        );
    }
}

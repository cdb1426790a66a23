//! The `Transactions` envelope (SPEC §4): split a request payload into its
//! transactions without parsing them, and encode a list back.
//!
//! ```proto
//! package transaction;
//! message Transactions { repeated Transaction transactions = 1; }
//! ```
//!
//! The decoder is a hand-written protobuf field walker rather than a generated
//! message type: it must hand back the *exact* bytes of every field-1 entry
//! (as zero-copy views into the payload) and report the byte offset of the
//! offending tag on failure, neither of which a generated decoder offers.

use bytes::{BufMut, Bytes, BytesMut};
use std::io;

/// Longest legal varint (a 64-bit value in 7-bit groups).
const MAX_VARINT_LEN: usize = 10;

/// The field number of `Transactions.transactions`.
const TRANSACTIONS_FIELD: u32 = 1;

/// Deepest group nesting skipped; the reference's limit, so both reject the
/// same hostile inputs.
const MAX_GROUP_DEPTH: usize = 64;

const WIRE_VARINT: u32 = 0;
const WIRE_FIXED64: u32 = 1;
const WIRE_LEN: u32 = 2;
const WIRE_START_GROUP: u32 = 3;
const WIRE_END_GROUP: u32 = 4;
const WIRE_FIXED32: u32 = 5;

/// The payload is not a valid `Transactions` envelope.
///
/// `offset` is the byte offset (from the start of the payload) of the tag of
/// the field that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason} at offset {offset}")]
pub struct MalformedEnvelope {
    /// Offset of the offending field's tag.
    pub offset: usize,
    /// What was wrong, in lowercase words.
    pub reason: String,
}

impl From<MalformedEnvelope> for io::Error {
    fn from(e: MalformedEnvelope) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, e)
    }
}

/// Why a varint could not be read.
enum VarintError {
    Truncated,
    TooLong,
}

/// A decoded varint: its low 64 bits, whether bits beyond 64 were set, and
/// the position after it.
struct Varint {
    value: u64,
    overflow: bool,
    next: usize,
}

/// Read a varint at `pos`. Up to 10 bytes are legal; bits beyond 64 in the
/// 10th byte are reported as `overflow` rather than rejected, so each caller
/// decides (a length that large can only overrun the payload).
fn read_varint(buf: &[u8], pos: usize) -> Result<Varint, VarintError> {
    let mut value: u64 = 0;
    for i in 0..MAX_VARINT_LEN {
        let Some(&byte) = buf.get(pos + i) else {
            return Err(VarintError::Truncated);
        };
        value |= u64::from(byte & 0x7f).wrapping_shl(7 * i as u32);
        if byte & 0x80 == 0 {
            return Ok(Varint {
                value,
                overflow: i == MAX_VARINT_LEN - 1 && byte > 1,
                next: pos + i + 1,
            });
        }
    }
    Err(VarintError::TooLong)
}

fn varint_reason(what: &str, e: VarintError) -> String {
    match e {
        VarintError::Truncated => format!("truncated {what} varint"),
        VarintError::TooLong => format!("{what} varint longer than 10 bytes"),
    }
}

/// Split `payload` into the byte strings of its field-1 entries, in order.
///
/// Returns views into `payload` (no copies). Unknown fields of every valid
/// wire type are skipped, groups included; an empty payload is an empty list.
pub fn decode(payload: &Bytes) -> Result<Vec<Bytes>, MalformedEnvelope> {
    Ok(decode_ranges(payload)?
        .into_iter()
        .map(|(start, end)| payload.slice(start..end))
        .collect())
}

/// Like [`decode`] over a plain slice: returns borrowed sub-slices.
pub fn decode_slice(payload: &[u8]) -> Result<Vec<&[u8]>, MalformedEnvelope> {
    Ok(decode_ranges(payload)?
        .into_iter()
        .map(|(start, end)| &payload[start..end])
        .collect())
}

/// The walker: the `(start, end)` byte range of each transaction.
///
/// Error offsets follow the TypeScript reference (`@txlane/protocol`
/// `Envelope.decode`, pinned by `vectors/envelope.json`): the offset is that
/// of the *top-level* field being decoded, so any malformation inside an
/// unknown group is reported at the group's start tag.
fn decode_ranges(buf: &[u8]) -> Result<Vec<(usize, usize)>, MalformedEnvelope> {
    let mut out = Vec::new();
    // Open groups (field numbers), innermost last. Groups only occur inside
    // unknown fields, so everything inside one is skipped. An explicit stack
    // instead of recursion: hostile nesting costs memory, not stack.
    let mut groups: Vec<u32> = Vec::new();
    // Offset of the top-level field currently being decoded.
    let mut field_offset = 0;
    let mut pos = 0;
    while pos < buf.len() {
        if groups.is_empty() {
            field_offset = pos;
        }
        let fail = |reason: String| MalformedEnvelope {
            offset: field_offset,
            reason,
        };
        let tag = read_varint(buf, pos).map_err(|e| fail(varint_reason("tag", e)))?;
        // Tags are 32-bit (field numbers stop at 2^29-1): a tag varint wider
        // than 5 bytes or with a value past 32 bits is malformed (SPEC §4).
        let Ok(value) = u32::try_from(tag.value) else {
            return Err(fail("illegal tag: varint overflows uint32".into()));
        };
        if tag.next - pos > 5 {
            return Err(fail("illegal tag: varint overflows uint32".into()));
        }
        pos = tag.next;
        let tag = value;
        let field = tag >> 3;
        let wire = tag & 7;
        if field == 0 {
            return Err(fail("illegal tag: field number 0".into()));
        }
        if wire > 5 {
            return Err(fail(format!(
                "illegal tag: wire type {wire} (field {field})"
            )));
        }
        let top_level = groups.is_empty();
        if top_level && field == TRANSACTIONS_FIELD && wire != WIRE_LEN {
            return Err(fail(format!("field 1 has wire type {wire}, want 2")));
        }
        match wire {
            WIRE_VARINT => {
                let v = read_varint(buf, pos).map_err(|e| fail(varint_reason("value", e)))?;
                pos = v.next;
            }
            WIRE_FIXED64 | WIRE_FIXED32 => {
                let width = if wire == WIRE_FIXED64 { 8 } else { 4 };
                if buf.len() - pos < width {
                    return Err(fail(format!(
                        "truncated fixed{} value (field {field})",
                        width * 8
                    )));
                }
                pos += width;
            }
            WIRE_LEN => {
                let len = read_varint(buf, pos).map_err(|e| fail(varint_reason("length", e)))?;
                let remaining = (buf.len() - len.next) as u64;
                if len.overflow || len.value > remaining {
                    return Err(fail(format!(
                        "length of field {field} overruns the payload ({remaining} bytes left)"
                    )));
                }
                let end = len.next + len.value as usize;
                if top_level && field == TRANSACTIONS_FIELD {
                    out.push((len.next, end));
                }
                pos = end;
            }
            WIRE_START_GROUP => {
                if groups.len() >= MAX_GROUP_DEPTH {
                    return Err(fail("groups nested too deeply".into()));
                }
                groups.push(field);
            }
            WIRE_END_GROUP => match groups.pop() {
                Some(open) if open == field => {}
                Some(open) => {
                    return Err(fail(format!(
                        "end group {field} does not close group {open}"
                    )))
                }
                None => return Err(fail(format!("end group {field} without a start group"))),
            },
            _ => return Err(fail(format!("illegal tag: wire type {wire}"))),
        }
    }
    if let Some(&field) = groups.first() {
        return Err(MalformedEnvelope {
            offset: field_offset,
            reason: format!("group {field} not closed"),
        });
    }
    Ok(out)
}

fn varint_len(mut v: u64) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn put_varint(dst: &mut BytesMut, mut v: u64) {
    while v >= 0x80 {
        dst.put_u8((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    dst.put_u8(v as u8);
}

/// Encoded size of an envelope holding `transactions`.
pub fn encoded_len<T: AsRef<[u8]>>(transactions: &[T]) -> usize {
    transactions
        .iter()
        .map(|t| 1 + varint_len(t.as_ref().len() as u64) + t.as_ref().len())
        .sum()
}

/// Encode `transactions` as a `Transactions` envelope: field 1 once per
/// transaction, in order, and nothing else (SPEC §4).
pub fn encode<T: AsRef<[u8]>>(transactions: &[T]) -> Bytes {
    let mut dst = BytesMut::with_capacity(encoded_len(transactions));
    for t in transactions {
        let t = t.as_ref();
        put_varint(&mut dst, u64::from((TRANSACTIONS_FIELD << 3) | WIRE_LEN));
        put_varint(&mut dst, t.len() as u64);
        dst.put_slice(t);
    }
    dst.freeze()
}

/// Shared by the workload generator, which writes protobuf fields itself.
pub(crate) fn write_varint(dst: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        dst.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    dst.push(v as u8);
}

/// Number of bytes [`write_varint`] writes for `v`.
pub(crate) fn varint_size(v: u64) -> usize {
    varint_len(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        // (name, input, Ok(transactions) or Err(offset))
        type Want = Result<&'static [&'static [u8]], usize>;
        let cases: &[(&str, &[u8], Want)] = &[
            ("empty", b"", Ok(&[])),
            ("one", &[0x0a, 2, 7, 8], Ok(&[&[7, 8]])),
            ("unknown varint", &[0x10, 0x96, 0x01, 0x0a, 0], Ok(&[&[]])),
            (
                "field 1 inside a group is skipped",
                &[0x1b, 0x0a, 1, 9, 0x1c],
                Ok(&[]),
            ),
            ("field 1 as varint", &[0x08, 1], Err(0)),
            ("field 0", &[0x0a, 0, 0x00], Err(2)),
            ("wire type 7", &[0x0f], Err(0)),
            ("overrun", &[0x0a, 1, 1, 0x0a, 3, 1], Err(3)),
            (
                "11-byte varint",
                &[
                    0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                ],
                Err(0),
            ),
            (
                "10-byte length beyond 64 bits",
                &[
                    0x0a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02,
                ],
                Err(0),
            ),
            (
                "error inside group at group tag",
                &[0x0a, 0, 0x1b, 0x10, 0x80],
                Err(2),
            ),
            ("mismatched end group", &[0x1b, 0x24], Err(0)),
            ("end group without start", &[0x0a, 0, 0x1c], Err(2)),
            ("unclosed nested group", &[0x1b, 0x23, 0x24], Err(0)),
        ];
        for (name, input, want) in cases {
            let got = decode_slice(input);
            match (want, &got) {
                (Ok(txs), Ok(got_txs)) => assert_eq!(got_txs, txs, "{name}"),
                (Err(offset), Err(e)) => assert_eq!(e.offset, *offset, "{name}: {e}"),
                _ => panic!("{name}: got {got:?}; want {want:?}"),
            }
        }
    }

    #[test]
    fn deep_groups_are_bounded() {
        let mut input = vec![0x1b; MAX_GROUP_DEPTH];
        input.extend(vec![0x1c; MAX_GROUP_DEPTH]);
        assert!(decode_slice(&input).is_ok());
        let mut input = vec![0x1b; MAX_GROUP_DEPTH + 1];
        input.extend(vec![0x1c; MAX_GROUP_DEPTH + 1]);
        assert!(decode_slice(&input).is_err());
    }

    #[test]
    fn encode_round_trip_and_views() {
        let txs: Vec<Vec<u8>> = vec![vec![], vec![1; 127], vec![2; 128], vec![3; 20_000]];
        let payload = encode(&txs);
        assert_eq!(payload.len(), encoded_len(&txs));
        let got = decode(&payload).map_err(|e| e.to_string());
        let got: Vec<Vec<u8>> = got.unwrap_or_default().iter().map(|b| b.to_vec()).collect();
        assert_eq!(got, txs);
    }
}

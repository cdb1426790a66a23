/**
 * `envelope.json`: the `Transactions` envelope (SPEC §4). Each vector is one payload: the
 * transactions it carries, or the offset of the field that makes it malformed. `canonical` marks
 * the payloads an encoder must produce byte for byte.
 *
 * @module
 */
import { hex, pattern, tx, type VectorFile } from "./bytes.js"

const malformed = (offset: number) => ({ kind: "MalformedEnvelope", offset })
const varint = (n: number): string => {
  const out: Array<number> = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return hex(out)
}
const txLong = (h: string) => `0a${varint(h.length / 2)}${h}`
const fifty = Array.from({ length: 50 }, (_, i) => pattern(10 + i, i))

export const envelope: VectorFile = {
  file: "envelope.json",
  kind: "envelope",
  description: "The Transactions envelope (SPEC §4).",
  vectors: [
    {
      name: "empty-payload",
      description: "The empty payload is an envelope with no transactions.",
      canonical: true,
      input: "",
      transactions: [],
      error: null
    },
    {
      name: "one-transaction",
      description: "One transaction of 3 bytes.",
      canonical: true,
      input: tx("010203"),
      transactions: ["010203"],
      error: null
    },
    {
      name: "empty-transaction",
      description: "A transaction that is the empty byte string.",
      canonical: true,
      input: tx(""),
      transactions: [""],
      error: null
    },
    {
      name: "fifty-transactions",
      description: "50 transactions of 10..59 bytes, order kept.",
      canonical: true,
      input: fifty.map(tx).join(""),
      transactions: fifty,
      error: null
    },
    {
      name: "two-byte-length",
      description: "A 300-byte transaction (length varint ac 02).",
      canonical: true,
      input: txLong(pattern(300)),
      transactions: [pattern(300)],
      error: null
    },
    {
      name: "inner-transaction-not-parsed",
      description: "A transaction whose own bytes are not a valid message is still carried as-is.",
      canonical: true,
      input: tx("0a0501"),
      transactions: ["0a0501"],
      error: null
    },
    {
      name: "unknown-varint-field",
      description: "Unknown field 2, wire type 0 (varint 150) is skipped.",
      input: `109601${tx("aa")}`,
      transactions: ["aa"],
      error: null
    },
    {
      name: "unknown-fixed64-field",
      description: "Unknown field 3, wire type 1 is skipped.",
      input: `${tx("aa")}190102030405060708${tx("bb")}`,
      transactions: ["aa", "bb"],
      error: null
    },
    {
      name: "unknown-fixed32-field",
      description: "Unknown field 3, wire type 5 is skipped.",
      input: `1d01020304${tx("aa")}`,
      transactions: ["aa"],
      error: null
    },
    {
      name: "unknown-length-delimited-field",
      description: "Unknown field 2, wire type 2 is skipped.",
      input: `${tx("aa")}1202abcd`,
      transactions: ["aa"],
      error: null
    },
    {
      name: "unknown-group-field",
      description: "Unknown group field 3 (start 1b, a varint inside, end 1c) is skipped.",
      input: `1b08011c${tx("aa")}`,
      transactions: ["aa"],
      error: null
    },
    {
      name: "nested-unknown-groups",
      description: "Group 4 nested inside group 3 is skipped.",
      input: `1b23120100241c${tx("aa")}`,
      transactions: ["aa"],
      error: null
    },
    {
      name: "only-unknown-fields",
      description:
        "Unknown fields but no transactions: an empty list (a receiver then answers Empty Transactions message).",
      input: "10011801",
      transactions: [],
      error: null
    },
    {
      name: "non-minimal-length-varint",
      description: "A non-minimal but valid varint length (81 00 = 1).",
      input: "0a8100aa",
      transactions: ["aa"],
      error: null
    },
    {
      name: "truncated-tag-varint",
      description: "A tag varint cut off at the end of the payload.",
      input: `${tx("aa")}80`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "overlong-varint",
      description: "An unknown varint field whose value has 11 bytes (max is 10).",
      input: `${tx("aa")}10ffffffffffffffffffff01`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "field1-wire-type-varint",
      description: "Field 1 with wire type 0 instead of 2.",
      input: "0801",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "field1-wire-type-fixed32",
      description: "Field 1 with wire type 5 instead of 2, after a valid transaction.",
      input: `${tx("aa")}0d00000000`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "field-number-zero",
      description: "Field number 0 is invalid.",
      input: "0200",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "wire-type-6",
      description: "Wire type 6 does not exist.",
      input: "16",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "wire-type-7",
      description: "Wire type 7 does not exist.",
      input: `${tx("aa")}0f`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "transaction-length-overrun",
      description: "Field 1 announces 5 bytes, 2 follow.",
      input: "0a050102",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "nested-length-overrun",
      description: "An unknown length-delimited field announces 16 bytes past the end.",
      input: `${tx("aa")}1210ab`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "length-beyond-32-bits",
      description: "A length varint of 2^32 (80 80 80 80 10) must not wrap to 0.",
      input: "0a8080808010",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "truncated-length-varint",
      description: "The length varint of field 1 is cut off.",
      input: "0a80",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "truncated-fixed64",
      description: "An unknown fixed64 field with 2 of 8 bytes.",
      input: `${tx("aa")}190102`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "end-group-without-start",
      description: "An end-group tag (field 3, wire type 4) with no start.",
      input: "1c",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "unclosed-group",
      description: "Group 3 starts but the payload ends before its end tag.",
      input: `${tx("aa")}1b0801`,
      transactions: null,
      error: malformed(3)
    },
    {
      name: "tag-beyond-32-bits",
      description: "A tag varint whose value (2^32 + 10) does not fit 32 bits must not wrap to field 1.",
      input: "8a8080801001aa",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "tag-padded-over-5-bytes",
      description: "A tag varint longer than 5 bytes is malformed even when its value fits (8a 80 80 80 80 00).",
      input: "8a808080800001aa",
      transactions: null,
      error: malformed(0)
    },
    {
      name: "mismatched-end-group",
      description: "Group 3 closed by an end tag for field 4.",
      input: "1b24",
      transactions: null,
      error: malformed(0)
    }
  ]
}

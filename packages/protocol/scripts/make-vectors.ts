/**
 * Writes `vectors/*.json`, the language-neutral test vectors of SPEC.md §10.
 *
 * Every expectation here is written out by hand from the SPEC (the payloads a stream was built
 * from, the offset a malformation sits at), never computed by the decoders under test. The one
 * exception is `workload.json`, which pins the reference generator's output so that other
 * implementations can check theirs against it.
 *
 * Run: `npm run vectors -w @txlane/protocol`
 */
import { createHash } from "node:crypto"
import { writeFileSync } from "node:fs"
import { Digest, Workload } from "../src/testing.js"

const hex = (bytes: Uint8Array | Array<number>): string => Buffer.from(bytes).toString("hex")
const u32 = (n: number): string => n.toString(16).padStart(8, "0")
const frame = (payloadHex: string): string => u32(payloadHex.length / 2) + payloadHex
const ascii = (text: string): string => Buffer.from(text, "utf8").toString("hex")
const pattern = (n: number, from = 0): string => hex(Array.from({ length: n }, (_, i) => (from + i) % 256))
const MAX = 10 * 1024 * 1024

const write = (file: string, kind: string, description: string, vectors: ReadonlyArray<object>): void => {
  const names = new Set<string>()
  for (const v of vectors as Array<{ name: string }>) {
    if (names.has(v.name)) throw new Error(`duplicate vector name ${v.name}`)
    names.add(v.name)
  }
  const body = { format: "txlane-vectors/1", kind, description, vectors }
  writeFileSync(new URL(`../vectors/${file}`, import.meta.url), `${JSON.stringify(body, null, 2)}\n`)
  console.log(`${file}: ${vectors.length} vectors`)
}

// ---------------------------------------------------------------- frames
const tooLarge = (length: number, max: number) => ({ kind: "FrameTooLarge", length, max })
const truncated = (expected: number, received: number) => ({ kind: "TruncatedFrame", expected, received })

write("frames.json", "frames", "Framing (SPEC §2–§3): decode `input` as one stream, then end of stream.", [
  { name: "empty-stream", description: "No bytes at all: no frames, no error.", input: "", frames: [], error: null },
  {
    name: "zero-length-frame",
    description: "A zero-length frame is legal framing.",
    input: "00000000",
    frames: [""],
    error: null
  },
  { name: "single-byte", description: "One frame of one byte.", input: frame("ff"), frames: ["ff"], error: null },
  {
    name: "two-frames-one-buffer",
    description: "Two frames back to back in one buffer.",
    input: frame("aabb") + frame("cc"),
    frames: ["aabb", "cc"],
    error: null
  },
  {
    name: "empty-between-frames",
    description: "A zero-length frame between two others.",
    input: frame("01") + frame("") + frame("0203"),
    frames: ["01", "", "0203"],
    error: null
  },
  {
    name: "big-endian-length",
    description: "The length is big-endian: 00 00 01 02 announces 258 bytes.",
    input: `00000102${pattern(258)}`,
    frames: [pattern(258)],
    error: null
  },
  {
    name: "max-boundary-accepted",
    description: "length == maxFrameBytes is accepted.",
    maxFrameBytes: 16,
    input: frame(pattern(16)),
    frames: [pattern(16)],
    error: null
  },
  {
    name: "max-boundary-plus-one",
    description: "length == maxFrameBytes + 1 is rejected as soon as the header is known.",
    maxFrameBytes: 16,
    input: frame(pattern(17)),
    frames: [],
    error: tooLarge(17, 16)
  },
  {
    name: "default-max-exact-header",
    description:
      "A header announcing exactly 10 MiB is accepted (the payload then never comes: truncated, not too large).",
    input: u32(MAX),
    frames: [],
    error: truncated(4 + MAX, 4)
  },
  {
    name: "default-max-plus-one-header",
    description: "A header announcing 10 MiB + 1 is rejected with the default limit.",
    input: u32(MAX + 1),
    frames: [],
    error: tooLarge(MAX + 1, MAX)
  },
  {
    name: "header-4gib",
    description: "The largest possible header (2^32 - 1 bytes) is rejected before any allocation.",
    input: "ffffffff",
    frames: [],
    error: tooLarge(0xffffffff, MAX)
  },
  {
    name: "frames-before-oversize-are-delivered",
    description: "Frames completed before an oversize header are still produced.",
    input: frame("aa") + u32(MAX + 1) + "00000001bb",
    frames: ["aa"],
    error: tooLarge(MAX + 1, MAX)
  },
  {
    name: "oversize-payload-never-read-as-header",
    description: "After an oversize header nothing is decoded, even bytes that look like a valid frame.",
    maxFrameBytes: 8,
    input: `00000009${frame("bb")}${frame("cc")}`,
    frames: [],
    error: tooLarge(9, 8)
  },
  {
    name: "truncated-header-1",
    description: "End of stream after 1 header byte.",
    input: "00",
    frames: [],
    error: truncated(4, 1)
  },
  {
    name: "truncated-header-3",
    description: "End of stream after 3 header bytes.",
    input: "000000",
    frames: [],
    error: truncated(4, 3)
  },
  {
    name: "truncated-payload",
    description: "End of stream after the header and 2 of 5 payload bytes.",
    input: "00000005aabb",
    frames: [],
    error: truncated(9, 6)
  },
  {
    name: "truncated-payload-empty",
    description: "End of stream right after a header announcing 3 bytes.",
    input: "00000003",
    frames: [],
    error: truncated(7, 4)
  },
  {
    name: "truncated-after-frames",
    description: "Complete frames before a truncated one are produced.",
    input: `${frame("aa")}00000003bb`,
    frames: ["aa"],
    error: truncated(7, 5)
  },
  {
    name: "max-zero",
    description: "With maxFrameBytes 0 only zero-length frames pass.",
    maxFrameBytes: 0,
    input: `${frame("")}${frame("aa")}`,
    frames: [""],
    error: tooLarge(1, 0)
  },
  {
    name: "many-small-frames",
    description: "Twenty frames of growing size in one buffer.",
    input: Array.from({ length: 20 }, (_, i) => frame(pattern(i, i))).join(""),
    frames: Array.from({ length: 20 }, (_, i) => pattern(i, i)),
    error: null
  },
  {
    name: "frame-4096",
    description: "A 4 KiB frame (spans chunks when cut anywhere inside).",
    input: frame(pattern(4096, 7)),
    frames: [pattern(4096, 7)],
    error: null
  }
])

// ---------------------------------------------------------------- envelope
const malformed = (offset: number) => ({ kind: "MalformedEnvelope", offset })
const tx = (h: string) => `0a${(h.length / 2).toString(16).padStart(2, "0")}${h}` // field 1, length < 128
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

write("envelope.json", "envelope", "The Transactions envelope (SPEC §4).", [
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
])

// ---------------------------------------------------------------- responses
const okResponse = (json: string, response: object) => ({ input: ascii(json), response, error: null })
const badResponse = (input: string) => ({ input, response: null, error: { kind: "MalformedResponse" } })

write("response.json", "response", "Per-frame JSON responses (SPEC §5).", [
  {
    name: "success-count",
    description: "The plain success shape.",
    ...okResponse('{"success":true,"count":3}', { success: true, count: 3 })
  },
  {
    name: "deployed-success",
    description: "The deployed server's success shape; extra fields are kept.",
    ...okResponse('{"success":true,"tx_hash":"ab12","block_ref":"0x1f","indices":[0,1],"count":2}', {
      success: true,
      tx_hash: "ab12",
      block_ref: "0x1f",
      indices: [0, 1],
      count: 2
    })
  },
  {
    name: "deployed-queued",
    description: "Queued for the next epoch: success without a count.",
    ...okResponse('{"success":true,"queued":true,"message":"queued for next epoch"}', {
      success: true,
      queued: true,
      message: "queued for next epoch"
    })
  },
  {
    name: "failure-empty",
    description: "The zero-transaction failure.",
    ...okResponse('{"success":false,"error":"Empty Transactions message"}', {
      success: false,
      error: "Empty Transactions message"
    })
  },
  {
    name: "failure-too-large",
    description: "The oversize failure text.",
    ...okResponse('{"success":false,"error":"Transaction too large: 10485761 bytes (max: 10485760)"}', {
      success: false,
      error: "Transaction too large: 10485761 bytes (max: 10485760)"
    })
  },
  {
    name: "count-zero",
    description: "count 0 is a valid non-negative integer.",
    ...okResponse('{"success":true,"count":0}', { success: true, count: 0 })
  },
  {
    name: "whitespace-and-order",
    description: "Whitespace and key order do not matter.",
    ...okResponse('  {\n "count" : 7 ,\n "success" : true }\n', { success: true, count: 7 })
  },
  {
    name: "unicode-error",
    description: "UTF-8 in the error text.",
    ...okResponse('{"success":false,"error":"nút chưa sẵn sàng"}', { success: false, error: "nút chưa sẵn sàng" })
  },
  { name: "not-json", description: "Plain text is not a response.", ...badResponse(ascii("ok")) },
  { name: "empty-payload", description: "An empty response payload.", ...badResponse("") },
  { name: "json-array", description: "A JSON array is not an object.", ...badResponse(ascii("[true]")) },
  { name: "json-null", description: "JSON null is not an object.", ...badResponse(ascii("null")) },
  { name: "success-missing", description: "success is required.", ...badResponse(ascii('{"count":1}')) },
  { name: "success-string", description: "success must be a boolean.", ...badResponse(ascii('{"success":"true"}')) },
  {
    name: "count-negative",
    description: "count must be non-negative.",
    ...badResponse(ascii('{"success":true,"count":-1}'))
  },
  {
    name: "count-fraction",
    description: "count must be an integer.",
    ...badResponse(ascii('{"success":true,"count":1.5}'))
  },
  {
    name: "count-string",
    description: "count must be a number.",
    ...badResponse(ascii('{"success":true,"count":"3"}'))
  },
  {
    name: "error-number",
    description: "error must be a string.",
    ...badResponse(ascii('{"success":false,"error":5}'))
  },
  { name: "invalid-utf8", description: "Invalid UTF-8 is rejected, not replaced.", ...badResponse("7b22ff22") },
  { name: "truncated-json", description: "Cut-off JSON.", ...badResponse(ascii('{"success":tr')) }
])

// ---------------------------------------------------------------- receiver behaviour
const ok = (count: number) => ({ success: true, count })
const fail = (error: string) => ({ success: false, error })
write(
  "receiver.json",
  "receiver",
  "What a receiver in json response mode and transactions payload mode writes back (SPEC §6).",
  [
    {
      name: "valid-batch",
      description: "A batch of 2 transactions.",
      input: frame(tx("aa") + tx("bbcc")),
      responses: [ok(2)],
      closes: false
    },
    {
      name: "zero-length-frame",
      description: "A zero-length frame is answered, not submitted.",
      input: frame(""),
      responses: [fail("Empty Transactions message")],
      closes: false
    },
    {
      name: "only-unknown-fields",
      description: "An envelope with no transactions.",
      input: frame("1001"),
      responses: [fail("Empty Transactions message")],
      closes: false
    },
    {
      name: "malformed-envelope-stays-open",
      description: "A malformed envelope is answered and the connection stays usable.",
      input: frame(tx("aa")) + frame("0801") + frame(tx("bb")),
      responses: [ok(1), fail("Invalid Transactions protobuf: …"), ok(1)],
      closes: false
    },
    {
      name: "pipelined",
      description: "Five frames written at once get five responses, in order.",
      input: [1, 2, 3, 4, 5].map((n) => frame(Array.from({ length: n }, () => tx("01")).join(""))).join(""),
      responses: [ok(1), ok(2), ok(3), ok(4), ok(5)],
      closes: false
    },
    {
      name: "oversize-closes",
      description: "An oversize header is answered with the deployed text, then the connection is closed.",
      maxFrameBytes: 16,
      input: frame(tx("aa")) + u32(17) + pattern(17),
      responses: [ok(1), fail("Transaction too large: 17 bytes (max: 16)")],
      closes: true
    },
    {
      name: "oversize-default-limit",
      description: "10 MiB + 1 with the default limit; the next bytes are never read as a header.",
      input: u32(MAX + 1) + frame(tx("aa")),
      responses: [fail(`Transaction too large: ${MAX + 1} bytes (max: ${MAX})`)],
      closes: true
    },
    {
      name: "header-4gib",
      description: "A 4 GiB header.",
      input: "ffffffff",
      responses: [fail(`Transaction too large: 4294967295 bytes (max: ${MAX})`)],
      closes: true
    }
  ]
)

// ---------------------------------------------------------------- workload and digest (pinned reference output)
const sha8 = (h: string): bigint =>
  BigInt(`0x${createHash("sha256").update(Buffer.from(h, "hex")).digest("hex").slice(0, 16)}`)
const digestOf = (txs: Array<string>): string =>
  (txs.reduce((acc, t) => (acc + sha8(t)) % 2n ** 64n, 0n) as bigint).toString(16).padStart(16, "0")

const prng = (seed: bigint, n: number) => {
  const rng = new Workload.SplitMix64(seed)
  return {
    type: "prng",
    name: `splitmix64-seed-${seed}`,
    seed: seed.toString(),
    outputs: Array.from({ length: n }, () => rng.next().toString(16).padStart(16, "0"))
  }
}
const transaction = (seed: bigint, txSize: number, index: number) => {
  const g = new Workload.TransactionGenerator({ seed, txSize })
  let t = g.next()
  for (let i = 0; i < index; i++) t = g.next()
  return {
    type: "transaction",
    name: `tx-seed-${seed}-size-${txSize}-index-${index}`,
    seed: seed.toString(),
    txSize,
    index,
    length: t.length,
    transaction: hex(t)
  }
}
const workloadDigest = (seed: bigint, batches: number, txPerBatch: number, txSize: number) => {
  const d = Digest.make()
  for (const batch of Workload.batches({ seed, batches, txPerBatch, txSize })) d.addAll(batch)
  return {
    type: "workload-digest",
    name: `workload-seed-${seed}-${batches}x${txPerBatch}x${txSize}`,
    seed: seed.toString(),
    batches,
    txPerBatch,
    txSize,
    transactions: d.count,
    digest: d.value
  }
}
const digest = (name: string, transactions: Array<string>) => ({
  type: "digest",
  name,
  transactions,
  digest: digestOf(transactions)
})

write(
  "workload.json",
  "workload",
  "The deterministic workload and the transaction digest of packages/conformance/PEERS.md. Reference output, pinned.",
  [
    prng(0n, 5),
    prng(1n, 5),
    prng(0xffff_ffff_ffff_ffffn, 3),
    digest("digest-empty-set", []),
    digest("digest-abc", [ascii("abc")]),
    digest("digest-order-independent-1", [ascii("abc"), "", "00"]),
    digest("digest-order-independent-2", ["00", ascii("abc"), ""]),
    digest("digest-duplicates-count", [ascii("abc"), ascii("abc")]),
    transaction(1n, 650, 0),
    transaction(1n, 650, 1),
    transaction(42n, 200, 0),
    transaction(7n, 100, 3),
    transaction(7n, 327, 0),
    transaction(7n, 330, 0),
    transaction(0xffff_ffff_ffff_ffffn, 1000, 2),
    workloadDigest(1n, 10, 50, 650),
    workloadDigest(2n, 3, 1, 200),
    workloadDigest(3n, 0, 50, 650),
    workloadDigest(9n, 4, 7, 4000)
  ]
)

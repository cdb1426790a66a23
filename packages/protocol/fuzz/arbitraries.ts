/**
 * Inputs for the fuzzer: a corpus of valid streams and envelopes (the shared vectors plus
 * workload batches), mutations of them, hand-built hostile envelopes, and random chunkings.
 *
 * Random bytes alone almost never form a valid header followed by a matching payload, so most
 * cases start from something valid and break it a little: that is where decoders go wrong.
 *
 * @module
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as fc from "fast-check"
import * as Envelope from "../src/Envelope.js"
import * as FrameEncoder from "../src/FrameEncoder.js"
import * as Workload from "../src/Workload.js"

const VECTORS_DIR = Path.join(import.meta.dirname, "..", "vectors")

const hex = (text: string): Uint8Array => Uint8Array.from(Buffer.from(text, "hex"))

const vectorInputs = (kind: string): Array<Uint8Array> => {
  const file = Path.join(VECTORS_DIR, `${kind}.json`)
  const parsed = JSON.parse(Fs.readFileSync(file, "utf8")) as { vectors: Array<{ input: string }> }
  return parsed.vectors.map((v) => hex(v.input))
}

const workloadBatches = (): Array<Array<Uint8Array>> => [
  ...Workload.batches({ batches: 4, txPerBatch: 3, txSize: 220, seed: 7 }),
  ...Workload.batches({ batches: 2, txPerBatch: 50, txSize: 650, seed: 1 })
]

/** The corpus: valid (and some deliberately invalid) streams and envelopes from the vectors and the workload. */
export interface Corpus {
  /** Frame streams: `frames` and `receiver` vectors, and framed workload batches. */
  readonly streams: ReadonlyArray<Uint8Array>
  /** Envelope payloads: `envelope` vectors and workload batches. */
  readonly envelopes: ReadonlyArray<Uint8Array>
  /** Response payloads: `response` vectors. */
  readonly responses: ReadonlyArray<Uint8Array>
}

/** Loads the corpus from `vectors/*.json` and the workload generator; fails if the vectors are missing. */
export const loadCorpus = (): Corpus => {
  const envelopes = [...vectorInputs("envelope"), ...workloadBatches().map((txs) => Envelope.encode(txs))]
  const framed = workloadBatches().map((txs) => FrameEncoder.concat([Envelope.encode(txs)]))
  const streams = [
    ...vectorInputs("frames"),
    ...vectorInputs("receiver"),
    ...framed,
    FrameEncoder.concat(envelopes.slice(0, 16))
  ]
  const responses = vectorInputs("response")
  if (streams.length < 10 || envelopes.length < 10 || responses.length < 5) {
    throw new Error(`fuzz corpus too small: ${streams.length} streams, ${envelopes.length} envelopes`)
  }
  return { streams, envelopes, responses }
}

type Mutation =
  | { readonly op: "flip"; readonly at: number; readonly bit: number }
  | { readonly op: "set"; readonly at: number; readonly value: number }
  | { readonly op: "insert"; readonly at: number; readonly bytes: Uint8Array }
  | { readonly op: "delete"; readonly at: number; readonly count: number }
  | { readonly op: "truncate"; readonly at: number }
  | { readonly op: "duplicate"; readonly at: number; readonly count: number }
  | { readonly op: "header"; readonly at: number; readonly length: number }

const interestingLength = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 5, 127, 128, 255, 256, 0x7fff_ffff, 0x8000_0000, 0xffff_fffe, 0xffff_ffff),
  fc.integer({ min: 0, max: 600 }),
  fc.integer({ min: 0, max: 0xffff_ffff })
)

// Positions are fractions of the input length, so one mutation fits any input.
const position = fc.double({ min: 0, max: 1, noNaN: true, maxExcluded: true })

const mutation: fc.Arbitrary<{ readonly where: number; readonly m: Mutation }> = fc.oneof(
  fc.record({
    where: position,
    m: fc.record({ op: fc.constant("flip" as const), at: fc.constant(0), bit: fc.nat(7) })
  }),
  fc.record({
    where: position,
    m: fc.record({
      op: fc.constant("set" as const),
      at: fc.constant(0),
      value: fc.oneof(fc.constantFrom(0, 0x7f, 0x80, 0xff), fc.nat(255))
    })
  }),
  fc.record({
    where: position,
    m: fc.record({
      op: fc.constant("insert" as const),
      at: fc.constant(0),
      bytes: fc.uint8Array({ minLength: 1, maxLength: 12 })
    })
  }),
  fc.record({
    where: position,
    m: fc.record({ op: fc.constant("delete" as const), at: fc.constant(0), count: fc.integer({ min: 1, max: 8 }) })
  }),
  fc.record({ where: position, m: fc.record({ op: fc.constant("truncate" as const), at: fc.constant(0) }) }),
  fc.record({
    where: position,
    m: fc.record({ op: fc.constant("duplicate" as const), at: fc.constant(0), count: fc.integer({ min: 1, max: 40 }) })
  }),
  fc.record({
    where: position,
    m: fc.record({ op: fc.constant("header" as const), at: fc.constant(0), length: interestingLength })
  })
)

const applyMutation = (input: Uint8Array, where: number, m: Mutation): Uint8Array => {
  const at = Math.floor(where * (input.length + 1))
  const before = input.subarray(0, at)
  const after = input.subarray(at)
  const join = (...parts: Array<Uint8Array>) => Uint8Array.from(Buffer.concat(parts))
  switch (m.op) {
    case "flip": {
      if (input.length === 0) return input
      const out = input.slice()
      const i = Math.min(at, input.length - 1)
      out[i]! ^= 1 << m.bit
      return out
    }
    case "set": {
      if (input.length === 0) return Uint8Array.of(m.value)
      const out = input.slice()
      out[Math.min(at, input.length - 1)] = m.value
      return out
    }
    case "insert":
      return join(before, m.bytes, after)
    case "delete":
      return join(before, after.subarray(m.count))
    case "truncate":
      return input.slice(0, at)
    case "duplicate":
      return join(before, after.subarray(0, m.count), after)
    case "header": {
      const h = new Uint8Array(4)
      new DataView(h.buffer).setUint32(0, m.length)
      return join(before, h, after)
    }
  }
}

/** `base` with 1–4 random mutations (bit flips, byte sets, inserts, deletes, truncation, duplication, inserted headers). */
export const mutated = (base: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(base, fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([input, ms]) => ms.reduce((acc, { where, m }) => applyMutation(acc, where, m), input))

/** A valid frame stream built from random payloads (some empty, some large-ish). */
export const validStream: fc.Arbitrary<Uint8Array> = fc
  .array(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 200, maxLength: 2000 })), {
    maxLength: 8
  })
  .map((payloads) => FrameEncoder.concat(payloads))

/** A stream: random bytes, a valid stream, a corpus stream, or a mutation of one of those. */
export const stream = (corpus: Corpus): fc.Arbitrary<Uint8Array> => {
  const fromCorpus = fc.constantFrom(...corpus.streams)
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }) },
    { weight: 2, arbitrary: validStream },
    { weight: 1, arbitrary: fromCorpus },
    { weight: 6, arbitrary: mutated(fc.oneof(validStream, fromCorpus)) }
  )
}

/** The limit a decoder is built with: tiny, around the corpus' frame sizes, or the default. */
export const maxFrameBytes: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 1, 4, 64, 255, 256, 10 * 1024 * 1024, 0xffff_ffff),
  fc.integer({ min: 0, max: 3000 })
)

/**
 * Cut points for a stream of any length, as fractions: 0 cuts (one chunk) up to one cut per
 * byte ("byte by byte" is its own case). Empty chunks are kept: `push` must accept them.
 */
export type Chunking = { readonly kind: "cuts"; readonly cuts: ReadonlyArray<number> } | { readonly kind: "bytes" }

export const chunking: fc.Arbitrary<Chunking> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({ kind: fc.constant("cuts" as const), cuts: fc.array(position, { maxLength: 12 }) })
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("bytes" as const) }) }
)

/** Splits `input` into chunks (views) as `c` says. */
export const split = (input: Uint8Array, c: Chunking): Array<Uint8Array> => {
  if (c.kind === "bytes") return Array.from({ length: input.length }, (_, i) => input.subarray(i, i + 1))
  const points = c.cuts.map((f) => Math.floor(f * (input.length + 1))).sort((a, b) => a - b)
  const chunks: Array<Uint8Array> = []
  let from = 0
  for (const p of points) {
    chunks.push(input.subarray(from, p))
    from = p
  }
  chunks.push(input.subarray(from))
  return chunks
}

// Varints written in odd ways: minimal, padded (non-minimal, up to 10 bytes), over-long (11+),
// or with bits set past 32 / 64.
const varintBytes = (value: bigint, style: "minimal" | "padded" | "overlong", pad: number): Uint8Array => {
  const out: Array<number> = []
  let v = value
  do {
    out.push(Number(v & 0x7fn))
    v >>= 7n
  } while (v > 0n)
  const extra = style === "minimal" ? 0 : style === "padded" ? Math.min(pad, 10 - out.length) : 11 - out.length + pad
  for (let i = 0; i < Math.max(0, extra); i++) out.push(0)
  for (let i = 0; i < out.length - 1; i++) out[i]! |= 0x80
  return Uint8Array.from(out)
}

const varintArb = (value: fc.Arbitrary<bigint>): fc.Arbitrary<Uint8Array> =>
  fc
    .tuple(
      value,
      fc.constantFrom(
        "minimal" as const,
        "minimal" as const,
        "minimal" as const,
        "padded" as const,
        "overlong" as const
      ),
      fc.nat(4)
    )
    .map(([v, style, pad]) => varintBytes(v, style, pad))

const fieldNumber = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(1n, 1n, 2n, 3n, 15n, 16n) },
  { weight: 1, arbitrary: fc.constantFrom(0n, 2n ** 29n - 1n, 2n ** 29n, 2n ** 32n, 2n ** 61n) },
  { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }
)

const tagBytes = (field: fc.Arbitrary<bigint>, wire: fc.Arbitrary<number>): fc.Arbitrary<Uint8Array> =>
  fc.tuple(field, wire).chain(([f, w]) => varintArb(fc.constant((f << 3n) | BigInt(w))))

const anyWire = fc.oneof(
  { weight: 8, arbitrary: fc.integer({ min: 0, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(6, 7) }
)

/** One protobuf field, well- or ill-formed, possibly an (unbalanced, deeply nested) group. */
const field: fc.Memo<Uint8Array> = fc.memo((depth) => {
  const join = (parts: Array<Uint8Array>) => Uint8Array.from(Buffer.concat(parts))
  const bytesField = fc
    .tuple(
      tagBytes(fieldNumber, fc.constant(2)),
      fc.uint8Array({ maxLength: 24 }),
      fc.integer({ min: -2, max: 2 }),
      fc.boolean()
    )
    .chain(([t, body, skew, honest]) =>
      varintArb(fc.constant(honest ? BigInt(body.length) : BigInt(Math.max(0, body.length + skew)))).map((len) =>
        join([t, len, body])
      )
    )
  const scalar = fc
    .tuple(tagBytes(fieldNumber, anyWire), fc.uint8Array({ maxLength: 10 }))
    .map(([t, b]) => join([t, b]))
  const varintField = fc
    .tuple(tagBytes(fieldNumber, fc.constant(0)), varintArb(fc.bigInt({ min: 0n, max: 2n ** 70n })))
    .map(([t, v]) => join([t, v]))
  if (depth <= 1) return fc.oneof(bytesField, bytesField, scalar, varintField)
  const group = fc
    .tuple(
      fieldNumber,
      fc.array(field(depth - 1), { maxLength: 3 }),
      fc.oneof(fc.constant(0n), fieldNumber),
      fc.boolean()
    )
    .chain(([f, inner, endDelta, close]) =>
      fc
        .tuple(
          varintArb(fc.constant((f << 3n) | 3n)),
          varintArb(fc.constant(((endDelta === 0n ? f : endDelta) << 3n) | 4n))
        )
        .map(([start, end]) => join([start, ...inner, ...(close ? [end] : [])]))
    )
  return fc.oneof(bytesField, scalar, varintField, group)
})

/** `n` nested groups around a transaction, closed properly: 64 is legal, 65 is not (SPEC §4). */
export const nestedGroups: fc.Arbitrary<Uint8Array> = fc
  .tuple(fc.integer({ min: 60, max: 70 }), fc.integer({ min: 2, max: 9 }))
  .map(([n, f]) => {
    const start = (f << 3) | 3
    const end = (f << 3) | 4
    return Uint8Array.from([...Array(n).fill(start), 0x0a, 0x01, 0xaa, ...Array(n).fill(end), 0x0a, 0x00])
  })

/** An envelope payload: random bytes, a valid encoding, a corpus entry, a mutation, or hand-built fields. */
export const envelope = (corpus: Corpus): fc.Arbitrary<Uint8Array> => {
  const valid = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }).map((txs) => Envelope.encode(txs))
  const built = fc.array(field(4), { minLength: 1, maxLength: 6 }).map((parts) => Uint8Array.from(Buffer.concat(parts)))
  return fc.oneof(
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }) },
    { weight: 1, arbitrary: valid },
    { weight: 1, arbitrary: fc.constantFrom(...corpus.envelopes) },
    { weight: 3, arbitrary: mutated(fc.oneof(valid, fc.constantFrom(...corpus.envelopes))) },
    { weight: 4, arbitrary: built },
    { weight: 1, arbitrary: nestedGroups }
  )
}

/** A response payload: random bytes, random JSON values, corpus entries and their mutations. */
export const response = (corpus: Corpus): fc.Arbitrary<Uint8Array> => {
  const utf8 = (text: string) => new TextEncoder().encode(text)
  const shaped = fc
    .record(
      {
        success: fc.oneof(fc.boolean(), fc.jsonValue()),
        count: fc.oneof(fc.nat(), fc.integer(), fc.double(), fc.string(), fc.constant(null)),
        error: fc.oneof(fc.string(), fc.nat())
      },
      { requiredKeys: [] }
    )
    .map((o) => utf8(JSON.stringify(o)))
  return fc.oneof(
    fc.uint8Array({ maxLength: 40 }),
    fc.jsonValue().map((v) => utf8(JSON.stringify(v) ?? "null")),
    shaped,
    fc.constantFrom(...corpus.responses),
    mutated(fc.constantFrom(...corpus.responses))
  )
}

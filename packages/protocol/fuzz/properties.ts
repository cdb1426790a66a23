/**
 * The fuzz properties. Each one takes generated input, runs the real decoder, and checks it
 * against the reference decoders in `reference.ts` and against its own stated invariants.
 * A property never throws on good behaviour; any thrown error (including one escaping a
 * decoder) is a failure that fast-check shrinks and reports with its seed.
 *
 * | name | input | checks |
 * |---|---|---|
 * | `frames` | streams (random, valid, corpus, mutated) × limit × chunking | same frames and error as the reference for every chunking; `bufferedBytes` ≤ bytes of the current frame received and ≤ 4 + limit; `inFrame` ⇔ `bufferedBytes > 0`; nothing after an oversize header; every frame's envelope decodes without throwing |
 * | `envelope` | payloads (random, valid, corpus, mutated, hand-built fields, nested groups) | same transactions or same failing offset as the reference; transactions are views into the payload; re-encoding what was accepted decodes to the same list |
 * | `roundtrip` | transaction lists | `decode(encode(txs))` = txs; `encode` = `encodeSlow` byte for byte |
 * | `response` | payloads (random, JSON, response-shaped, mutated corpus) | `decode` never throws; what it accepts has a boolean `success` and survives `encode` → `decode` |
 *
 * @module
 */

import { Result } from "effect"
import * as fc from "fast-check"
import * as Envelope from "../src/Envelope.js"
import { FrameDecoder } from "../src/FrameDecoder.js"
import * as Response from "../src/Response.js"
import * as Arb from "./arbitraries.js"
import { referenceEnvelope, referenceFrames } from "./reference.js"

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString("hex")

const sameBytes = (a: ReadonlyArray<Uint8Array>, b: ReadonlyArray<Uint8Array>): boolean =>
  a.length === b.length && a.every((x, i) => Buffer.compare(x, b[i]!) === 0)

// A declaration (not an arrow) so that `if (…) fail(…)` narrows types after it.
function fail(message: string): never {
  throw new Error(message)
}

/** Decodes `input` in `chunks` with a fresh decoder, checking the invariants after every push. */
export const checkFrames = (
  input: Uint8Array,
  max: number,
  chunks: ReadonlyArray<Uint8Array>,
  make: (max: number) => FrameDecoder = (maxFrameBytes) => new FrameDecoder({ maxFrameBytes })
): void => {
  const expected = referenceFrames(input, max)
  const decoder = make(max)
  const frames: Array<Uint8Array> = []
  let failed: { length: number; max: number } | undefined
  let pushed = 0
  let frameStart = 0 // stream offset where the frame in progress started
  for (const chunk of chunks) {
    const result = decoder.push(chunk)
    pushed += chunk.length
    if (failed !== undefined && result.frames.length > 0) fail("frames returned after an oversize header")
    for (const f of result.frames) {
      frames.push(f)
      frameStart += 4 + f.length
      if (f.length > max) fail(`frame of ${f.length} bytes above the limit ${max}`)
    }
    if (result.error !== undefined) failed ??= { length: result.error.length, max: result.error.max }
    if (failed === undefined) {
      const buffered = decoder.bufferedBytes
      if (buffered !== pushed - frameStart)
        fail(`bufferedBytes ${buffered}, but ${pushed - frameStart} bytes of the frame arrived`)
      if (buffered > 4 + max) fail(`bufferedBytes ${buffered} above 4 + limit ${max}`)
      if (decoder.inFrame !== buffered > 0) fail(`inFrame ${decoder.inFrame} with bufferedBytes ${buffered}`)
    }
  }
  const truncated = failed === undefined ? decoder.end() : undefined
  if (!sameBytes(frames, expected.frames)) {
    fail(`frames differ: got ${frames.map(hex).join(",")}; want ${expected.frames.map(hex).join(",")}`)
  }
  const got = failed
    ? { kind: "FrameTooLarge", ...failed }
    : truncated
      ? { kind: "TruncatedFrame", expected: truncated.expected, received: truncated.received }
      : undefined
  if (JSON.stringify(got) !== JSON.stringify(expected.error)) {
    fail(`error differs: got ${JSON.stringify(got)}; want ${JSON.stringify(expected.error)}`)
  }
  // Each frame then goes through the envelope decoder, as in a receiver: it must not throw.
  for (const f of frames) Envelope.decode(f)
}

/** Compares `Envelope.decode` with the reference on one payload. */
export const checkEnvelope = (payload: Uint8Array, decode: typeof Envelope.decode = Envelope.decode): void => {
  const got = decode(payload)
  const want = referenceEnvelope(payload)
  if (Result.isFailure(got)) {
    if (want.ok) fail(`rejected (${got.failure.message}), reference accepts ${want.transactions.length} transactions`)
    if (got.failure.offset !== want.offset) fail(`offset ${got.failure.offset}; reference ${want.offset}`)
    if (got.failure.reason.length === 0) fail("empty reason")
    return
  }
  if (!want.ok) fail(`accepted ${got.success.length} transactions; reference rejects at offset ${want.offset}`)
  if (!sameBytes(got.success, want.transactions)) fail("transactions differ from the reference")
  for (const tx of got.success) {
    if (tx.buffer !== payload.buffer) fail("a transaction is a copy, not a view into the payload")
  }
  const again = Envelope.decode(Envelope.encode(got.success))
  if (Result.isFailure(again) || !sameBytes(again.success, got.success)) fail("re-encoded envelope decodes differently")
}

/** Round trip of a transaction list through both encoders. */
export const checkRoundtrip = (txs: ReadonlyArray<Uint8Array>): void => {
  const fast = Envelope.encode(txs)
  if (Buffer.compare(fast, Envelope.encodeSlow(txs)) !== 0) fail("encode differs from encodeSlow")
  const back = Envelope.decode(fast)
  if (Result.isFailure(back) || !sameBytes(back.success, txs)) fail("decode(encode(txs)) differs")
}

/** `Response.decode` on one payload. */
export const checkResponse = (payload: Uint8Array): void => {
  const got = Response.decode(payload)
  if (Result.isFailure(got)) return
  if (typeof got.success.success !== "boolean") fail("accepted a response without a boolean success")
  const again = Response.decode(Response.encode(got.success))
  if (Result.isFailure(again) || JSON.stringify(again.success) !== JSON.stringify(got.success)) {
    fail("response does not survive encode/decode")
  }
}

/** The property names, in the order the runner runs them. */
export const NAMES = ["frames", "envelope", "roundtrip", "response"] as const
export type Name = (typeof NAMES)[number]

/** Share of the cases each property gets. Streams are the main attack surface. */
export const SHARE: Record<Name, number> = { frames: 0.5, envelope: 0.3, roundtrip: 0.05, response: 0.15 }

/** What one batch of cases gave: the count run, and fast-check's report when a case failed. */
export interface BatchResult {
  readonly numRuns: number
  readonly failure: string | undefined
}

const summarize = <Ts>(details: fc.RunDetails<Ts>): BatchResult => ({
  numRuns: details.numRuns,
  failure: details.failed ? (fc.defaultReportMessage(details) ?? "failed") : undefined
})

/** Runs `numRuns` cases of property `name` from `seed`; the failure (shrunk) is fast-check's report. */
export const runBatch = (name: Name, corpus: Arb.Corpus, numRuns: number, seed: number): BatchResult => {
  const params = { numRuns, seed, includeErrorInReport: true }
  switch (name) {
    case "frames":
      return summarize(
        fc.check(
          fc.property(Arb.stream(corpus), Arb.maxFrameBytes, Arb.chunking, (input, max, c) =>
            checkFrames(input, max, Arb.split(input, c))
          ),
          params
        )
      )
    case "envelope":
      return summarize(
        fc.check(
          fc.property(Arb.envelope(corpus), (payload) => checkEnvelope(payload)),
          params
        )
      )
    case "roundtrip":
      return summarize(
        fc.check(fc.property(fc.array(fc.uint8Array({ maxLength: 400 }), { maxLength: 20 }), checkRoundtrip), params)
      )
    case "response":
      return summarize(fc.check(fc.property(Arb.response(corpus), checkResponse), params))
  }
}

/**
 * Runs every file in `vectors/` (SPEC.md §10). Frame vectors are decoded whole, cut in two at
 * every offset, and byte by byte.
 */
import { readdirSync, readFileSync } from "node:fs"
import { Result } from "effect"
import { describe, expect, it } from "vitest"
import { Envelope, FrameDecoder, FrameEncoder, Response } from "../src/index.js"
import { Digest, Workload } from "../src/testing.js"

const dir = new URL("../vectors/", import.meta.url)
const files = readdirSync(dir).filter((f) => f.endsWith(".json"))
const hex = (h: string) => Uint8Array.from(Buffer.from(h, "hex"))
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex")

interface VectorFile {
  readonly format: string
  readonly kind: string
  readonly vectors: ReadonlyArray<Record<string, unknown> & { name: string }>
}
const load = (f: string): VectorFile => JSON.parse(readFileSync(new URL(f, dir), "utf8"))

const decodeChunks = (chunks: ReadonlyArray<Uint8Array>, maxFrameBytes: number | undefined) => {
  const decoder = new FrameDecoder.FrameDecoder({ maxFrameBytes })
  const frames: Array<string> = []
  for (const chunk of chunks) {
    const result = decoder.push(chunk)
    frames.push(...result.frames.map(toHex))
    if (result.error)
      return { frames, error: { kind: result.error._tag, length: result.error.length, max: result.error.max } }
  }
  const truncated = decoder.end()
  return {
    frames,
    error: truncated ? { kind: truncated._tag, expected: truncated.expected, received: truncated.received } : null
  }
}

it("there are vector files of every kind, at least 30 vectors in all", () => {
  const kinds = files.map((f) => load(f).kind).sort()
  // `defaults` (the shared defaults table, SPEC §11) is checked by packages/conformance/test/defaults.test.ts.
  expect(kinds).toEqual(["defaults", "envelope", "frames", "receiver", "response", "workload"])
  expect(files.reduce((n, f) => n + load(f).vectors.length, 0)).toBeGreaterThanOrEqual(30)
  for (const f of files) expect(load(f).format).toBe("txlane-vectors/1")
})

describe.each(files.filter((f) => load(f).kind === "frames"))("%s", (file) => {
  it.each(load(file).vectors.map((v) => [v.name, v] as const))("%s", (_, v) => {
    const input = hex(v.input as string)
    const max = v.maxFrameBytes as number | undefined
    const expected = { frames: v.frames, error: v.error }
    expect(decodeChunks([input], max)).toEqual(expected)
    for (let cut = 0; cut <= input.length; cut++) {
      expect(decodeChunks([input.subarray(0, cut), input.subarray(cut)], max)).toEqual(expected)
    }
    if (input.length <= 5000) {
      expect(
        decodeChunks(
          Array.from(input, (b) => Uint8Array.of(b)),
          max
        )
      ).toEqual(expected)
    }
  })
})

describe.each(files.filter((f) => load(f).kind === "envelope"))("%s", (file) => {
  it.each(load(file).vectors.map((v) => [v.name, v] as const))("%s", (_, v) => {
    const result = Envelope.decode(hex(v.input as string))
    if (v.error === null) {
      expect(Result.isSuccess(result)).toBe(true)
      const txs = Result.getOrThrow(result)
      expect(txs.map(toHex)).toEqual(v.transactions)
      if (v.canonical === true) expect(toHex(Envelope.encode(txs))).toBe(v.input)
    } else {
      expect(Result.isFailure(result)).toBe(true)
      if (Result.isFailure(result)) {
        expect(result.failure._tag).toBe((v.error as { kind: string }).kind)
        expect(result.failure.offset).toBe((v.error as { offset: number }).offset)
      }
    }
  })
})

describe.each(files.filter((f) => load(f).kind === "response"))("%s", (file) => {
  it.each(load(file).vectors.map((v) => [v.name, v] as const))("%s", (_, v) => {
    const result = Response.decode(hex(v.input as string))
    if (v.error === null) expect(Result.getOrThrow(result)).toEqual(v.response)
    else expect(Result.isFailure(result) && result.failure._tag).toBe("MalformedResponse")
  })
})

// The receiver vectors are run against real servers in @txlane/conformance; here we check that
// each one is consistent with the framing rules: one response per decoded frame, plus one for an
// oversize header, and a close exactly when the header was oversize.
describe.each(files.filter((f) => load(f).kind === "receiver"))("%s (consistency with framing)", (file) => {
  it.each(load(file).vectors.map((v) => [v.name, v] as const))("%s", (_, v) => {
    const { frames, error } = FrameDecoder.decodeAll(hex(v.input as string), {
      maxFrameBytes: v.maxFrameBytes as number | undefined
    })
    const oversize = error?._tag === "FrameTooLarge"
    expect((v.responses as Array<unknown>).length).toBe(frames.length + (oversize ? 1 : 0))
    expect(v.closes).toBe(oversize)
  })
})

describe.each(files.filter((f) => load(f).kind === "workload"))("%s", (file) => {
  it.each(load(file).vectors.map((v) => [v.name, v] as const))("%s", (_, v) => {
    switch (v.type) {
      case "prng": {
        const rng = new Workload.SplitMix64(BigInt(v.seed as string))
        for (const out of v.outputs as Array<string>) expect(rng.next().toString(16).padStart(16, "0")).toBe(out)
        break
      }
      case "digest":
        expect(Digest.of((v.transactions as Array<string>).map(hex))).toBe(v.digest)
        break
      case "transaction": {
        const g = new Workload.TransactionGenerator({ seed: BigInt(v.seed as string), txSize: v.txSize as number })
        const txs = g.take((v.index as number) + 1)
        expect(toHex(txs.at(-1)!)).toBe(v.transaction)
        expect(txs.at(-1)!.length).toBe(v.length)
        break
      }
      case "workload-digest": {
        const d = Digest.make()
        for (const batch of Workload.batches({
          seed: BigInt(v.seed as string),
          batches: v.batches as number,
          txPerBatch: v.txPerBatch as number,
          txSize: v.txSize as number
        }))
          d.addAll(batch)
        expect([d.value, d.count]).toEqual([v.digest, v.transactions])
        break
      }
      default:
        throw new Error(`unknown workload vector type ${String(v.type)}`)
    }
  })
})

it("FrameEncoder.concat produces the frame vectors' streams", () => {
  const v = load("frames.json").vectors.find((x) => x.name === "empty-between-frames")!
  expect(toHex(FrameEncoder.concat((v.frames as Array<string>).map(hex)))).toBe(v.input)
})

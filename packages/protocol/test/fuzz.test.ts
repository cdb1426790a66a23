/**
 * The CI slice of the decoder fuzzer (`fuzz/`): the same properties as `npm run fuzz`, with
 * 100,000 cases instead of 1,000,000, and a seed fixed per commit (`fuzz/seed.ts`: from `git
 * rev-parse HEAD`, overridden by `TXLANE_FUZZ_SEED`; printed, so any failure can be replayed with
 * `npm run fuzz -w @txlane/protocol -- --seed S --only NAME`). Also shows that the properties do
 * catch planted decoder bugs, so a green run means something.
 */
import { Result } from "effect"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import * as Arb from "../fuzz/arbitraries.js"
import { checkEnvelope, checkFrames, NAMES, runBatch, SHARE } from "../fuzz/properties.js"
import { commitSeed, FALLBACK_SEED } from "../fuzz/seed.js"
import * as Envelope from "../src/Envelope.js"
import { MalformedEnvelope } from "../src/errors.js"
import { FrameDecoder } from "../src/FrameDecoder.js"

const CI_CASES = 100_000
const { seed, source } = commitSeed()
process.stderr.write(`decoder fuzz: seed ${seed} (${source})\n`)
const corpus = Arb.loadCorpus()

describe(`decoder fuzz, CI slice (${CI_CASES} cases, seed ${seed} from ${source})`, () => {
  for (const name of NAMES) {
    it(`${name}: ${Math.round(CI_CASES * SHARE[name])} cases agree with the reference`, () => {
      const result = runBatch(name, corpus, Math.round(CI_CASES * SHARE[name]), seed)
      expect(
        result.failure,
        `replay: npm run fuzz -w @txlane/protocol -- --seed ${seed} --only ${name}`
      ).toBeUndefined()
      expect(result.numRuns).toBe(Math.round(CI_CASES * SHARE[name]))
    }, 120_000)
  }
})

describe("the fuzz properties catch planted bugs", () => {
  // An off-by-one limit: accepts length = max + 1.
  class LenientDecoder extends FrameDecoder {
    constructor(max: number) {
      super({ maxFrameBytes: Math.min(max + 1, 0xffff_ffff) })
    }
  }
  // Forgets a header split across chunks (keeps only the last chunk's header bytes).
  class ForgetfulDecoder extends FrameDecoder {
    override push(chunk: Uint8Array) {
      return chunk.length < 4 && chunk.length > 0 ? { frames: [], error: undefined } : super.push(chunk)
    }
  }
  const planted = (make: (max: number) => FrameDecoder) =>
    fc.check(
      fc.property(Arb.stream(corpus), Arb.maxFrameBytes, Arb.chunking, (input, max, c) =>
        checkFrames(input, max, Arb.split(input, c), make)
      ),
      { numRuns: 20_000, seed: 1 }
    )

  it("an off-by-one frame limit", () => {
    expect(planted((max) => new LenientDecoder(max)).failed).toBe(true)
  })

  it("a decoder that drops short chunks", () => {
    expect(planted((max) => new ForgetfulDecoder({ maxFrameBytes: max })).failed).toBe(true)
  })

  it("an envelope decoder that reports the wrong offset or accepts field 1 as a varint", () => {
    const shifted: typeof Envelope.decode = (p) =>
      Result.mapError(Envelope.decode(p), (e) => new MalformedEnvelope({ offset: e.offset + 1, reason: e.reason }))
    const lax: typeof Envelope.decode = (p) => (p[0] === 0x08 ? Result.succeed([]) : Envelope.decode(p))
    for (const decode of [shifted, lax]) {
      const details = fc.check(
        fc.property(Arb.envelope(corpus), (payload) => checkEnvelope(payload, decode)),
        {
          numRuns: 20_000,
          seed: 1
        }
      )
      expect(details.failed).toBe(true)
    }
  })
})

describe("the CI slice's seed", () => {
  it("is fixed per commit, overridable by TXLANE_FUZZ_SEED, and a constant outside git", () => {
    const a = commitSeed({})
    expect(a.source).toMatch(/^commit [0-9a-f]{12}$/)
    expect(commitSeed({}).seed).toBe(a.seed)
    expect(commitSeed({ TXLANE_FUZZ_SEED: "7" })).toEqual({ seed: 7, source: "TXLANE_FUZZ_SEED" })
    expect(() => commitSeed({ TXLANE_FUZZ_SEED: "x" })).toThrow("must be an integer")
    expect(commitSeed({}, "/").seed).toBe(FALLBACK_SEED)
  })
})

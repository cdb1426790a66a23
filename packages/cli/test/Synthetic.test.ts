/**
 * The sender's synthetic workload (`src/sender/Synthetic.ts`) against the reference
 * (`Workload.batches` through `Envelope.encode`): the same payload bytes for every target size
 * around the Data field's thresholds and varint widths, from the start and from the middle of a
 * workload, and the batch size it plans pools with.
 */
import { Envelope } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { describe, expect, it } from "vitest"
import * as Synthetic from "../src/sender/Synthetic.js"

const reference = (options: { seed: number; txPerBatch: number; txSize: number; batches: number }) =>
  Array.from(Workload.batches(options), (batch) => Envelope.encode(batch))

// No Data field (< 200), the smallest Data (200), a 1- and 2-byte Data length (327, 328),
// the upstream shape (650), the transaction's own length crossing 2^14 (16,5xx).
const SIZES = [100, 197, 199, 200, 201, 327, 328, 650, 16_580, 16_581, 16_582, 16_583, 16_584]

describe("synthetic workload", () => {
  it.each(SIZES)("tx size %i: the reference workload's payloads, and their size", (txSize) => {
    for (const seed of [1, 9]) {
      const options = { seed, txPerBatch: 3, txSize, batches: 5, rate: Number.POSITIVE_INFINITY }
      const expected = reference(options)
      expect(Synthetic.pregenerate(options)).toEqual(expected)
      expect(Synthetic.syntheticBatchBytes(options)).toBe(expected[0]!.length)
      // A share that starts mid-workload: the generator jumps ahead instead of walking.
      expect(Synthetic.generateShare({ ...options, from: 2, count: 3 })).toEqual(expected.slice(2))
    }
  })

  it("streams the same batches as it pre-generates", async () => {
    const options = { seed: 3, txPerBatch: 4, txSize: 650, batches: 40, rate: Number.POSITIVE_INFINITY }
    const streamed: Array<Uint8Array> = []
    const source = Synthetic.synthetic(options)
    for (let run = await source.next(); run.done !== true; run = await source.next()) streamed.push(...run.value)
    expect(streamed).toEqual(reference(options))
  })
})

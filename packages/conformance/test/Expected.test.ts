import * as fs from "node:fs"
import * as path from "node:path"
import { Envelope, FrameEncoder } from "@txlane/protocol"
import { describe, expect, it } from "vitest"
import * as Expected from "../src/harness/Expected.js"
import { packageRoot } from "../src/harness/Peers.js"
import { envelopeOfSize, receiverVectors } from "../src/harness/Scenarios.js"

interface WorkloadDigest {
  readonly type: string
  readonly name: string
  readonly seed: string
  readonly batches: string
  readonly txPerBatch: string
  readonly txSize: string
  readonly transactions: string
  readonly digest: string
}

const workloadVectors = (
  JSON.parse(fs.readFileSync(path.join(packageRoot, "..", "protocol", "vectors", "workload.json"), "utf8")) as {
    vectors: ReadonlyArray<WorkloadDigest>
  }
).vectors.filter((v) => v.type === "workload-digest")

describe("expectation", () => {
  it.each(workloadVectors.map((v) => [v.name, v] as const))("matches the pinned %s", (_, v) => {
    const e = Expected.expectation({
      seed: BigInt(v.seed),
      batches: Number(v.batches),
      txPerBatch: Number(v.txPerBatch),
      txSize: Number(v.txSize)
    })
    expect(e.transactions).toBe(Number(v.transactions))
    expect(e.digest).toBe(v.digest)
  })

  it("knows the size of one batch's payload", () => {
    const e = Expected.expectation({ seed: 1n, batches: 3, txPerBatch: 2, txSize: 650 })
    expect(e.batchPayloadBytes).toBe(2 * (1 + 2 + 650))
    expect(e.bytes).toBe(3 * e.batchPayloadBytes)
  })
})

describe("coverage", () => {
  const params = { seed: 5n, batches: 4, txPerBatch: 3, txSize: 300 }
  const keys = Expected.keys(params)

  it("counts missing, duplicated and foreign transactions", async () => {
    const { Workload } = await import("@txlane/protocol/testing")
    const all = [...Workload.batches(params)].flat()
    expect(Expected.coverage(keys, all)).toEqual({ missing: 0, duplicates: 0, unexpected: 0 })
    expect(Expected.coverage(keys, [...all, all[0]!, all[0]!, all[5]!])).toEqual({
      missing: 0,
      duplicates: 3,
      unexpected: 0
    })
    expect(Expected.coverage(keys, [...all.slice(2), new Uint8Array([1])])).toEqual({
      missing: 2,
      duplicates: 0,
      unexpected: 1
    })
  })

  it("reads a --record file written across incarnations", () => {
    const dir = fs.mkdtempSync("/tmp/txl-test-")
    try {
      const file = path.join(dir, "record.bin")
      const a = [new Uint8Array([1, 2]), new Uint8Array([3])]
      const b = [new Uint8Array([4])]
      fs.appendFileSync(file, FrameEncoder.concat([Envelope.encode(a)]))
      fs.appendFileSync(file, FrameEncoder.concat([Envelope.encode(b)]))
      const record = Expected.readRecord(file)
      expect(record.frames).toBe(2)
      expect(record.error).toBeUndefined()
      expect(record.transactions.map((t) => [...t])).toEqual([[1, 2], [3], [4]])
      fs.appendFileSync(file, new Uint8Array([0, 0, 0, 9, 1]))
      expect(Expected.readRecord(file).error).toMatch(/record file/)
      expect(Expected.readRecord(path.join(dir, "absent")).frames).toBe(0)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("scenario building blocks", () => {
  it.each([3, 100, 129, 131, 4096, 4097])("envelopeOfSize(%i) is exactly that many bytes", (size) => {
    expect(envelopeOfSize(size).payload.length).toBe(size)
  })

  it("finds the receiver vectors", () => {
    expect(receiverVectors().map((v) => v.name)).toContain("oversize-closes")
  })
})

/**
 * The record reader the fault tests rely on: a frame torn by a SIGKILL is tolerated at the end
 * of a killed receiver's file only (the failure CI once hit was such a tail read out of step).
 *
 * @module
 */
import * as Fs from "node:fs"
import { Envelope, FrameEncoder } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { afterAll, describe, expect, it } from "vitest"
import { batchKey, incarnations, readRecord } from "./lib/record.js"
import { cleanupTempDirs, tempDir } from "./lib/util.js"

afterAll(cleanupTempDirs)

describe("record files", () => {
  const [a, b, c] = [...Workload.batches({ batches: 3, txPerBatch: 10, txSize: 200, seed: 1 })].map((txs) => ({
    key: batchKey(txs),
    bytes: Buffer.from(FrameEncoder.concat([Envelope.encode(txs)]))
  }))
  if (a === undefined || b === undefined || c === undefined) throw new Error("workload gave fewer than 3 batches")
  const torn = Buffer.concat([a.bytes, b.bytes.subarray(0, 1223)])

  it("a torn last frame is dropped in a killed receiver's file and is an error in any other", () => {
    const path = `${tempDir()}/record.bin`
    Fs.writeFileSync(path, torn)
    const recorded = readRecord(path, { killed: true })
    expect([...recorded.counts.keys()]).toEqual([a.key])
    expect(recorded.tornTails).toBe(1)
    expect(() => readRecord(path, { killed: false })).toThrow(/ended inside a frame/)
  })

  it("one file per incarnation keeps frames after a torn tail readable; counts merge", () => {
    const records = incarnations(tempDir())
    const first = records.next()
    Fs.writeFileSync(first.record, torn)
    first.killed = true
    Fs.writeFileSync(records.next().record, Buffer.concat([b.bytes, c.bytes, a.bytes]))
    const merged = records.read()
    expect(merged.frames).toBe(4)
    expect(merged.tornTails).toBe(1)
    expect(Object.fromEntries(merged.counts)).toEqual({ [a.key]: 2, [b.key]: 1, [c.key]: 1 })
  })

  it("appending after a torn frame in one file is what breaks the read", () => {
    const path = `${tempDir()}/record.bin`
    Fs.writeFileSync(path, Buffer.concat([torn, c.bytes, a.bytes]))
    expect(() => readRecord(path, { killed: true })).toThrow(/malformed envelope/)
  })
})

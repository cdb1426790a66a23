/**
 * Admission per frame (issue 12): frames are taken out of a read one at a time, only when there
 * is room, and what is left of the read waits. These pin the edges of that: a read of thousands
 * of frames is submitted whole and in order; a connection reset with frames still undecoded
 * still has them submitted (under admission) and its trailing partial frame counted and freed.
 */
import * as Net from "node:net"
import { afterAll, afterEach, expect, it } from "vitest"
import { createReceiver, type ReceiverHandle } from "../src/index.js"
import { Client, cleanupTempDirs, frames, tempSocketPath, waitFor } from "./helpers.js"

const open: Array<ReceiverHandle> = []
afterEach(async () => {
  await Promise.all(open.splice(0).map((r) => r.close({ timeoutMs: 1000 })))
})
afterAll(cleanupTempDirs)

const tx = (i: number) => new Uint8Array([0x0a, 0x02, i & 0xff, (i >> 8) & 0xff]) // one 2-byte transaction

const start = async (submitted: Array<number>, delayMs = 0, listen = tempSocketPath()) => {
  const r = await createReceiver({
    listen,
    logLevel: "none",
    queueCapacity: 16,
    connectionQueueCapacity: 4,
    // These tests assert submission order, which only per-connection ordering promises.
    ordering: "per-connection",
    submit: async ({ transactions }) => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs))
      const t = transactions[0]!
      submitted.push(t[0]! | (t[1]! << 8))
      return {}
    }
  })
  open.push(r)
  return r
}

it("a single read of 5,000 frames is admitted a few at a time: all submitted once, in order, all answered", async () => {
  const submitted: Array<number> = []
  const r = await start(submitted)
  const client = await Client.connect(r.address)
  client.write(frames(...Array.from({ length: 5000 }, (_, i) => tx(i))))
  const responses = await client.awaitResponses(5000, 20_000)
  expect(responses.every((x) => x.success)).toBe(true)
  expect(submitted).toEqual(Array.from({ length: 5000 }, (_, i) => i))
  client.destroy()
  await waitFor(() => r.stats().connectionsOpen === 0, 5000, "closed")
  expect(r.stats().bufferedBytes).toBe(0)
  expect(r.stats().queuedFrames).toBe(0)
})

it("a reset with frames undecoded: they are still submitted, the partial frame is counted and its memory freed", async () => {
  const submitted: Array<number> = []
  // TCP: a reset is a TCP thing (a Unix socket's peer close is an EOF after the data).
  const r = await start(submitted, 2, "tcp://127.0.0.1:0")
  const port = Number(new URL(r.address.replace("tcp://", "http://")).port)
  const socket = Net.connect({ host: "127.0.0.1", port })
  await new Promise((resolve) => socket.once("connect", resolve))
  // 500 whole frames and the first half of a 501st, in one write; then a reset.
  const bytes = frames(...Array.from({ length: 501 }, (_, i) => tx(i)))
  socket.write(bytes.subarray(0, bytes.length - 4))
  await waitFor(() => r.stats().framesReceived > 0, 5000, "first frame")
  socket.resetAndDestroy()
  await waitFor(() => r.stats().connectionsOpen === 0 && r.stats().queuedFrames === 0, 20_000, "all submitted")
  await waitFor(() => r.stats().errors.TruncatedFrame === 1, 5000, "truncated counted")
  expect(submitted).toEqual(Array.from({ length: 500 }, (_, i) => i))
  expect(r.stats().bufferedBytes).toBe(0)
})

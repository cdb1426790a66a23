import { createHash } from "node:crypto"
import * as v8 from "node:v8"
import { runInNewContext } from "node:vm"
import { Envelope, Response } from "@txlane/protocol"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import { type HandlerKind, handlerKinds, startReceiver, type TestReceiver } from "./handlerKinds.js"
import { Client, cleanupTempDirs, frames, tempSocketPath } from "./helpers.js"

// 1 MiB frames arrive in many reads and are assembled into one buffer each. With
// `reuseFrameBuffers` that buffer comes from the receiver's frame pool (src/internal/framePool.ts)
// and is reused once the frame's submit has settled; without it, never.

const open: Array<TestReceiver> = []
// The handler kind of the suite running now (the suite runs once per kind, below).
let kind: HandlerKind = "promise"
const clients: Array<Client> = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(open.splice(0).map((r) => r.close({ timeoutMs: 2000 })))
})
afterAll(cleanupTempDirs)

const sha = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex")
// A 1 MiB envelope whose bytes differ from frame to frame.
const bigBatch = (n: number) =>
  Envelope.encode(
    Array.from({ length: 16 }, (_, t) => Uint8Array.from({ length: 65_536 }, (_, i) => (i * 31 + t * 7 + n) % 251))
  )

interface Seen {
  readonly digest: string
  readonly buffer: ArrayBufferLike
  /** The view itself, kept past submit. */
  readonly payload: Uint8Array
}

const start = async (
  record: Array<Seen>,
  options: { readonly async: boolean; readonly ordering?: "none"; readonly reuse: boolean }
) => {
  const receiver = await startReceiver(kind, {
    listen: tempSocketPath(),
    logLevel: "none",
    handlers: 4,
    reuseFrameBuffers: options.reuse,
    ...(options.ordering === undefined ? {} : { ordering: options.ordering }),
    submit: async ({ payload, transactions }) => {
      // Read the views while submit runs: that is when they are documented valid.
      if (options.async) await new Promise((resolve) => setImmediate(resolve))
      record.push({ digest: sha(payload), buffer: payload.buffer, payload })
      return { count: transactions.length }
    }
  })
  open.push(receiver)
  const client = await Client.connect(receiver.address)
  clients.push(client)
  return { client, receiver }
}

describe.each(handlerKinds)("large frames, %s submit", (handlerKind) => {
  beforeAll(() => {
    kind = handlerKind
  })

  it("submits every 1 MiB frame intact while many are in flight at once", async () => {
    const seen: Array<Seen> = []
    const { client, receiver } = await start(seen, { async: true, ordering: "none", reuse: true })
    const payloads = Array.from({ length: 12 }, (_, n) => bigBatch(n))
    client.write(frames(...payloads))
    const responses = await client.awaitResponses(payloads.length, 20_000)
    expect(responses).toEqual(payloads.map(() => Response.success(16)))
    expect(seen.map((s) => s.digest).sort()).toEqual(payloads.map(sha).sort())
    // Each pooled frame was charged its whole buffer while queued, and released as much.
    expect(receiver.stats().bufferedBytes).toBe(0)
  })

  const oneAtATime = async (reuse: boolean) => {
    const seen: Array<Seen> = []
    const { client } = await start(seen, { async: false, reuse })
    const payloads = Array.from({ length: 4 }, (_, n) => bigBatch(n))
    for (const [n, payload] of payloads.entries()) {
      client.write(frames(payload))
      await client.awaitResponses(n + 1, 10_000)
    }
    return { seen, payloads }
  }

  it("by default never reuses a frame's memory: a view kept past submit stays intact", async () => {
    const { seen, payloads } = await oneAtATime(false)
    expect(seen.map((s) => sha(s.payload))).toEqual(payloads.map(sha))
    expect(new Set(seen.map((s) => s.buffer)).size).toBe(payloads.length)
  })

  it("with reuseFrameBuffers, reuses a frame's buffer for a later frame once its submit has settled", async () => {
    const seen: Array<Seen> = []
    const { client } = await start(seen, { async: false, reuse: true })
    const payloads = Array.from({ length: 4 }, (_, n) => bigBatch(n))
    for (const [n, payload] of payloads.entries()) {
      client.write(frames(payload))
      await client.awaitResponses(n + 1, 10_000)
    }
    expect(seen.map((s) => s.digest)).toEqual(payloads.map(sha))
    // One frame at a time: each is assembled after the previous one was released.
    expect(new Set(seen.map((s) => s.buffer)).size).toBe(1)
  })

  it("once a frame is answered, nothing of the receiver keeps its memory (handlers hold nothing while they wait)", async () => {
    // A full collection on demand, in this worker only.
    v8.setFlagsFromString("--expose-gc")
    const gc = runInNewContext("gc") as () => void
    const HANDLERS = 4
    // Weak references to every frame's buffer, taken in submit; submit keeps nothing else.
    const buffers: Array<WeakRef<ArrayBufferLike>> = []
    let release: () => void = () => undefined
    const allIn = new Promise<void>((resolve) => {
      release = resolve
    })
    const receiver = await startReceiver(kind, {
      listen: tempSocketPath(),
      logLevel: "none",
      handlers: HANDLERS,
      submit: async ({ payload, transactions }) => {
        buffers.push(new WeakRef(payload.buffer))
        // Every handler holds a frame at once, so each of them has had one when they all wait again.
        if (buffers.length === HANDLERS) release()
        await allIn
        return { count: transactions.length }
      }
    })
    open.push(receiver)
    const client = await Client.connect(receiver.address)
    clients.push(client)
    client.write(frames(...Array.from({ length: HANDLERS }, (_, n) => bigBatch(n))))
    await client.awaitResponses(HANDLERS, 10_000)
    expect(client.responses).toEqual(Array.from({ length: HANDLERS }, () => Response.success(16)))
    // Let the handlers go back to waiting on the queue, then collect.
    await new Promise((resolve) => setTimeout(resolve, 20))
    gc()
    await new Promise((resolve) => setImmediate(resolve))
    gc()
    expect(buffers).toHaveLength(HANDLERS)
    expect(buffers.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
  })
})

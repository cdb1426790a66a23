import { setTimeout as sleep } from "node:timers/promises"
import { Envelope, Response } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import * as fc from "fast-check"
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest"
import type { CreateReceiverOptions, InputError } from "../src/index.js"
import { type HandlerKind, handlerKinds, startReceiver, type TestReceiver } from "./handlerKinds.js"
import { Client, cleanupTempDirs, frames, header, tempSocketPath, waitFor } from "./helpers.js"

const open: Array<TestReceiver> = []
// The handler kind of the suite running now (every suite runs once per kind, below).
let kind: HandlerKind = "promise"
const clients: Array<Client> = []

const start = async (options: Partial<CreateReceiverOptions> & Pick<CreateReceiverOptions, "submit">) => {
  const receiver = await startReceiver(kind, { listen: tempSocketPath(), logLevel: "none", ...options })
  open.push(receiver)
  return receiver
}
const connect = async (address: string) => {
  const client = await Client.connect(address)
  clients.push(client)
  return client
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  await Promise.all(open.splice(0).map((r) => r.close({ timeoutMs: 2000 })))
})
afterAll(cleanupTempDirs)

const tx = (text: string) => new TextEncoder().encode(text)
const batch = (...texts: Array<string>) => Envelope.encode(texts.map(tx))
const ok = (count: number) => Response.success(count)
const err = (text: string) => Response.failure(text)

/** A well-behaved connection: one valid frame, one success response. */
const healthy = async (address: string, count = 2) => {
  const client = await connect(address)
  client.write(frames(batch("a", "b")))
  expect(await client.awaitResponses(1)).toEqual([ok(count)])
  client.destroy()
}

/**
 * `connections` clients of `frames` distinct batches each (2 × 200 B, from `seed` on): `record`
 * is called by `submit` and says which client and batch index a frame is (keyed by its first
 * transaction, unique since it holds random bytes); `run` connects, writes every stream and
 * waits for every answer; `expectEachOnce` checks that every frame was submitted exactly once.
 */
const manyConnections = (connections: number, frameCount: number, seed: number) => {
  const origin = new Map<string, { client: number; index: number }>()
  const sent = Digest.make()
  const streams: Array<Buffer> = []
  for (let c = 0; c < connections; c++) {
    const payloads: Array<Uint8Array> = []
    let index = 0
    for (const txs of Workload.batches({ batches: frameCount, txPerBatch: 2, txSize: 200, seed: seed + c })) {
      origin.set(Buffer.from(txs[0]!).toString("hex"), { client: c, index: index++ })
      sent.addAll(txs)
      payloads.push(Envelope.encode(txs))
    }
    streams.push(frames(...payloads))
  }
  const received = Digest.make()
  const seen = new Set<string>()
  // Frames submitted a second time; asserted after the run (an expect in submit would only fail the submit).
  const resubmitted: Array<string> = []
  return {
    record: (transactions: ReadonlyArray<Uint8Array>) => {
      received.addAll(transactions)
      const key = Buffer.from(transactions[0]!).toString("hex")
      if (seen.has(key)) resubmitted.push(key)
      seen.add(key)
      return origin.get(key)!
    },
    run: async (address: string) => {
      const cs = await Promise.all(streams.map(() => connect(address)))
      for (const [i, c] of cs.entries()) c.write(streams[i]!)
      await Promise.all(cs.map((c) => c.awaitResponses(frameCount, 20_000)))
      return cs
    },
    expectEachOnce: () => {
      expect(resubmitted).toEqual([])
      expect(seen.size).toBe(connections * frameCount)
      expect(received.value).toBe(sent.value)
      expect(received.count).toBe(sent.count)
    }
  }
}

describe.each(handlerKinds)("%s submit", (handlerKind) => {
  beforeAll(() => {
    kind = handlerKind
  })

  describe("many connections", () => {
    it("64 connections x 1,000 frames: each frame submitted once, per-connection order kept, digests equal", async () => {
      const CONNECTIONS = 64
      const FRAMES = 1000
      const load = manyConnections(CONNECTIONS, FRAMES, 1)
      const order = new Map<number, Array<{ client: number; index: number }>>()
      const receiver = await start({
        ordering: "per-connection",
        submit: async ({ transactions, connectionId }) => {
          const from = load.record(transactions)
          let list = order.get(connectionId)
          if (list === undefined) {
            list = []
            order.set(connectionId, list)
          }
          list.push(from)
          return { count: transactions.length }
        }
      })
      const cs = await load.run(receiver.address)
      for (const c of cs) expect(c.responses.every((r) => r.success && r.count === 2)).toBe(true)
      load.expectEachOnce()
      expect(order.size).toBe(CONNECTIONS)
      for (const list of order.values()) {
        expect(list).toHaveLength(FRAMES)
        expect(list.every((o, i) => o.client === list[0]!.client && o.index === i)).toBe(true)
      }
      const stats = receiver.stats()
      expect(stats.framesSubmitted).toBe(CONNECTIONS * FRAMES)
      expect(stats.transactionsAccepted).toBe(CONNECTIONS * FRAMES * 2)
      expect(stats.queuedFrames).toBe(0)
      expect(stats.bufferedBytes).toBe(0)
    })

    it("default ordering (none), 32 connections x 500 frames finishing out of order: each submitted once, every answer in request order with its own count", async () => {
      const CONNECTIONS = 32
      const FRAMES = 500
      const load = manyConnections(CONNECTIONS, FRAMES, 1000)
      // The answer's count names the frame (index % 7 + 1), so an answer written for the wrong
      // request shows; submits settle synchronously, on a microtask, on a later turn or after a
      // timer, so a connection's frames finish out of order.
      const countOf = (index: number) => (index % 7) + 1
      // Submits of one connection running at once (the most seen): "none" lets them overlap.
      const running = new Map<number, number>()
      let maxRunningOfOne = 0
      const receiver = await start({
        // Small per-connection queues: connections pause and resume throughout.
        connectionQueueCapacity: 8,
        submit: ({ transactions, connectionId }) => {
          const { index } = load.record(transactions)
          const result = { count: countOf(index) }
          switch (index % 4) {
            case 0:
              return result
            case 1:
              return Promise.resolve(result)
            default: {
              const now = (running.get(connectionId) ?? 0) + 1
              running.set(connectionId, now)
              maxRunningOfOne = Math.max(maxRunningOfOne, now)
              const settle = (resolve: (r: typeof result) => void) => {
                running.set(connectionId, running.get(connectionId)! - 1)
                resolve(result)
              }
              return new Promise((resolve) =>
                index % 4 === 2 ? setImmediate(() => settle(resolve)) : setTimeout(() => settle(resolve), 1)
              )
            }
          }
        }
      })
      const cs = await load.run(receiver.address)
      for (const c of cs) expect(c.responses).toEqual(Array.from({ length: FRAMES }, (_, i) => ok(countOf(i))))
      load.expectEachOnce()
      expect(maxRunningOfOne).toBeGreaterThan(1)
      const stats = receiver.stats()
      expect(stats.framesSubmitted).toBe(CONNECTIONS * FRAMES)
      expect(stats.queuedFrames).toBe(0)
      expect(stats.bufferedBytes).toBe(0)
      expect(stats.connectionsPaused).toBe(0)
    })
  })

  describe("startup", () => {
    it("clients that connect the moment the socket file appears are served, and the close finds nothing stranded", async () => {
      // A restarted receiver meets senders that retry without pause (the Go peer's reconnect
      // after a kill): they connect as soon as the path is linked, while the receiver is still
      // finishing its start. Frames read then were once queued for handlers that did not exist yet.
      const path = tempSocketPath()
      const CLIENTS = 4
      const giveUpAt = Date.now() + 5000
      const early = Array.from({ length: CLIENTS }, async () => {
        while (Date.now() < giveUpAt) {
          const client = await Client.connect(path).catch(() => undefined)
          if (client !== undefined) {
            clients.push(client)
            client.write(frames(batch("a", "b"), batch("c")))
            return client
          }
          await new Promise((resolve) => setImmediate(resolve))
        }
        throw new Error("the receiver's socket never accepted a connection")
      })
      const receiver = await startReceiver(kind, { listen: path, logLevel: "none", submit: async () => undefined })
      for (const client of await Promise.all(early))
        expect(await client.awaitResponses(2, 2000)).toEqual([ok(2), ok(1)])
      for (const client of clients) client.destroy()
      const report = await receiver.close({ timeoutMs: 2000 })
      expect(report.timedOut).toBe(false)
      expect(receiver.stats().framesSubmitted).toBe(CLIENTS * 2)
    })
  })

  describe("bad input, json mode (SPEC §6)", () => {
    const recording = () => {
      const errors: Array<InputError> = []
      return { errors, onInputError: (e: InputError) => errors.push(e) }
    }

    it("oversize header: error response after earlier responses, then close; others unaffected", async () => {
      const rec = recording()
      const receiver = await start({ maxFrameBytes: 1024, submit: async () => ({}), onInputError: rec.onInputError })
      const bad = await connect(receiver.address)
      bad.write(Buffer.concat([frames(batch("x")), header(1025), Buffer.alloc(1025)]))
      await bad.awaitServerClose()
      expect(bad.responses).toEqual([ok(1), err("Transaction too large: 1025 bytes (max: 1024)")])
      expect(rec.errors.map((e) => e._tag)).toEqual(["FrameTooLarge"])
      expect(rec.errors[0]).toMatchObject({ length: 1025, max: 1024 })
      await healthy(receiver.address)
      expect(receiver.stats().errors.FrameTooLarge).toBe(1)
    })

    it("a header announcing 4 GiB - 1 with the default limit", async () => {
      const receiver = await start({ submit: async () => ({}) })
      const bad = await connect(receiver.address)
      bad.write(header(0xffff_ffff))
      await bad.awaitServerClose()
      expect(bad.responses).toEqual([err("Transaction too large: 4294967295 bytes (max: 10485760)")])
      expect(receiver.stats().bufferedBytes).toBe(0)
      await healthy(receiver.address)
    })

    it("malformed envelope: error response, connection stays open", async () => {
      const rec = recording()
      const receiver = await start({ submit: async () => ({}), onInputError: rec.onInputError })
      const client = await connect(receiver.address)
      const good = await connect(receiver.address)
      client.write(frames(new Uint8Array([0x08, 0x01]), batch("after")))
      good.write(frames(batch("g")))
      expect(await client.awaitResponses(2)).toEqual([
        err("Invalid Transactions protobuf: field 1 has wire type 0, want 2 at offset 0"),
        ok(1)
      ])
      expect(await good.awaitResponses(1)).toEqual([ok(1)])
      expect(client.closed || client.ended).toBe(false)
      expect(rec.errors.map((e) => e._tag)).toEqual(["MalformedEnvelope"])
    })

    it("a malformed frame queued behind a busy handler is reported and answered in its turn, not when read", async () => {
      // Envelopes are decoded as frames are read (DECODE_AHEAD_LIMIT); what a decode finds must
      // still come out in frame order, when a handler reaches the frame.
      let open!: () => void
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      const rec = recording()
      const submitted: Array<string> = []
      const receiver = await start({
        handlers: 1,
        onInputError: rec.onInputError,
        submit: async ({ transactions }) => {
          submitted.push(new TextDecoder().decode(transactions[0]))
          await gate
          return {}
        }
      })
      const client = await connect(receiver.address)
      client.write(frames(batch("first"), new Uint8Array([0x08, 0x01]), batch("third")))
      await waitFor(() => receiver.stats().queuedFrames === 3, 2000, "all three frames read")
      expect(rec.errors).toEqual([])
      expect(client.responses).toEqual([])
      open()
      expect(await client.awaitResponses(3)).toEqual([
        ok(1),
        err("Invalid Transactions protobuf: field 1 has wire type 0, want 2 at offset 0"),
        ok(1)
      ])
      expect(submitted).toEqual(["first", "third"])
      expect(rec.errors.map((e) => e._tag)).toEqual(["MalformedEnvelope"])
    })

    it("frames of many tiny transactions, past the decode-ahead bound, are all submitted whole", async () => {
      // 4 frames × 40,000 one-byte transactions: 160,000 views, over DECODE_AHEAD_LIMIT (65,536),
      // so some frames are decoded as they are read and the rest when their handler takes them.
      let open!: () => void
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      const counts: Array<number> = []
      const receiver = await start({
        handlers: 1,
        submit: async ({ transactions }) => {
          counts.push(transactions.length)
          await gate
          return {}
        }
      })
      const client = await connect(receiver.address)
      const tiny = Array.from({ length: 40_000 }, (_, i) => new Uint8Array([i & 0xff]))
      client.write(frames(...Array.from({ length: 4 }, () => Envelope.encode(tiny))))
      await waitFor(() => receiver.stats().queuedFrames === 4, 5000, "all four frames read")
      open()
      expect(await client.awaitResponses(4, 10_000)).toEqual([ok(40_000), ok(40_000), ok(40_000), ok(40_000)])
      expect(counts).toEqual([40_000, 40_000, 40_000, 40_000])
      expect(receiver.stats().transactionsAccepted).toBe(160_000)
    })

    it("zero-length frame and zero-transaction envelope: Empty Transactions message, never submitted", async () => {
      let submits = 0
      const receiver = await start({
        submit: async () => {
          submits++
          return {}
        }
      })
      const client = await connect(receiver.address)
      // An envelope holding only an unknown field (2: varint 1) decodes to zero transactions.
      client.write(frames(new Uint8Array(0), new Uint8Array([0x10, 0x01]), batch("z")))
      expect(await client.awaitResponses(3)).toEqual([
        err("Empty Transactions message"),
        err("Empty Transactions message"),
        ok(1)
      ])
      expect(submits).toBe(1)
      expect(receiver.stats().errors.EmptyFrame).toBe(2)
    })

    it("end of stream inside a frame: TruncatedFrame counted, partial discarded, earlier frames answered", async () => {
      const rec = recording()
      const submitted: Array<string> = []
      const receiver = await start({
        submit: async ({ transactions }) => {
          submitted.push(new TextDecoder().decode(transactions[0]))
          return {}
        },
        onInputError: rec.onInputError
      })
      const client = await connect(receiver.address)
      client.write(Buffer.concat([frames(batch("first")), header(100), Buffer.alloc(10)]))
      client.socket.end()
      await client.awaitServerClose()
      expect(client.responses).toEqual([ok(1)])
      expect(submitted).toEqual(["first"])
      expect(rec.errors).toHaveLength(1)
      expect(rec.errors[0]).toMatchObject({ _tag: "TruncatedFrame", expected: 104, received: 14 })
      await healthy(receiver.address)
    })

    it("submit rejecting or throwing: error response, connection and receiver keep running", async () => {
      const rec = recording()
      const receiver = await start({
        submit: ({ transactions }) => {
          const text = new TextDecoder().decode(transactions[0])
          if (text === "reject") return Promise.reject(new Error("consensus not ready"))
          if (text === "throw") throw new Error("kaput")
          return Promise.resolve({ count: 7 })
        },
        onInputError: rec.onInputError
      })
      const client = await connect(receiver.address)
      client.write(frames(batch("reject"), batch("throw"), batch("fine")))
      expect(await client.awaitResponses(3)).toEqual([
        err("Transaction submission failed: consensus not ready"),
        err("Transaction submission failed: kaput"),
        ok(7)
      ])
      expect(rec.errors.map((e) => e._tag)).toEqual(["SubmitFailed", "SubmitFailed"])
      await healthy(receiver.address, 7)
    })

    it("a submit result that breaks when read, or a thenable whose then throws: answered, nothing else lost", async () => {
      const rec = recording()
      const receiver = await start({
        submit: ({ transactions }) => {
          const text = new TextDecoder().decode(transactions[0])
          if (text === "count") {
            // A successful submit whose count cannot be read: the count defaults, as for a bad one.
            return Promise.resolve(
              Object.defineProperty({}, "count", {
                get() {
                  throw new Error("no count")
                }
              })
            )
          }
          if (text === "then") {
            const thenable = {
              // biome-ignore lint/suspicious/noThenProperty: a broken thenable is what this test submits
              then() {
                throw new Error("broken then")
              }
            }
            return thenable as unknown as Promise<undefined>
          }
          return { count: 7 }
        },
        onInputError: rec.onInputError
      })
      const client = await connect(receiver.address)
      client.write(frames(batch("count", "x"), batch("then"), batch("fine")))
      expect(await client.awaitResponses(3)).toEqual([ok(2), err("Transaction submission failed: broken then"), ok(7)])
      expect(rec.errors.map((e) => e._tag)).toEqual(["SubmitFailed"])
      await healthy(receiver.address, 7)
    })

    it("maxConnections: excess connections closed at once and counted", async () => {
      const rec = recording()
      const receiver = await start({ maxConnections: 2, submit: async () => ({}), onInputError: rec.onInputError })
      const a = await connect(receiver.address)
      const b = await connect(receiver.address)
      await waitFor(() => receiver.stats().connectionsOpen === 2)
      const c = await connect(receiver.address)
      await c.awaitServerClose()
      expect(c.responses).toEqual([])
      expect(receiver.stats().connectionsRejected).toBe(1)
      expect(rec.errors.map((e) => e._tag)).toEqual(["ConnectionRejected"])
      a.write(frames(batch("a")))
      b.write(frames(batch("b")))
      expect(await a.awaitResponses(1)).toEqual([ok(1)])
      expect(await b.awaitResponses(1)).toEqual([ok(1)])
    })
  })

  describe("modes", () => {
    it("respond none: no bytes are written back; bad frames are counted and ignored", async () => {
      const submitted: Array<number> = []
      const receiver = await start({
        respond: "none",
        maxFrameBytes: 64,
        submit: async ({ transactions }) => {
          submitted.push(transactions.length)
        }
      })
      const client = await connect(receiver.address)
      client.write(frames(batch("a"), new Uint8Array(0), new Uint8Array([0xff]), batch("b", "c")))
      await waitFor(() => submitted.length === 2)
      client.write(header(65))
      await client.awaitServerClose()
      expect(submitted).toEqual([1, 2])
      expect(client.responses).toEqual([])
      expect(client.decoder.bufferedBytes).toBe(0)
      const { errors } = receiver.stats()
      expect([errors.EmptyFrame, errors.MalformedEnvelope, errors.FrameTooLarge]).toEqual([1, 1, 1])
    })

    it("payload raw: the payload is submitted as is; count defaults to 1", async () => {
      const payloads: Array<string> = []
      const receiver = await start({
        payload: "raw",
        submit: async ({ transactions, payload }) => {
          expect(transactions).toEqual([payload])
          payloads.push(new TextDecoder().decode(payload))
        }
      })
      const client = await connect(receiver.address)
      client.write(frames(tx("not protobuf \xff"), new Uint8Array(0)))
      expect(await client.awaitResponses(2)).toEqual([ok(1), err("Empty Transactions message")])
      expect(payloads).toEqual(["not protobuf \xff"])
    })

    it("ordering none: one connection's frames run in parallel, responses stay in request order", async () => {
      let running = 0
      let maxRunning = 0
      const receiver = await start({
        payload: "raw",
        ordering: "none",
        handlers: 8,
        submit: async ({ payload }) => {
          running++
          maxRunning = Math.max(maxRunning, running)
          const index = payload[0]!
          // Later frames finish first.
          await new Promise((r) => setTimeout(r, 40 - index))
          running--
          return { count: index }
        }
      })
      const client = await connect(receiver.address)
      const N = 32
      client.write(frames(...Array.from({ length: N }, (_, i) => new Uint8Array([i]))))
      const responses = await client.awaitResponses(N)
      expect(responses.map((r) => r.count)).toEqual(Array.from({ length: N }, (_, i) => i))
      expect(maxRunning).toBeGreaterThan(1)
    })

    it("ordering none: a connection with many frames queued does not get ahead of another connection's frame", async () => {
      let open!: () => void
      const gate = new Promise<void>((resolve) => {
        open = resolve
      })
      const order: Array<string> = []
      const receiver = await start({
        payload: "raw",
        ordering: "none",
        handlers: 1,
        // Room for the busy connection's 20 frames (the default is 16).
        connectionQueueCapacity: 32,
        submit: async ({ payload }) => {
          order.push(`${String.fromCharCode(payload[0]!)}${payload[1]}`)
          await gate
        }
      })
      const busy = await connect(receiver.address)
      busy.write(frames(...Array.from({ length: 20 }, (_, i) => new Uint8Array([0x61, i]))))
      await waitFor(() => receiver.stats().queuedFrames === 20, 2000, "20 frames of the busy connection queued")
      const other = await connect(receiver.address)
      other.write(frames(new Uint8Array([0x62, 0])))
      await waitFor(() => receiver.stats().queuedFrames === 21, 2000, "the other connection's frame queued")
      open()
      await Promise.all([busy.awaitResponses(20), other.awaitResponses(1)])
      // One job per connection in the shared queue: b0 was queued behind a1 (a0 had been taken),
      // not behind all 19 waiting frames of the busy connection.
      expect(order.slice(0, 3)).toEqual(["a0", "a1", "b0"])
    })

    it("ordering per-connection: at most one frame of a connection is being submitted at a time", async () => {
      let running = 0
      let maxRunning = 0
      const receiver = await start({
        payload: "raw",
        ordering: "per-connection",
        handlers: 8,
        submit: async () => {
          running++
          maxRunning = Math.max(maxRunning, running)
          await new Promise((r) => setTimeout(r, 2))
          running--
        }
      })
      const client = await connect(receiver.address)
      client.write(frames(...Array.from({ length: 20 }, (_, i) => new Uint8Array([i]))))
      await client.awaitResponses(20)
      expect(maxRunning).toBe(1)
    })

    it("listens on TCP (port 0 → the actual port in address)", async () => {
      const receiver = await start({ listen: "tcp://127.0.0.1:0", submit: async () => ({}) })
      expect(receiver.address).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/)
      expect(receiver.address).not.toBe("tcp://127.0.0.1:0")
      const client = await connect(receiver.address)
      client.write(frames(batch("a"), batch("b", "c")))
      expect(await client.awaitResponses(2)).toEqual([ok(1), ok(2)])
      client.write(header(0xffff_fff0))
      await client.awaitServerClose()
      expect(client.responses[2]).toEqual(err("Transaction too large: 4294967280 bytes (max: 10485760)"))
    })
  })

  describe("hostile input", () => {
    it("random byte streams from random connections never crash the receiver (property)", async () => {
      const receiver = await start({ maxFrameBytes: 256, frameTimeoutMs: 200, lingerMs: 50, submit: async () => ({}) })
      const stream = fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 6 })
      await fc.assert(
        fc.asyncProperty(fc.array(fc.tuple(stream, fc.boolean()), { minLength: 1, maxLength: 4 }), async (conns) => {
          const cs = await Promise.all(conns.map(() => connect(receiver.address)))
          for (const [i, [chunks, abort]] of conns.entries()) {
            for (const chunk of chunks) cs[i]!.write(chunk)
            if (abort) cs[i]!.destroy()
            else cs[i]!.socket.end()
          }
          await Promise.all(cs.map((c) => c.awaitServerClose(3000)))
          await waitFor(() => receiver.stats().connectionsOpen === 0, 3000, "all closed")
          await healthy(receiver.address)
          await waitFor(() => receiver.stats().queuedFrames === 0 && receiver.stats().bufferedBytes === 0)
        }),
        { numRuns: 40, seed: 20240601 }
      )
    })
  })

  describe("backpressure", () => {
    it("a connection paused at its queue limit reads again only once its queue is below half of it", async () => {
      // 32 KiB frames: a socket read holds about two, so what the receiver reads shows when it
      // resumed reading. The connection's submits run one at a time, each released by the test.
      const releases: Array<() => void> = []
      const receiver = await start({
        connectionQueueCapacity: 8,
        submit: () => new Promise<undefined>((resolve) => releases.push(() => resolve(undefined)))
      })
      const releaseOne = async () => {
        await waitFor(() => releases.length > 0)
        releases.shift()!()
      }
      const payload = Envelope.encode(Workload.batches({ batches: 1, txPerBatch: 50 }).next().value!)
      const client = await connect(receiver.address)
      client.write(frames(...Array.from({ length: 64 }, () => payload)))
      await waitFor(() => receiver.stats().queuedFrames === 8 && receiver.stats().connectionsPaused === 1)
      const received = receiver.stats().framesReceived
      // Four frames finish: what was already read in may still be admitted, but nothing new is read.
      for (let i = 0; i < 4; i++) {
        await releaseOne()
        await sleep(50)
      }
      expect(receiver.stats().connectionsPaused).toBe(1)
      const afterFour = receiver.stats().framesReceived
      expect(afterFour - received).toBeLessThanOrEqual(2)
      // Below half of its limit, it reads again and fills its queue back up.
      while (receiver.stats().queuedFrames >= 4) await releaseOne()
      await waitFor(() => receiver.stats().queuedFrames === 8)
      expect(receiver.stats().framesReceived).toBeGreaterThanOrEqual(afterFour + 4)
      // Release the rest as they come (a released submit is counted a few ticks later).
      await waitFor(() => {
        for (const release of releases.splice(0)) release()
        return receiver.stats().framesSubmitted === 64
      })
      expect(await client.awaitResponses(64)).toHaveLength(64)
    })

    it("slow submit (5 ms) with fast senders: memory stays bounded and senders are pushed back", async () => {
      const MAX_BUFFERED = 1024 * 1024
      const receiver = await start({
        handlers: 2,
        queueCapacity: 64,
        connectionQueueCapacity: 8,
        maxBufferedBytes: MAX_BUFFERED,
        submit: () => new Promise((r) => setTimeout(() => r({}), 5))
      })
      const payload = Envelope.encode(Workload.batches({ batches: 1, txPerBatch: 50 }).next().value!)
      const frame = frames(payload) // ~32 KiB, the upstream shape
      const SENDERS = 4
      const cs = await Promise.all(Array.from({ length: SENDERS }, () => connect(receiver.address)))
      const baseline = process.memoryUsage()
      let blocked = 0
      let maxWritable = 0
      let maxBuffered = 0
      let maxQueued = 0
      let maxPaused = 0
      let sentBytes = 0
      const until = Date.now() + 1500
      await Promise.all(
        cs.map(async (c) => {
          while (Date.now() < until) {
            sentBytes += frame.length
            if (!c.write(frame)) {
              blocked++
              maxWritable = Math.max(maxWritable, c.socket.writableLength)
              await Promise.race([
                new Promise((r) => c.socket.once("drain", r)),
                new Promise((r) => setTimeout(r, until - Date.now()))
              ])
            }
            const s = receiver.stats()
            maxBuffered = Math.max(maxBuffered, s.bufferedBytes)
            maxQueued = Math.max(maxQueued, s.queuedFrames)
            maxPaused = Math.max(maxPaused, s.connectionsPaused)
          }
        })
      )
      const grown = process.memoryUsage()
      const stats = receiver.stats()
      // Senders were pushed back: writes returned false and the receiver took far less than was offered to it.
      expect(blocked).toBeGreaterThan(0)
      expect(maxWritable).toBeGreaterThan(0)
      expect(maxPaused).toBeGreaterThan(0)
      expect(stats.bytesReceived).toBeLessThan(sentBytes)
      // Stated bound: maxBufferedBytes + one frame per connection (admitted before pausing) + 64 KiB free partial each.
      expect(maxBuffered).toBeLessThanOrEqual(MAX_BUFFERED + SENDERS * (frame.length + 64 * 1024))
      expect(maxQueued).toBeLessThanOrEqual(64 + SENDERS * 4)
      // Whole-process growth, senders included (each holds at most a socket buffer): under 64 MiB.
      expect(grown.arrayBuffers - baseline.arrayBuffers).toBeLessThan(64 * 1024 * 1024)
      expect(grown.rss - baseline.rss).toBeLessThan(128 * 1024 * 1024)
      // Throughput is what 2 handlers x 5 ms allow, not what the senders offered.
      expect(stats.framesSubmitted).toBeLessThan((1500 / 5) * 2 + 100)
    })
  })

  describe("shutdown", () => {
    it("frames queued at close are all submitted and answered, then the connection and file are gone", async () => {
      const submitted: Array<number> = []
      const path = tempSocketPath()
      const receiver = await startReceiver(kind, {
        listen: path,
        handlers: 1,
        payload: "raw",
        logLevel: "none",
        submit: async ({ payload }) => {
          await new Promise((r) => setTimeout(r, 10))
          submitted.push(payload[0]!)
        }
      })
      const client = await connect(receiver.address)
      const N = 30
      client.write(frames(...Array.from({ length: N }, (_, i) => new Uint8Array([i]))))
      await waitFor(() => receiver.stats().framesReceived === N)
      const report = await receiver.close({ timeoutMs: 5000 })
      expect(report).toMatchObject({ timedOut: false, unsubmittedFrames: 0, interruptedSubmits: 0 })
      expect(submitted).toEqual(Array.from({ length: N }, (_, i) => i))
      await client.awaitServerClose()
      expect(client.responses).toHaveLength(N)
      expect(client.responses.every((r) => r.success)).toBe(true)
      const { existsSync } = await import("node:fs")
      expect(existsSync(path)).toBe(false)
      expect(await receiver.close()).toBe(report)
    })

    it("a submit that settles after the close deadline is dropped: not counted, not answered", async () => {
      let settle: () => void = () => undefined
      const receiver = await startReceiver(kind, {
        listen: tempSocketPath(),
        handlers: 1,
        logLevel: "none",
        submit: () => new Promise<undefined>((resolve) => (settle = () => resolve(undefined)))
      })
      const client = await connect(receiver.address)
      client.write(frames(batch("a"), batch("b")))
      await waitFor(() => receiver.stats().handlersBusy === 1 && receiver.stats().queuedFrames === 2)
      const report = await receiver.close({ timeoutMs: 100 })
      expect(report).toMatchObject({ timedOut: true, unsubmittedFrames: 2, interruptedSubmits: 1 })
      await client.awaitServerClose()
      settle()
      await sleep(20)
      expect(receiver.stats()).toMatchObject({ framesSubmitted: 0, transactionsAccepted: 0 })
      expect(client.responses).toEqual([])
    })

    it("the deadline bounds shutdown and reports what was not submitted", async () => {
      const receiver = await startReceiver(kind, {
        listen: tempSocketPath(),
        handlers: 1,
        logLevel: "none",
        submit: () => new Promise(() => {}) // never settles
      })
      const client = await connect(receiver.address)
      client.write(frames(batch("a"), batch("b"), batch("c")))
      await waitFor(() => receiver.stats().handlersBusy === 1 && receiver.stats().queuedFrames === 3)
      const started = Date.now()
      const report = await receiver.close({ timeoutMs: 200 })
      expect(Date.now() - started).toBeLessThan(2000)
      expect(report).toMatchObject({ timedOut: true, unsubmittedFrames: 3, interruptedSubmits: 1 })
      await client.awaitServerClose()
    })
  })
})

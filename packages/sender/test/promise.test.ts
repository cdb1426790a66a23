import * as fs from "node:fs"
import * as v8 from "node:v8"
import { runInNewContext } from "node:vm"
import { Envelope } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { afterEach, describe, expect, it } from "vitest"
import {
  createSender,
  FrameTooLarge,
  InvalidEndpoint,
  InvalidOptions,
  QueueFull,
  Rejected,
  RetriesExhausted,
  SenderClosed,
  type SenderHandle
} from "../src/index.js"
import { socketPath, startServer, type TestServer } from "./server.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

const server = async (options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> => {
  const s = await startServer(options)
  cleanup.push(() => s.close())
  return s
}

const sender = async (options: Parameters<typeof createSender>[0]): Promise<SenderHandle> => {
  const s = await createSender(options)
  cleanup.push(() => s.close({ timeoutMs: 1000 }))
  return s
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** `n` small realistic batches. */
const workload = (n: number, txPerBatch = 5, txSize = 200) => [...Workload.batches({ batches: n, txPerBatch, txSize })]

const digestOf = (batches: ReadonlyArray<ReadonlyArray<Uint8Array>>): string => {
  const d = Digest.make()
  for (const b of batches) d.addAll(b)
  return d.value
}

/** Digest of each batch -> its index (batches are identified by their contents). */
const batchIds = (batches: ReadonlyArray<ReadonlyArray<Uint8Array>>) =>
  new Map(batches.map((b, i) => [Digest.of(b), i]))

const receivedIds = (srv: TestServer, ids: Map<string, number>) =>
  srv.payloads.map((p) => {
    const id = ids.get(Digest.of(Envelope.decode(p).pipe((r) => (r._tag === "Success" ? r.success : []))))
    if (id === undefined) throw new Error("server received a batch that was never sent (corrupted)")
    return id
  })

describe("exact delivery", () => {
  it("20,000 batches through 8 workers arrive complete and intact (digests equal)", async () => {
    const srv = await server()
    const batches = workload(20_000, 4, 120)
    const s = await sender({ endpoint: srv.path, workers: 8 })
    for (const b of batches) await s.send(b)
    const report = await s.close({ timeoutMs: 20_000 })
    expect(report.timedOut).toBe(false)
    expect(report.undelivered).toEqual([])
    expect(report.accepted).toBe(20_000)
    expect(report.delivered).toBe(20_000)
    expect(report.unanswered).toBe(0)
    expect(srv.frames).toBe(20_000)
    expect(srv.digest.count).toBe(80_000)
    expect(srv.digest.value).toBe(digestOf(batches))
    const stats = s.stats()
    expect(stats.responses).toBe(20_000)
    expect(stats.acknowledged).toBe(20_000)
    expect(stats.connects).toBe(8)
    expect(stats.workerBusy).toHaveLength(8)
  })
})

describe("memory", () => {
  it.each(["acknowledged", "fire-and-forget"] as const)(
    "%s: once every send has resolved, no payload stays reachable from the sender",
    async (delivery) => {
      // A full collection on demand, in this worker only.
      v8.setFlagsFromString("--expose-gc")
      const gc = runInNewContext("gc") as () => void
      const srv = await server()
      const s = await sender({ endpoint: srv.path, workers: 4, delivery })
      const buffers: Array<WeakRef<ArrayBufferLike>> = []
      // The weak references are made in a job of their own: a WeakRef keeps its target alive
      // until the end of the job that made it.
      await new Promise<void>((resolve, reject) =>
        setImmediate(() => {
          const sends: Array<Promise<unknown>> = []
          for (let i = 0; i < 200; i++) {
            const payload = Envelope.encode([new Uint8Array(64 * 1024).fill(i)])
            buffers.push(new WeakRef(payload.buffer))
            sends.push(s.sendPayload(payload))
          }
          Promise.all(sends).then(() => resolve(), reject)
        })
      )
      // Fire-and-forget resolves when a batch is written: wait until the server has them all.
      for (let i = 0; i < 200 && srv.frames < 200; i++) await sleep(10)
      expect(srv.frames).toBe(200)
      await sleep(20)
      gc()
      await new Promise((resolve) => setImmediate(resolve))
      gc()
      expect(buffers.filter((ref) => ref.deref() !== undefined)).toHaveLength(0)
    }
  )
})

describe("receiver absent at start", () => {
  it("appears after 500 ms: everything is delivered (fire-and-forget)", async () => {
    const path = socketPath()
    const batches = workload(300)
    const s = await sender({ endpoint: path, workers: 4 })
    for (const b of batches) await s.send(b)
    await sleep(500)
    expect(s.stats().connectFailures).toBeGreaterThan(0)
    expect(s.stats().batchesSent).toBe(0)
    const srv = await server({ path })
    const report = await s.close({ timeoutMs: 10_000 })
    expect(report.timedOut).toBe(false)
    expect(report.undelivered).toEqual([])
    expect(report.delivered).toBe(300)
    expect(srv.digest.value).toBe(digestOf(batches))
  })

  it("appears after 500 ms: every acknowledged send resolves with its count", async () => {
    const path = socketPath()
    const batches = workload(200)
    const s = await sender({ endpoint: `unix:${path}`, workers: 2, delivery: "acknowledged" })
    const results = batches.map((b) => s.send(b))
    setTimeout(() => void server({ path }), 500)
    expect(await Promise.all(results)).toEqual(batches.map((b) => b.length))
    expect(s.stats().acknowledged).toBe(200)
  })
})

describe("a worker that cannot connect", () => {
  it("holds one batch until it connects; the connected worker delivers the rest", async () => {
    // Workers connect lazily, on their first batch. One that cannot connect (here: the socket file
    // was removed, while the established connection goes on working) once took a full write's
    // worth (up to 64 batches) with it into its reconnect loop, where they waited for as long as
    // the path was gone, however idle the connected worker was.
    const srv = await server({ respond: "json" })
    const s = await sender({ endpoint: srv.path, workers: 2, delivery: "acknowledged" })
    const [first, ...rest] = workload(101)
    await s.send(first!)
    fs.rmSync(srv.path)
    let acknowledged = 0
    for (const b of rest) {
      s.send(b).then(
        () => acknowledged++,
        () => undefined // the held batch fails when the sender closes after the test
      )
    }
    // All but the batch the unconnected worker holds: 99 of these 100.
    await srv.waitFrames(100, 5000)
    for (let waited = 0; acknowledged < 99 && waited < 2000; waited += 10) await sleep(10)
    expect(acknowledged).toBe(99)
    expect(s.stats().connectFailures).toBeGreaterThan(0)
  })
})

describe("server drops every connection after N frames", () => {
  it("acknowledged: reconnects, no loss; duplicates only from counted retries", async () => {
    const srv = await server({ dropAfter: 37 })
    const batches = workload(1_000)
    const ids = batchIds(batches)
    const s = await sender({ endpoint: srv.path, workers: 3, delivery: "acknowledged", maxInFlight: 16 })
    const counts = await Promise.all(batches.map((b) => s.send(b)))
    expect(counts).toEqual(batches.map((b) => b.length))
    const stats = s.stats()
    expect(stats.reconnects).toBeGreaterThan(0)
    const got = receivedIds(srv, ids)
    expect(new Set(got).size).toBe(1_000) // nothing lost
    expect(got.length - 1_000).toBeLessThanOrEqual(stats.retries) // every duplicate is a counted resend
    const report = await s.close()
    expect(report.undelivered).toEqual([])
    expect(report.delivered).toBe(1_000)
  })

  it("fire-and-forget: losses bounded by `unanswered`, duplicates by `retries`, all intact", async () => {
    const srv = await server({ dropAfter: 37 })
    const batches = workload(1_000)
    const ids = batchIds(batches)
    const s = await sender({ endpoint: srv.path, workers: 3 })
    for (const b of batches) await s.send(b)
    const report = await s.close({ timeoutMs: 10_000 })
    expect(report.timedOut).toBe(false)
    const got = receivedIds(srv, ids) // throws on a corrupted batch
    const unique = new Set(got).size
    const lost = 1_000 - unique
    const duplicates = got.length - unique
    expect(s.stats().reconnects).toBeGreaterThan(0)
    expect(lost).toBeLessThanOrEqual(report.unanswered)
    expect(duplicates).toBeLessThanOrEqual(report.retries)
    // Every accepted batch is accounted for: delivered, failed, or listed.
    expect(report.delivered + report.failed + report.undelivered.length).toBe(1_000)
  })
})

describe("a peer that serves one connection and closes the others at once (a receiver at maxConnections)", () => {
  it("acknowledged: every batch is delivered on the served connection, none bounced to failure", async () => {
    const srv = await server({ maxConnections: 1 })
    const batches = workload(300)
    // A small retry budget: a batch that kept bouncing on refused connections would exhaust it.
    const s = await sender({ endpoint: srv.path, workers: 3, delivery: "acknowledged", retries: 2 })
    const results = await Promise.all(batches.map((b) => s.send(b).catch((e: unknown) => e)))
    expect(results.filter((r) => typeof r !== "number")).toEqual([])
    expect(srv.accepted.value).toBe(digestOf(batches))
    expect(s.stats().failed).toBe(0)
    expect(srv.refused).toBeGreaterThan(0)
    const report = await s.close()
    expect(report.delivered).toBe(300)
    expect(report.undelivered).toEqual([])
  })

  it("sends one at a time: a refused connection is not charged to its batch while another connection is served", async () => {
    // Each worker connects with a batch in hand; a refused one hands it back, and the next
    // refused worker can take that same batch for its own first connect. With retries 1, a
    // second charge failed it (1-2 of 200 per run).
    const srv = await server({ maxConnections: 1 })
    const batches = workload(200)
    const s = await sender({ endpoint: srv.path, workers: 4, delivery: "acknowledged", retries: 1 })
    const results: Array<unknown> = []
    for (const b of batches) results.push(await s.send(b).catch((e: unknown) => e))
    expect(results.filter((r) => typeof r !== "number")).toEqual([])
    expect(srv.accepted.value).toBe(digestOf(batches))
    expect(srv.refused).toBeGreaterThan(0)
  })

  it("a full queue: a refused worker waits for room to hand its batch back, it does not bounce it to failure", async () => {
    const srv = await server({ maxConnections: 1 })
    const batches = workload(1000)
    const s = await sender({ endpoint: srv.path, workers: 3, queueCapacity: 4, overflow: "suspend", retries: 1 })
    for (const b of batches) await s.send(b) // resolves once queued: the queue stays full
    const report = await s.close({ timeoutMs: 5_000 })
    expect(report.timedOut).toBe(false)
    expect(report.failed).toBe(0)
    expect(srv.accepted.value).toBe(digestOf(batches))
    expect(srv.refused).toBeGreaterThan(0)
  })

  it("a refused connection counts as a failed connect: the worker waits on the reconnect schedule", async () => {
    const srv = await server({ maxConnections: 0 })
    const s = await sender({ endpoint: srv.path, workers: 1, delivery: "acknowledged", retries: "unbounded" })
    const pending = s.send(workload(1)[0]!).catch((e: unknown) => e)
    await sleep(400)
    // 20 ms, doubling, ±20 %: about 5 connects in 400 ms; reconnecting at once made hundreds.
    expect(srv.refused).toBeGreaterThanOrEqual(2)
    expect(srv.refused).toBeLessThanOrEqual(8)
    const report = await s.close({ timeoutMs: 100 })
    expect(report.undelivered.length).toBe(1)
    expect(await pending).toBeInstanceOf(SenderClosed)
  })

  it("fire-and-forget with responses auto: a close after reading a frame, unanswered, is a broken connection, not silence", async () => {
    // The first connection reads the frame and closes without answering (over TCP, a receiver at
    // its limit can look like this: our write completes after its FIN); the others answer, one
    // frame per connection.
    const srv = await server({ ignoreFirstConnections: 1, dropAfter: 1 })
    const batches = workload(5)
    const s = await sender({ endpoint: srv.path, workers: 1 })
    for (const b of batches) await s.send(b)
    const report = await s.close({ timeoutMs: 5_000 })
    expect(report.timedOut).toBe(false)
    const got = receivedIds(srv, batchIds(batches))
    expect(new Set(got).size).toBe(5)
    expect(got.length).toBe(6) // the first batch resent once
    expect(s.stats().acknowledged).toBe(5)
    expect(s.stats().untrackedAnswers).toBe(0)
  })

  it("fire-and-forget with responses auto: a refused connection does not make the peer look silent", async () => {
    // The served connection holds its answers until the others have been refused, so the
    // sender still does not know whether the peer answers when they close.
    const srv = await server({ maxConnections: 1, respond: "hold" })
    const batches = workload(300)
    const s = await sender({ endpoint: srv.path, workers: 3 })
    for (const b of batches.slice(0, 3)) await s.send(b)
    for (let waited = 0; srv.refused < 2 && waited < 2000; waited += 10) await sleep(10)
    expect(srv.refused).toBeGreaterThanOrEqual(2)
    await sleep(50)
    srv.release()
    for (const b of batches.slice(3)) await s.send(b)
    const report = await s.close({ timeoutMs: 5_000 })
    expect(report.timedOut).toBe(false)
    expect(report.failed).toBe(0)
    expect(srv.digest.value).toBe(digestOf(batches))
    // The peer answers every frame: each answer settled its batch, none went untracked.
    expect(s.stats().untrackedAnswers).toBe(0)
    expect(s.stats().acknowledged).toBe(300)
  })
})

describe("deadlock guard", () => {
  it("fire-and-forget against a server answering every frame with 4 KiB: 100,000 frames complete", async () => {
    const srv = await server({ responseBytes: 4096 })
    const s = await sender({ endpoint: srv.path, workers: 2 })
    const batch = workload(1, 1, 64)[0]!
    const payload = Envelope.encode(batch)
    for (let i = 0; i < 100_000; i++) await s.sendPayload(payload)
    const report = await s.close({ timeoutMs: 25_000 })
    expect(report.timedOut).toBe(false)
    expect(srv.frames).toBe(100_000)
    expect(s.stats().responses).toBe(100_000)
    expect(report.unanswered).toBe(0)
  }, 60_000)
})

describe("acknowledged mode", () => {
  it("maxInFlight bounds the unanswered frames per connection", async () => {
    // The first frame (the connection's probe) is answered; then 3 may wait for answers.
    const srv = await server({ respond: "hold", holdAfter: 1 })
    const batches = workload(10)
    const s = await sender({ endpoint: srv.path, workers: 1, delivery: "acknowledged", maxInFlight: 3 })
    const results = batches.map((b) => s.send(b))
    await srv.waitFrames(4)
    await sleep(150)
    expect(srv.frames).toBe(4)
    expect(s.stats().queued).toBe(6)
    srv.release()
    expect(await Promise.all(results)).toEqual(batches.map((b) => b.length))
    expect(srv.frames).toBe(10)
  })

  it('{"success":false} fails send with Rejected { error }', async () => {
    const srv = await server({ respond: "reject" })
    const s = await sender({ endpoint: srv.path, delivery: "acknowledged" })
    const error = await s.send(workload(1)[0]!).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(Rejected)
    expect((error as Rejected).error).toBe("Transaction submission failed: test")
    expect(s.stats().rejected).toBe(1)
  })

  it("a finite reconnect schedule that ends fails the held batches with RetriesExhausted", async () => {
    const s = await sender({
      endpoint: socketPath(),
      workers: 1,
      delivery: "acknowledged",
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxRetries: 2 }
    })
    const error = await s.send(workload(1)[0]!).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(RetriesExhausted)
    expect((error as RetriesExhausted).attempts).toBe(0)
    expect(s.stats().connectFailures).toBe(3)
  })
})

describe("fire-and-forget responses", () => {
  it('counts {"success":false} answers as rejected, not delivered, without failing send', async () => {
    const srv = await server({ respond: "reject" })
    const s = await sender({ endpoint: srv.path })
    for (const b of workload(10)) await s.send(b)
    const report = await s.close()
    expect(report.rejected).toBe(10)
    expect(report.delivered).toBe(0)
    expect(srv.frames).toBe(10)
  })
})

describe("acknowledged sends through the Promise API: refusals and the close deadline", () => {
  it('a full queue refuses at once: QueueFull with the "fail" policy, nothing queued for it', async () => {
    // Synchronous sends: no worker can take a batch before the sixth is refused.
    const s = await sender({
      endpoint: socketPath(),
      workers: 1,
      queueCapacity: 4,
      delivery: "acknowledged",
      overflow: "fail"
    })
    const sends = workload(5).map((b) => s.send(b).catch((e: unknown) => e))
    expect(await sends[4]).toBeInstanceOf(QueueFull)
    expect(s.stats().queueFull).toBe(1)
    const report = await s.close({ timeoutMs: 50 })
    expect(report.accepted).toBe(4)
    for (const r of await Promise.all(sends.slice(0, 4))) expect(r).toBeInstanceOf(SenderClosed)
  })

  it('"suspend": a send waiting for room in a full queue resolves with its count once answered', async () => {
    const srv = await server({ respond: "hold", holdAfter: 1 })
    const batches = workload(8)
    const s = await sender({
      endpoint: srv.path,
      workers: 1,
      queueCapacity: 2,
      maxInFlight: 2,
      delivery: "acknowledged",
      overflow: "suspend"
    })
    let settled = 0
    const results = batches.map((b) => s.send(b).finally(() => settled++))
    // The probe is answered, two frames wait for answers, two batches fill the queue: the rest suspend.
    await srv.waitFrames(3)
    await sleep(100)
    expect(settled).toBe(1)
    expect(s.stats().queued).toBe(2)
    expect(s.stats().accepted).toBe(5)
    srv.release()
    expect(await Promise.all(results)).toEqual(batches.map((b) => b.length))
    expect(srv.frames).toBe(8)
  })

  it("sends still waiting at the close deadline fail with SenderClosed; answered ones resolve", async () => {
    const srv = await server({ respond: "hold", holdAfter: 1 })
    const s = await sender({ endpoint: srv.path, workers: 1, delivery: "acknowledged" })
    const results = workload(6).map((b) => s.send(b).catch((e: unknown) => e))
    await srv.waitFrames(6)
    const report = await s.close({ timeoutMs: 50 })
    expect(report.undelivered.map((u) => u.state)).toEqual(Array(5).fill("unacknowledged"))
    const [first, ...rest] = await Promise.all(results)
    expect(first).toBe(5)
    for (const r of rest) expect(r).toBeInstanceOf(SenderClosed)
  })

  it("a batch written on a connection that broke is listed as unacknowledged at the close, not as never sent", async () => {
    const srv = await server({ respond: "none" })
    const s = await sender({ endpoint: srv.path, workers: 1, delivery: "acknowledged" })
    const result = s.send(workload(1)[0]!).catch((e: unknown) => e)
    await srv.waitFrames(1)
    await srv.close() // the worker holds the batch again, and cannot reconnect
    for (let waited = 0; s.stats().connectFailures === 0 && waited < 2000; waited += 10) await sleep(10)
    const report = await s.close({ timeoutMs: 50 })
    expect(report.undelivered.map((u) => u.state)).toEqual(["unacknowledged"])
    expect(await result).toBeInstanceOf(SenderClosed)
  })
})

describe("close", () => {
  it("with a non-empty queue delivers everything", async () => {
    const srv = await server()
    const batches = workload(3_000)
    const s = await sender({ endpoint: srv.path, workers: 2, queueCapacity: 5_000 })
    for (const b of batches) await s.send(b)
    expect(s.stats().queued).toBeGreaterThan(0)
    const report = await s.close({ timeoutMs: 10_000 })
    expect(report).toMatchObject({ timedOut: false, accepted: 3_000, delivered: 3_000, undelivered: [] })
    expect(srv.digest.value).toBe(digestOf(batches))
  })

  it("send after close fails with SenderClosed; close is idempotent", async () => {
    const srv = await server()
    const s = await sender({ endpoint: srv.path })
    await s.send(workload(1)[0]!)
    const first = await s.close()
    await expect(s.send(workload(1)[0]!)).rejects.toBeInstanceOf(SenderClosed)
    await expect(s.sendPayload(new Uint8Array(10))).rejects.toBeInstanceOf(SenderClosed)
    expect(await s.close()).toBe(first)
    expect(s.stats().closed).toBe(true)
  })
})

describe("bad input", () => {
  it("a batch whose frame exceeds maxFrameBytes fails at send with FrameTooLarge, before queueing", async () => {
    const s = await sender({ endpoint: socketPath(), maxFrameBytes: 1_000 })
    const big = [new Uint8Array(600), new Uint8Array(600)]
    const error = await s.send(big).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FrameTooLarge)
    expect(error).toMatchObject({ length: Envelope.encode(big).length, max: 1_000 })
    await expect(s.sendPayload(new Uint8Array(1_001))).rejects.toMatchObject({ _tag: "FrameTooLarge", length: 1_001 })
    expect(s.stats()).toMatchObject({ accepted: 0, queued: 0, inFlight: 0 })
  })

  it("rejects a bad endpoint or option when created", async () => {
    await expect(createSender({ endpoint: "relative.sock" })).rejects.toBeInstanceOf(InvalidEndpoint)
    await expect(createSender({ endpoint: "/tmp/x.sock", workers: 0 })).rejects.toMatchObject({
      _tag: "InvalidOptions",
      option: "workers"
    })
    await expect(createSender({ endpoint: "/tmp/x.sock", retries: -1 })).rejects.toBeInstanceOf(InvalidOptions)
    await expect(createSender({ endpoint: "/tmp/x.sock", ackTimeoutMs: 0 })).rejects.toBeInstanceOf(InvalidOptions)
  })
})

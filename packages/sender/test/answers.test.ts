/**
 * What the sender does with the peer's answers, in both delivery modes, against an in-test
 * server scripted like the deployed Rust server: final rejections, transient "not ready"
 * answers (with and without a close), an out-of-step peer, extra answers, a silent peer, a
 * close that times out, and oversized or trickled answers. Every test checks the accounting
 * identity `accepted = delivered + rejected + failed + undelivered`.
 */
import * as net from "node:net"
import { Envelope } from "@txlane/protocol"
import { Digest, Workload } from "@txlane/protocol/testing"
import { Result } from "effect"
import { afterEach, describe, expect, it } from "vitest"
import { type CloseReport, type CreateSenderOptions, createSender, Rejected, type SenderHandle } from "../src/index.js"
import { type ServerOptions, socketPath, startServer, type TestServer } from "./server.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

const server = async (options: ServerOptions = {}): Promise<TestServer> => {
  const s = await startServer(options)
  cleanup.push(() => s.close())
  return s
}

/** Outcomes seen through `onOutcome`, by status. */
interface Seen {
  delivered: Digest.Digest
  rejected: Array<string>
  failed: Array<string>
}

const sender = async (options: CreateSenderOptions): Promise<{ s: SenderHandle; seen: Seen }> => {
  const seen: Seen = { delivered: Digest.make(), rejected: [], failed: [] }
  const s = await createSender({
    // Retries within a test's time: 20 ms apart, at most 10.
    transientRetry: { initialDelayMs: 20, maxDelayMs: 20, jitter: false, maxRetries: 10 },
    ...options,
    onOutcome: (o) => {
      if (o.status === "delivered") seen.delivered.addAll(transactionsOf(o.payload))
      else seen[o.status].push(o.error ?? "")
    }
  })
  cleanup.push(() => s.close({ timeoutMs: 1000 }))
  return { s, seen }
}

const transactionsOf = (payload: Uint8Array): ReadonlyArray<Uint8Array> => {
  const decoded = Envelope.decode(payload)
  if (Result.isFailure(decoded)) throw new Error("sent a malformed envelope")
  return decoded.success
}

const workload = (n: number) => [...Workload.batches({ batches: n, txPerBatch: 5, txSize: 200 })]

const digestOf = (batches: ReadonlyArray<ReadonlyArray<Uint8Array>>): string => {
  const d = Digest.make()
  for (const b of batches) d.addAll(b)
  return d.value
}

const balanced = (r: CloseReport): void => {
  expect(r.accepted).toBe(r.delivered + r.rejected + r.failed + r.undelivered.length)
}

const NOT_READY = "Node not ready to accept transactions: node is starting"
const NOT_READY_CLOSE = "Node not ready: epoch transition"
const SUBMIT_FAILED = "Transaction submission failed: emulated"

/** Sends every batch: awaits each (fire-and-forget) or all together (acknowledged); returns the rejections. */
const sendAll = async (s: SenderHandle, batches: ReadonlyArray<ReadonlyArray<Uint8Array>>, acknowledged: boolean) => {
  if (!acknowledged) {
    for (const b of batches) await s.send(b)
    return []
  }
  const results = await Promise.all(batches.map((b) => s.send(b).catch((e: unknown) => e)))
  return results.filter((r) => r instanceof Rejected) as Array<Rejected>
}

describe.each([
  ["fire-and-forget", false],
  ["acknowledged", true]
] as const)("%s against an answering peer", (delivery, acknowledged) => {
  it("final rejections are rejected, not delivered: 5 of 100", async () => {
    const rejectAt = new Set([3, 7, 11, 15, 19])
    const srv = await server({ script: (i) => (rejectAt.has(i) ? { error: SUBMIT_FAILED } : undefined) })
    const { s, seen } = await sender({ endpoint: srv.path, workers: 1, delivery })
    const batches = workload(100)
    const rejections = await sendAll(s, batches, acknowledged)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 100, delivered: 95, acknowledged: 95, rejected: 5, failed: 0, undelivered: [] })
    balanced(r)
    expect(seen.rejected).toEqual(Array(5).fill(SUBMIT_FAILED))
    // What the sender reports as delivered is exactly what the peer accepted.
    expect(seen.delivered.value).toBe(srv.accepted.value)
    expect(seen.delivered.value).toBe(digestOf(batches.filter((_, i) => !rejectAt.has(i))))
    if (acknowledged) expect(rejections.map((e) => e.error)).toEqual(Array(5).fill(SUBMIT_FAILED))
  })

  // Frames the server read behind a closing "not ready" were never accepted, so each batch is accepted once.
  it.each([
    { what: "'Node not ready to accept transactions' (connection stays open)", answer: { error: NOT_READY } },
    { what: "'Node not ready' followed by a close", answer: { error: NOT_READY_CLOSE, close: true } }
  ])("$what is retried: nothing lost, nothing accepted twice", async ({ answer }) => {
    const srv = await server({ script: (i) => (i < 5 ? answer : undefined) })
    const { s, seen } = await sender({ endpoint: srv.path, workers: 2, delivery })
    const batches = workload(100)
    expect(await sendAll(s, batches, acknowledged)).toEqual([])
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 100, delivered: 100, rejected: 0, failed: 0, undelivered: [] })
    expect(r.transientRejections).toBe(5)
    balanced(r)
    expect(srv.accepted.value).toBe(digestOf(batches))
    expect(seen.delivered.value).toBe(digestOf(batches))
  })

  it("a peer that stays not ready past transientRetry: the batch is rejected with the peer's text", async () => {
    const srv = await server({ script: () => ({ error: NOT_READY }) })
    const { s, seen } = await sender({
      endpoint: srv.path,
      workers: 1,
      delivery,
      transientRetry: { initialDelayMs: 10, maxDelayMs: 10, jitter: false, maxRetries: 3 }
    })
    await sendAll(s, workload(2), acknowledged)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 2, delivered: 0, rejected: 2, undelivered: [] })
    expect(r.transientRejections).toBe(8) // 4 answers each: the first and 3 retries
    balanced(r)
    for (const text of seen.rejected) expect(text).toMatch(/^Node not ready to accept transactions/)
  })

  it("a 'Transaction too large' answer means the peer is out of step: that batch is rejected, the rest resent", async () => {
    // After the oversize answer the server answers 50 frames that do not exist, as the deployed one does.
    const srv = await server({
      script: (i) =>
        i === 10 ? { error: "Transaction too large: 11000000 bytes (max: 10485760)", extra: 50 } : undefined
    })
    const { s, seen } = await sender({ endpoint: srv.path, workers: 1, delivery })
    const batches = workload(40)
    await sendAll(s, batches, acknowledged)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 40, delivered: 39, acknowledged: 39, rejected: 1, failed: 0, undelivered: [] })
    expect(r.outOfStep).toBe(1)
    balanced(r)
    expect(seen.rejected).toEqual(["Transaction too large: 11000000 bytes (max: 10485760)"])
    expect(seen.delivered.value).toBe(digestOf(batches.filter((_, i) => i !== 10)))
  })

  it("more answers than frames close the connection; nothing is counted twice", async () => {
    const srv = await server({ script: (i) => (i === 5 ? { extra: 3 } : undefined) })
    const { s, seen } = await sender({ endpoint: srv.path, workers: 1, delivery })
    const batches = workload(200)
    await sendAll(s, batches, acknowledged)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 200, delivered: 200, acknowledged: 200, rejected: 0, undelivered: [] })
    expect(r.outOfStep).toBe(1)
    balanced(r)
    expect(seen.delivered.value).toBe(digestOf(batches))
  })
})

describe("fire-and-forget against a peer whose submit hangs", () => {
  it("a close that times out lists every written, unanswered batch", async () => {
    // Each connection's probe frame is answered; then submit hangs.
    const srv = await server({ respond: "hold", holdAfter: 2 })
    const { s } = await sender({ endpoint: srv.path, workers: 2 })
    for (const b of workload(300)) await s.send(b)
    await srv.waitFrames(2 + 2 * 64) // both connections' windows are full
    const r = await s.close({ timeoutMs: 300 })
    expect(r.timedOut).toBe(true)
    expect(r.delivered).toBe(2)
    expect(r.undelivered).toHaveLength(298)
    const states = r.undelivered.map((u) => u.state)
    expect(states.filter((x) => x === "unacknowledged")).toHaveLength(srv.frames - 2)
    expect(r.unanswered).toBe(srv.frames - 2)
    balanced(r)
  })
})

describe("responses: a silent peer", () => {
  it('"auto" takes a peer that never answers as silent after 1 s, then delivers on flush', async () => {
    const srv = await server({ respond: "none" })
    const { s } = await sender({ endpoint: srv.path, workers: 2 })
    const batches = workload(500)
    for (const b of batches) await s.send(b)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 500, delivered: 500, rejected: 0, undelivered: [] })
    expect(s.stats().untrackedAnswers).toBe(0)
    expect(srv.digest.value).toBe(digestOf(batches))
  })

  /**
   * A silent receiver closes a second connection after the first one found it silent, before the
   * second one's own second is up (a `--expect-transactions` receiver exiting with every batch).
   * With a FIN (it read the frame), the frame is a silent peer's: delivered, not resent to a
   * receiver that may be gone. With a reset (it left the frame unread), it is resent.
   */
  it.each([
    ["a clean close (FIN, frame read)", "fin"],
    ["a reset (frame unread)", "reset"]
  ] as const)('"auto": %s of a connection after the peer was found silent on another', async (_, close) => {
    const path = socketPath()
    const framesBy: Array<number> = [] // frames read per connection, in accept order
    const sockets: Array<net.Socket> = []
    // pauseOnConnect: a connection reads nothing from the kernel until resumed.
    const srv = net.createServer({ pauseOnConnect: true }, (socket) => {
      const index = sockets.push(socket) - 1
      framesBy[index] = 0
      socket.on("error", () => {})
      if (index === 1 && close === "reset") {
        // Its frame stays unread in the kernel, so the close resets the connection (ECONNRESET).
        setTimeout(() => socket.destroy(), 700) // at 1.2 s, as below
        return
      }
      socket.resume()
      let buffered = Buffer.alloc(0)
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
          buffered = buffered.subarray(4 + buffered.readUInt32BE(0))
          framesBy[index]!++
          // The first connection's first frame was written at 0 ms and the peer is found silent
          // at 1 s; this one's was written at 500 ms, so its own second ends at 1.5 s.
          if (index === 1) setTimeout(() => socket.destroy(), 700) // at 1.2 s
        }
      })
    })
    await new Promise<void>((resolve) => srv.listen(path, resolve))
    cleanup.push(async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => srv.close(resolve))
    })
    const { s } = await sender({ endpoint: path, workers: 2 })
    const [first, second] = workload(2)
    await s.send(first!)
    await new Promise((resolve) => setTimeout(resolve, 500))
    await s.send(second!) // the first worker waits for its probe's answer: the second one takes it
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 2, delivered: 2, undelivered: [] })
    expect(sockets.length).toBeGreaterThanOrEqual(2)
    // Read: the probe on the first connection; the second batch once, on the second connection
    // (FIN) or, resent, on a third (reset).
    expect(framesBy).toEqual(close === "fin" ? [1, 1] : [1, 0, 1])
  })

  it('"none" with a peer that answers anyway: answers settle nothing and are counted as untracked', async () => {
    const srv = await server({ respond: "reject" })
    const { s } = await sender({ endpoint: srv.path, workers: 1, responses: "none" })
    for (const b of workload(10)) await s.send(b)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 10, delivered: 10, rejected: 0 })
    expect(s.stats().untrackedAnswers).toBe(10)
  })
})

/** A server that answers its first connection's first frame with `first`, and every later frame properly. */
const rawServer = async (first: (socket: net.Socket) => void) => {
  const path = socketPath()
  let connections = 0
  const sockets = new Set<net.Socket>()
  const srv = net.createServer((socket) => {
    sockets.add(socket)
    socket.on("error", () => {})
    const index = connections++
    let buffered = Buffer.alloc(0)
    socket.on("data", (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk])
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        buffered = buffered.subarray(4 + buffered.readUInt32BE(0))
        if (index === 0) first(socket)
        else {
          const body = Buffer.from('{"success":true}')
          const header = Buffer.alloc(4)
          header.writeUInt32BE(body.length)
          socket.write(Buffer.concat([header, body]))
        }
      }
    })
  })
  await new Promise<void>((resolve) => srv.listen(path, resolve))
  cleanup.push(async () => {
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => srv.close(resolve))
  })
  return { path, connections: () => connections }
}

describe.each([
  ["fire-and-forget", "every-frame"],
  ["acknowledged", "auto"]
] as const)("%s: oversized and trickled answers", (delivery, responses) => {
  it("an answer announced above maxResponseBytes closes the connection; the batch is resent", async () => {
    const srv = await rawServer((socket) => {
      const header = Buffer.alloc(4)
      header.writeUInt32BE(10 * 1024 * 1024)
      socket.write(header) // then nothing: a 10 MiB answer that never comes
    })
    const { s } = await sender({ endpoint: srv.path, workers: 1, delivery, responses })
    await s.send(workload(1)[0]!)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 1, delivered: 1, retries: 1, undelivered: [] })
    expect(srv.connections()).toBe(2)
  })

  it("an answer trickled a byte at a time times out with ackTimeout; the batch is resent", async () => {
    const timers: Array<NodeJS.Timeout> = []
    cleanup.push(async () => {
      for (const t of timers) clearInterval(t)
    })
    const srv = await rawServer((socket) => {
      const header = Buffer.alloc(4)
      header.writeUInt32BE(100_000)
      socket.write(header)
      timers.push(setInterval(() => socket.writable && socket.write("x"), 20))
    })
    const { s } = await sender({ endpoint: srv.path, workers: 1, delivery, responses, ackTimeoutMs: 300 })
    await s.send(workload(1)[0]!)
    const r = await s.close({ timeoutMs: 5_000 })
    expect(r).toMatchObject({ accepted: 1, delivered: 1, retries: 1, undelivered: [] })
    expect(s.stats().connectionErrors).toBe(1)
  })
})

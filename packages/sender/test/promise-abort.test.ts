/**
 * `AbortSignal` in the Promise facade, over real Unix sockets: an abort before the batch is
 * queued rejects with `AbortError { accepted: false }` and the batch is never accepted; an abort
 * while waiting for the acknowledgement rejects with `accepted: true` and the batch is still
 * delivered; an aborted `close` stops waiting at once and reports every undelivered batch.
 */
import { Workload } from "@txlane/protocol/testing"
import { afterEach, describe, expect, it } from "vitest"
import { AbortError, type ConnectionEvent, createSender, type SenderHandle } from "../src/index.js"
import { socketPath, startServer, type TestServer } from "./server.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

const batches = (n: number) => [...Workload.batches({ batches: n, txPerBatch: 2, txSize: 50 })]

const next = (sender: SenderHandle, type: ConnectionEvent["type"]): Promise<ConnectionEvent> =>
  new Promise((resolve) => {
    const off = sender.events.listen(type, (event) => {
      off()
      resolve(event)
    })
  })

const server = async (options: Parameters<typeof startServer>[0] = {}): Promise<TestServer> => {
  const s = await startServer(options)
  cleanup.push(() => s.close())
  return s
}

describe("send with an AbortSignal", () => {
  it("an already aborted signal: rejected with AbortError, nothing accepted", async () => {
    const srv = await server()
    const sender = await createSender({ endpoint: srv.path })
    cleanup.push(() => sender.close({ timeoutMs: 1000 }))
    const reason = new Error("caller gave up")
    const error = await sender.send(batches(1)[0]!, { signal: AbortSignal.abort(reason) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(error).toMatchObject({ _tag: "AbortError", name: "AbortError", accepted: false, reason })
    expect(sender.stats().accepted).toBe(0)
  })

  it("aborted while suspended on a full queue: rejected, never queued, not in the close report", async () => {
    // No receiver: the only worker holds the first batch while it retries to connect.
    const sender = await createSender({
      endpoint: socketPath(),
      workers: 1,
      queueCapacity: 1,
      maxBatchesPerWrite: 1,
      reconnect: { initialDelayMs: 50, maxDelayMs: 50 },
      logLevel: "none"
    })
    const [b1, b2, b3] = batches(3)
    const held = next(sender, "connect-failed")
    await sender.send(b1!)
    await held
    await sender.send(b2!)
    expect(sender.stats()).toMatchObject({ queued: 1, queueCapacity: 1, inFlight: 1 })
    const controller = new AbortController()
    const third = sender.send(b3!, { signal: controller.signal })
    controller.abort()
    await expect(third).rejects.toMatchObject({ _tag: "AbortError", accepted: false })
    expect(sender.stats().accepted).toBe(2)
    const report = await sender.close({ timeoutMs: 1 })
    expect(report.accepted).toBe(2)
    expect(report.undelivered.map((u) => u.state).sort()).toEqual(["queued", "unsent"])
  })

  it("aborted while waiting for the acknowledgement: rejected with accepted: true, still delivered", async () => {
    const srv = await server({ respond: "hold" })
    const sender = await createSender({ endpoint: srv.path, workers: 1, delivery: "acknowledged" })
    cleanup.push(() => sender.close({ timeoutMs: 1000 }))
    const controller = new AbortController()
    const sent = sender.send(batches(1)[0]!, { signal: controller.signal })
    await srv.waitFrames(1)
    controller.abort()
    await expect(sent).rejects.toMatchObject({ _tag: "AbortError", accepted: true })
    srv.release()
    const report = await sender.close({ timeoutMs: 5_000 })
    expect(report).toMatchObject({ accepted: 1, delivered: 1, acknowledged: 1, undelivered: [], timedOut: false })
  })
})

describe("close with an AbortSignal", () => {
  it("stops waiting for the drain now and lists every undelivered batch with its payload", async () => {
    const sender = await createSender({
      endpoint: socketPath(),
      workers: 2,
      reconnect: { initialDelayMs: 20, maxDelayMs: 20 },
      logLevel: "none"
    })
    const sent = batches(10)
    const held = next(sender, "connect-failed")
    for (const b of sent) await sender.send(b)
    await held
    const controller = new AbortController()
    // A deadline no test would wait for: only the abort can end this close.
    const closing = sender.close({ timeoutMs: 600_000, signal: controller.signal })
    controller.abort()
    const report = await closing
    expect(report.timedOut).toBe(true)
    expect(report.accepted).toBe(10)
    expect(report.delivered + report.rejected + report.failed + report.undelivered.length).toBe(10)
    expect(report.undelivered).toHaveLength(10)
    expect(report.undelivered.every((u) => u.payload.length > 0 && u.transactions === 2)).toBe(true)
    // Idempotent: a later call returns the same report.
    expect(await sender.close()).toBe(report)
  })
})

describe("Promise options", () => {
  it("a bad backoff or …Ms option is named as written", async () => {
    const endpoint = socketPath()
    await expect(createSender({ endpoint, reconnect: { initialDelayMs: 50, maxDelayMs: 10 } })).rejects.toMatchObject({
      _tag: "InvalidOptions",
      option: "reconnect.maxDelayMs"
    })
    await expect(
      createSender({ endpoint, transientRetry: { initialDelayMs: 0, maxDelayMs: 10 } })
    ).rejects.toMatchObject({ _tag: "InvalidOptions", option: "transientRetry.initialDelayMs" })
    await expect(createSender({ endpoint, connectTimeoutMs: -5 })).rejects.toMatchObject({
      _tag: "InvalidOptions",
      option: "connectTimeoutMs"
    })
  })
})

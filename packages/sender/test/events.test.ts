/**
 * The Promise facade's connection events, over a real Unix socket: a receiver that is missing,
 * started, stopped and restarted is seen as `connect-failed`, `connected`, `disconnected` and
 * `connected` again, in that order.
 */
import { on } from "node:events"
import { Workload } from "@txlane/protocol/testing"
import { afterEach, describe, expect, it } from "vitest"
import { type ConnectionEvent, createSender, type SenderHandle } from "../src/index.js"
import { socketPath, startServer, type TestServer } from "./server.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

const batch = () => [...Workload.batches({ batches: 1, txPerBatch: 2, txSize: 50 })][0]!

/** The next event of `type` (listening starts now, so call it before causing the event). */
const next = (sender: SenderHandle, type: ConnectionEvent["type"]): Promise<ConnectionEvent> =>
  new Promise((resolve) => {
    const off = sender.events.listen(type, (event) => {
      off()
      resolve(event)
    })
  })

const server = async (path: string): Promise<TestServer> => {
  const s = await startServer({ path })
  cleanup.push(() => s.close())
  return s
}

describe("connection events", () => {
  it("missing, started, stopped, restarted receiver: connect-failed, connected, disconnected, connected", async () => {
    const path = socketPath()
    const seen: Array<string> = []
    const sender = await createSender({
      endpoint: path,
      workers: 1,
      delivery: "acknowledged",
      reconnect: { initialDelayMs: 5, maxDelayMs: 20 },
      onConnectionEvent: (e) => seen.push(e.type)
    })
    cleanup.push(() => sender.close({ timeoutMs: 1000 }))

    // No receiver yet: the first batch makes the worker try, and fail, to connect.
    const failed = next(sender, "connect-failed")
    const first = sender.send(batch())
    expect(await failed).toMatchObject({ type: "connect-failed", worker: 0, endpoint: path, error: "ENOENT" })

    const connected = next(sender, "connected")
    const receiver = await server(path)
    expect(await connected).toMatchObject({ type: "connected", worker: 0, error: undefined })
    expect(await first).toBe(2)

    // The receiver goes away: the connection's end is an event, with the reason.
    const disconnected = next(sender, "disconnected")
    const failedAgain = next(sender, "connect-failed")
    await receiver.close()
    const second = sender.send(batch())
    expect((await disconnected).error).toBeTypeOf("string")
    await failedAgain

    const reconnected = next(sender, "connected")
    await server(path)
    await reconnected
    expect(await second).toBe(2)
    expect(sender.stats()).toMatchObject({ connects: 2, reconnects: 1 })
    // The callback option sees the same events as `events`, in order.
    expect(seen.filter((t, i) => t !== seen[i - 1])).toEqual([
      "connect-failed",
      "connected",
      "disconnected",
      "connect-failed",
      "connected"
    ])
  })

  it("Node's events.on makes an async iterator of the EventTarget", async () => {
    const path = socketPath()
    await server(path)
    const sender = await createSender({ endpoint: path, workers: 1 })
    cleanup.push(() => sender.close({ timeoutMs: 1000 }))
    const controller = new AbortController()
    const iterator = on(sender.events, "connected", { signal: controller.signal })
    await sender.send(batch())
    const { value } = await iterator.next()
    controller.abort()
    expect((value as [CustomEvent<ConnectionEvent>])[0].detail).toMatchObject({ type: "connected", worker: 0 })
  })
})

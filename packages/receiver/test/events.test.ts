/**
 * The Promise facade's connection events and `close` with an `AbortSignal`, over real Unix
 * sockets: a client connecting and leaving is seen as `connected` and `disconnected`; an aborted
 * close stops waiting for a stuck `submit` at once and reports the frame it did not finish.
 */
import { Envelope } from "@txlane/protocol"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { type ConnectionEvent, createReceiver, InvalidOptions, type ReceiverHandle } from "../src/index.js"
import { Client, cleanupTempDirs, frames, tempSocketPath } from "./helpers.js"

const clients: Array<Client> = []
const open: Array<ReceiverHandle> = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  for (const r of open.splice(0)) await r.close({ timeoutMs: 100 })
})
afterAll(cleanupTempDirs)

const next = (receiver: ReceiverHandle, type: ConnectionEvent["type"]): Promise<ConnectionEvent> =>
  new Promise((resolve) => {
    const off = receiver.events.listen(type, (event) => {
      off()
      resolve(event)
    })
  })

const connect = async (address: string) => {
  const client = await Client.connect(address)
  clients.push(client)
  return client
}

describe("connection events", () => {
  it("a client connecting and leaving: connected, then disconnected, with its connection id", async () => {
    const seen: Array<ConnectionEvent> = []
    const receiver = await createReceiver({
      listen: tempSocketPath(),
      logLevel: "none",
      submit: () => undefined,
      onConnectionEvent: (e) => seen.push(e)
    })
    open.push(receiver)
    const connected = next(receiver, "connected")
    const client = await connect(receiver.address)
    const opened = await connected
    expect(opened).toMatchObject({ type: "connected", address: receiver.address })
    const disconnected = next(receiver, "disconnected")
    client.destroy()
    expect(await disconnected).toEqual({ ...opened, type: "disconnected" })
    expect(seen.map((e) => e.type)).toEqual(["connected", "disconnected"])
  })
})

describe("close with an AbortSignal", () => {
  it("stops waiting for a stuck submit now: timedOut, the frame counted as not submitted", async () => {
    let started: () => void = () => {}
    const submitting = new Promise<void>((resolve) => {
      started = resolve
    })
    const receiver = await createReceiver({
      listen: tempSocketPath(),
      logLevel: "none",
      // Never settles: only the abort can end the close.
      submit: () => {
        started()
        return new Promise(() => {})
      }
    })
    const client = await connect(receiver.address)
    client.write(frames(Envelope.encode([new Uint8Array([1, 2, 3])])))
    await submitting
    const controller = new AbortController()
    const closing = receiver.close({ timeoutMs: 600_000, signal: controller.signal })
    controller.abort()
    const report = await closing
    expect(report).toMatchObject({ timedOut: true, unsubmittedFrames: 1, interruptedSubmits: 1 })
    expect(await receiver.close()).toBe(report)
  })

  it("an option outside its range names the option as written (…Ms)", async () => {
    const error = await createReceiver({ listen: tempSocketPath(), submit: () => undefined, lingerMs: -1 }).catch(
      (e: unknown) => e
    )
    expect(error).toBeInstanceOf(InvalidOptions)
    expect(error).toMatchObject({ option: "lingerMs" })
  })
})

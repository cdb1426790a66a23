/**
 * Prometheus conventions of the Promise facade's `metrics()`, over a real Unix socket: one
 * receiver's series only (two receivers share the process registry), base units (`_seconds`, the
 * sender's bucket list), each family declared once; and `HostMetrics.observe` reading them.
 */
import { Envelope, HostMetrics } from "@txlane/protocol"
import { afterAll, afterEach, describe, expect, it } from "vitest"
import { createReceiver, Metrics, type ReceiverHandle } from "../src/index.js"
import { Client, cleanupTempDirs, frames, tempSocketPath } from "./helpers.js"

const open: Array<ReceiverHandle> = []
const clients: Array<Client> = []
afterEach(async () => {
  for (const c of clients.splice(0)) c.destroy()
  for (const r of open.splice(0)) await r.close({ timeoutMs: 100 })
})
afterAll(cleanupTempDirs)

const start = async (name: string) => {
  const receiver = await createReceiver({ listen: tempSocketPath(), name, logLevel: "none", submit: () => undefined })
  open.push(receiver)
  return receiver
}

describe("metrics()", () => {
  it("one receiver's series only, in seconds, each family once; observable through HostMetrics", async () => {
    const a = await start("node-a")
    await start("node-b")
    const client = await Client.connect(a.address)
    clients.push(client)
    client.write(frames(Envelope.encode([new Uint8Array([1])]), Envelope.encode([new Uint8Array([2])])))
    await client.awaitResponses(2)
    const text = a.metrics()
    expect(text).toContain(`${Metrics.names.framesSubmitted}{receiver="node-a"} 2`)
    expect(text).not.toContain(`receiver="node-b"`)
    const types = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]!)
    expect(new Set(types).size).toBe(types.length)
    expect(types.filter((name) => /_ms(_|$)/.test(name))).toEqual([])
    const buckets = [
      ...text.matchAll(/txlane_receiver_submit_duration_seconds_bucket\{receiver="node-a",le="([^"]+)"\}/g)
    ]
    expect(buckets.map((m) => m[1])).toEqual([...Metrics.LATENCY_BUCKETS_SECONDS.map(String), "+Inf"])

    const observed = new Map<string, Array<number>>()
    const instrument = (name: string) => ({
      addCallback: (cb: (r: HostMetrics.ObservableResultLike) => void) =>
        cb({ observe: (value) => observed.set(name, [...(observed.get(name) ?? []), value]) })
    })
    HostMetrics.observe({ createObservableCounter: instrument, createObservableGauge: instrument }, () => a.metrics())
    expect(observed.get(Metrics.names.framesSubmitted)).toEqual([2])
    expect(observed.get(Metrics.names.connectionsOpen)).toEqual([1])
  })
})

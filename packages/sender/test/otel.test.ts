/**
 * `HostMetrics.observe` hands a sender's series to an OpenTelemetry-shaped `Meter`, over a real
 * Unix socket. The meter here records what its callbacks observe, as an SDK's reader would at
 * collection time (OpenTelemetry itself is outside this repository).
 */
import { HostMetrics } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { afterEach, describe, expect, it } from "vitest"
import { createSender, Metrics } from "../src/index.js"
import { startServer } from "./server.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

/** A meter that keeps its instruments and, on `collect`, runs their callbacks like an SDK reader. */
const recordingMeter = () => {
  const instruments = new Map<
    string,
    { kind: string; callbacks: Array<(r: HostMetrics.ObservableResultLike) => void> }
  >()
  const create = (kind: string) => (name: string) => {
    const instrument = { kind, callbacks: [] as Array<(r: HostMetrics.ObservableResultLike) => void> }
    instruments.set(name, instrument)
    return { addCallback: (cb: (r: HostMetrics.ObservableResultLike) => void) => instrument.callbacks.push(cb) }
  }
  const meter: HostMetrics.MeterLike = {
    createObservableCounter: create("counter"),
    createObservableGauge: create("gauge")
  }
  const collect = (name: string) => {
    const observed: Array<{ value: number; attributes: Record<string, string> | undefined }> = []
    for (const cb of instruments.get(name)?.callbacks ?? [])
      cb({ observe: (value, attributes) => observed.push({ value, attributes }) })
    return observed
  }
  return { meter, instruments, collect }
}

describe("HostMetrics.observe", () => {
  it("one observable instrument per family, read at collection time, with the series' attributes", async () => {
    const server = await startServer()
    cleanup.push(() => server.close())
    const sender = await createSender({ endpoint: server.path, name: "otel", delivery: "acknowledged" })
    cleanup.push(() => sender.close({ timeoutMs: 1000 }))
    const { meter, instruments, collect } = recordingMeter()
    HostMetrics.observe(meter, () => sender.metrics())
    expect(instruments.get(Metrics.names.delivered)?.kind).toBe("counter")
    expect(instruments.get(Metrics.names.queueDepth)?.kind).toBe("gauge")
    expect(instruments.get(`${Metrics.names.ackLatency}_count`)?.kind).toBe("counter")
    expect(collect(Metrics.names.delivered)).toEqual([{ value: 0, attributes: { sender: "otel" } }])
    for (const batch of Workload.batches({ batches: 4, txPerBatch: 2, txSize: 50 })) await sender.send(batch)
    // Collection reads the sender now: the values moved without re-registering anything.
    expect(collect(Metrics.names.delivered)).toEqual([{ value: 4, attributes: { sender: "otel" } }])
    expect(collect(`${Metrics.names.ackLatency}_count`)).toEqual([{ value: 4, attributes: { sender: "otel" } }])
    const failures = collect(Metrics.names.failures)
    expect(failures.find((f) => f.attributes?.kind === "rejected")).toEqual({
      value: 0,
      attributes: { sender: "otel", kind: "rejected" }
    })
  })
})

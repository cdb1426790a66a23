/**
 * Prometheus conventions of the Promise facade's `metrics()`, over a real Unix socket: one
 * sender's series only (two senders share the process registry), base units (`_seconds`, no
 * `_ms`), and a text that can be appended to a host registry's (the README's prom-client recipe)
 * without repeating a metric family.
 */
import { Workload } from "@txlane/protocol/testing"
import { afterEach, describe, expect, it } from "vitest"
import { createSender, Metrics } from "../src/index.js"
import { startServer } from "./server.js"

const cleanup: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f()
})

/** Checks the text exposition format's rules this project relies on; returns the families. */
const families = (text: string): Map<string, string> => {
  const types = new Map<string, string>()
  for (const line of text.split("\n")) {
    if (line.startsWith("# TYPE ")) {
      const [name, type] = line.slice("# TYPE ".length).split(" ")
      expect(types.has(name!), `family ${name} declared twice`).toBe(false)
      types.set(name!, type!)
    } else if (line !== "" && !line.startsWith("#")) {
      const sample = line.split(/[{ ]/)[0]!
      const family = [sample, sample.replace(/_(bucket|sum|count)$/, "")].find((n) => types.has(n))
      expect(family, `sample ${sample} before its # TYPE`).toBeDefined()
    }
  }
  return types
}

describe("metrics()", () => {
  it("one sender's series only, in base units, appendable to a host registry's text", async () => {
    const server = await startServer()
    cleanup.push(() => server.close())
    const a = await createSender({ endpoint: server.path, name: "alpha", delivery: "acknowledged" })
    const b = await createSender({ endpoint: server.path, name: "beta" })
    cleanup.push(
      () => a.close({ timeoutMs: 1000 }),
      () => b.close({ timeoutMs: 1000 })
    )
    for (const batch of Workload.batches({ batches: 3, txPerBatch: 2, txSize: 50 })) {
      await a.send(batch)
      await b.send(batch)
    }
    const text = a.metrics()
    expect(text).toContain(`${Metrics.names.acknowledged}{sender="alpha"} 3`)
    expect(text).not.toContain(`sender="beta"`)
    expect(text).toContain(`${Metrics.names.ackLatency}_count{sender="alpha"} 3`)
    const types = families(text)
    expect(types.get("txlane_sender_ack_latency_seconds")).toBe("histogram")
    expect([...types.keys()].filter((name) => /_ms(_|$)/.test(name))).toEqual([])
    // The histogram's buckets are the shared list, in seconds.
    const buckets = [...text.matchAll(/txlane_sender_ack_latency_seconds_bucket\{sender="alpha",le="([^"]+)"\}/g)]
    expect(buckets.map((m) => m[1])).toEqual([...Metrics.LATENCY_BUCKETS_SECONDS.map(String), "+Inf"])
    // The README's prom-client recipe appends it to the host registry's text: still one family each.
    const host =
      "# HELP process_cpu_seconds_total CPU time\n# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.5\n"
    expect(families(`${host}${text}`).size).toBe(types.size + 1)
  })
})

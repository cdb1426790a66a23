/**
 * The latency section's rounds and references (bench/lib/latency.ts): which round stands for a
 * row, and what each row is compared with. Pure functions over made-up results; the real series
 * runs in bench-quick.test.ts.
 */
import * as fs from "node:fs"
import { describe, expect, it } from "vitest"
import { type LatencyResult, medianRounds, recordedMs, renderLatency } from "../bench/lib/latency.js"
import type { Results } from "../bench/lib/results.js"

const row = (
  receiver: string,
  api: LatencyResult["api"],
  offered: number,
  p99Us: number | null,
  p50Us = 100
): LatencyResult => ({
  series: `${receiver}${api === "payload" ? "" : `-${api}`}`,
  receiver,
  api,
  offered,
  workers: null,
  status: p99Us === null ? "failed" : "ok",
  reason: p99Us === null ? "receiver exited" : undefined,
  achievedRate: p99Us === null ? null : offered,
  recorded: null,
  p50Us: p99Us === null ? null : p50Us,
  p99Us,
  p999Us: p99Us,
  maxUs: p99Us,
  serviceP50Us: null,
  serviceP99Us: p99Us,
  maxOutstanding: null,
  senderUsage: { cpuUserMs: null, cpuSystemMs: null, maxRssKb: null },
  senderLoop: null,
  receiverLoop: null,
  stealPct: null
})

describe("medianRounds", () => {
  it("keeps the whole row of the round whose p99 is the median, and lists every round's p99 in run order", () => {
    const [median] = medianRounds([
      row("txlane", "payload", 1000, 9_000, 1),
      row("txlane", "payload", 1000, 3_000, 2),
      row("txlane", "payload", 1000, 5_000, 3)
    ])
    expect(median?.p99Us).toBe(5_000)
    expect(median?.p50Us).toBe(3)
    expect(median?.p99Rounds).toEqual([9_000, 3_000, 5_000])
  })

  it("takes the median of the ok rounds only, and marks a failed round as null", () => {
    const [median] = medianRounds([
      row("rust", "send", 10_000, 8_000),
      row("rust", "send", 10_000, null),
      row("rust", "send", 10_000, 2_000)
    ])
    expect(median?.status).toBe("ok")
    expect(median?.p99Us).toBe(2_000)
    expect(median?.p99Rounds).toEqual([8_000, null, 2_000])
  })

  it("gives a failed row when no round was ok, and keeps series and loads apart", () => {
    const rows = medianRounds([
      row("raw", "payload", 1000, null),
      row("raw", "payload", 10_000, 4_000),
      row("raw", "payload", 1000, null)
    ])
    expect(rows.map((r) => [r.offered, r.status, r.p99Rounds])).toEqual([
      [1000, "failed", [null, null]],
      [10_000, "ok", [4_000]]
    ])
  })
})

describe("recordedMs", () => {
  it("lengthens a low open-loop rate's window to the minimum batch count, and leaves saturation alone", () => {
    const s = { durationMs: 3_000, minRecorded: 10_000 }
    expect(recordedMs(s, 1_000)).toBe(10_000)
    expect(recordedMs(s, 10_000)).toBe(3_000)
    expect(recordedMs(s, 0)).toBe(3_000)
    expect(recordedMs({ durationMs: 400 }, 1_000)).toBe(400)
  })
})

describe("renderLatency", () => {
  // A committed results file for the provenance line; only its latency rows are replaced.
  const rendered = (latency: ReadonlyArray<LatencyResult>): Array<string> => {
    const committed = JSON.parse(
      fs.readFileSync(new URL("../bench/results/latency-rounds.json", import.meta.url), "utf8")
    )
    const results: Results = { ...committed, latency }
    return renderLatency(results)
  }
  // The receiver and "p99 vs reference" columns of the rendered `sendPayload` rows.
  const payloadReferences = (latency: ReadonlyArray<LatencyResult>) =>
    rendered(latency)
      .filter((l) => l.startsWith("| `sendPayload`"))
      .map((l) => [l.split("|")[3]!.trim(), l.split("|")[9]!.trim()])

  it("compares the txlane receiver with Rust and with the node:net floor, and the Rust receiver with the raw client", () => {
    const latency = medianRounds([
      row("txlane", "payload", 1000, 6_000),
      row("raw", "payload", 1000, 4_000),
      row("rust", "payload", 1000, 3_000),
      row("rust", "raw", 1000, 2_000)
    ])
    const lines = rendered(latency).filter((l) => l.startsWith("| `sendPayload`") || l.startsWith("| raw"))
    const referenceOf = (line: string) => line.split("|")[9]!.trim()
    expect(lines.map((l) => [l.split("|")[3]!.trim(), referenceOf(l)])).toEqual([
      ['txlane, `ordering: "per-connection"`', "2× Rust, 1.5× node:net"],
      ["raw `node:net`", "1.33× Rust"],
      ["rust", "1.5× raw client"],
      ["rust", "–"]
    ])
  })

  it("sets send(txs) into Rust against both raw clients (pre-encoded, and encoding each envelope), and lists each API's floor after it", () => {
    const latency = medianRounds([
      row("rust", "send", 1000, 6_000),
      row("rust", "raw-send", 1000, 4_000),
      row("rust", "payload", 1000, 3_000),
      row("rust", "raw", 1000, 2_000)
    ])
    const lines = rendered(latency).filter((l) => l.startsWith("| `s") || l.startsWith("| raw"))
    expect(lines.map((l) => [l.split("|")[1]!.trim(), l.split("|")[9]!.trim()])).toEqual([
      ["`sendPayload`", "1.5× raw client"],
      ["raw `node:net` client", "–"],
      ["`send(txs)`", "3× raw client, 1.5× encoding raw client"],
      ["raw `node:net` client, encoding each envelope", "–"]
    ])
  })

  it("names the txlane receiver's ordering (a row without one ran the old default, per-connection), puts the default none first, and compares both with the same references", () => {
    const withOrdering = (series: string, ordering: "none" | "per-connection", p99Us: number): LatencyResult => ({
      ...row("txlane", "payload", 1000, p99Us),
      series,
      ordering
    })
    const latency = medianRounds([
      withOrdering("txlane-ordered", "per-connection", 8_000),
      row("rust", "payload", 1000, 2_000),
      withOrdering("txlane", "none", 3_000),
      row("raw", "payload", 1000, 4_000)
    ])
    expect(payloadReferences(latency)).toEqual([
      ['txlane, `ordering: "none"`', "1.5× Rust, 0.75× node:net"],
      ['txlane, `ordering: "per-connection"`', "4× Rust, 2× node:net"],
      ["raw `node:net`", "2× Rust"],
      ["rust", "–"]
    ])
  })

  it("sets a control row after the row it repeats, against that row only, and keeps it out of every other row's references", () => {
    const again = (receiver: string, p99Us: number): LatencyResult => ({
      ...row(receiver, "payload", 1000, p99Us),
      series: `${receiver}-again`,
      control: true
    })
    const latency = medianRounds([
      again("rust", 6_000),
      again("raw", 2_000),
      { ...row("txlane", "payload", 1000, 4_000), ordering: "none" },
      row("raw", "payload", 1000, 4_000),
      row("rust", "payload", 1000, 2_000),
      row("rust", "raw", 1000, 2_000)
    ])
    expect(payloadReferences(latency)).toEqual([
      ['txlane, `ordering: "none"`', "2× Rust, 1× node:net"],
      ["raw `node:net`", "2× Rust"],
      ["raw `node:net`, again (A/A control)", "0.5× the first (A/A)"],
      ["rust", "1× raw client"],
      ["rust, again (A/A control)", "3× the first (A/A)"]
    ])
  })
})

/**
 * Issue #14's targets as the runner judges them (bench/lib/judge.ts `userPathTargets`): which
 * cells each target reads, when it is met, missed or not measured. Pure functions over made-up
 * results; the real sections run in bench-quick.test.ts.
 */
import { describe, expect, it } from "vitest"
import { atMost, controlFactor, userPathTargets } from "../bench/lib/judge.js"
import type { LargeFrameCell } from "../bench/lib/large-frames.js"
import type { LatencyResult } from "../bench/lib/latency.js"
import type { CellResult } from "../bench/lib/measure.js"

const noUsage = { cpuUserMs: null, cpuSystemMs: null, maxRssKb: null }

const latency = (
  receiver: string,
  api: LatencyResult["api"],
  offered: number,
  p99Us: number,
  ordering?: LatencyResult["ordering"]
): LatencyResult => ({
  series: receiver,
  receiver,
  api,
  ordering,
  offered,
  workers: null,
  status: "ok",
  achievedRate: offered,
  recorded: null,
  p50Us: 100,
  p99Us,
  p999Us: p99Us,
  maxUs: p99Us,
  serviceP50Us: null,
  serviceP99Us: null,
  maxOutstanding: null,
  senderUsage: noUsage,
  senderLoop: null,
  receiverLoop: null
})

const cell = (pairing: string, round: number, rate: number, section: CellResult["section"]): CellResult => ({
  section,
  pairing,
  sender: "",
  receiver: "",
  workload: "upstream",
  transport: "unix",
  batches: 1,
  params: { round },
  status: "ok",
  elapsedMs: 1,
  receiverElapsedMs: 1,
  senderElapsedMs: 1,
  batchesPerSec: rate,
  txPerSec: rate,
  mbPerSec: rate,
  senderCpuUsPerBatch: null,
  receiverCpuUsPerBatch: null,
  senderUsage: noUsage,
  receiverUsage: noUsage
})

const large = (pairing: string, round: number, mbPerSec: number, gcTotalMs = 10, cpuMs = 100): LargeFrameCell => ({
  ...cell(pairing, round, mbPerSec, "large-frames"),
  receiverLoop: {
    eventLoopDelayP99Us: 0,
    eventLoopDelayMaxUs: 0,
    gcPauseP99Us: 0,
    gcPauseMaxUs: 0,
    gcCount: 1,
    gcTotalMs,
    cpuMs
  }
})

const judged = (
  l: ReadonlyArray<LatencyResult>,
  u: ReadonlyArray<CellResult> = [],
  f: ReadonlyArray<LargeFrameCell> = []
) => Object.fromEntries(userPathTargets(l, u, f).map((t) => [t.id, t]))

/** The four cells of target 1, each txlane p99 at `ratio` × Rust's. */
const latencyCells = (ratio: number): Array<LatencyResult> =>
  (["payload", "send"] as const).flatMap((api) =>
    [1_000, 10_000].flatMap((offered) => [
      latency("txlane", api, offered, 5_000 * ratio, "none"),
      latency("rust", api, offered, 5_000)
    ])
  )

describe("#14.1: the txlane receiver against the Rust receiver", () => {
  it("is met when every cell is within 1.2×, and missed when one is above", () => {
    expect(judged(latencyCells(1.2))["user-latency-vs-rust"]?.status).toBe("met")
    const one = latencyCells(1)
    one[0] = latency("txlane", "payload", 1_000, 6_500, "none")
    const t = judged(one)["user-latency-vs-rust"]
    expect(t?.status).toBe("missed")
    expect(t?.figure).toContain("`sendPayload` 1,000/s: 1.3× (6,500 vs 5,000 µs)")
  })

  it("reads the default ordering only, and is missed when a cell was not measured", () => {
    const rows = latencyCells(1).map((l) =>
      l.receiver === "txlane" ? { ...l, ordering: "per-connection" as const } : l
    )
    expect(judged(rows)["user-latency-vs-rust"]?.status).toBe("n/a")
    const three = latencyCells(1).filter((l) => !(l.receiver === "txlane" && l.api === "send" && l.offered === 10_000))
    expect(judged(three)["user-latency-vs-rust"]?.status).toBe("missed")
  })
})

describe("#14.2: the sender's own tail", () => {
  it("is met only below 1 ms for both APIs, and names the best raw client doing no more work", () => {
    const floors = [latency("rust", "raw", 10_000, 1_200), latency("rust", "raw-send", 10_000, 1_000)]
    const fast = [latency("rust", "payload", 10_000, 900), latency("rust", "send", 10_000, 990), ...floors]
    expect(judged(fast)["sender-tail-10k"]?.status).toBe("met")
    const slow = [latency("rust", "payload", 10_000, 900), latency("rust", "send", 10_000, 1_600), ...floors]
    const t = judged(slow)["sender-tail-10k"]
    expect(t?.status).toBe("missed")
    expect(t?.figure).toContain("`sendPayload` 900 µs (0.75× the raw client's 1,200 µs)")
    expect(t?.figure).toContain("`send(txs)` 1,600 µs (1.6× the encoding raw client's 1,000 µs)")
  })
})

describe("the recorded targets (this machine's floors, same run)", () => {
  it("#14.1: the txlane receiver within 1.2× the bare node:net receiver, in all four cells", () => {
    const cells = (ratio: number) =>
      (["payload", "send"] as const).flatMap((api) =>
        [1_000, 10_000].flatMap((offered) => [
          latency("txlane", api, offered, 5_000 * ratio, "none"),
          latency("raw", api, offered, 5_000)
        ])
      )
    expect(judged(cells(1.2))["user-latency-vs-node-receiver"]?.status).toBe("met")
    const t = judged(cells(1.25))["user-latency-vs-node-receiver"]
    expect(t?.status).toBe("missed")
    expect(t?.figure).toContain("`send(txs)` 10,000/s: 1.25× (6,250 vs 5,000 µs)")
    // The Rust receiver's rows are not this target's reference.
    expect(judged(latencyCells(1))["user-latency-vs-node-receiver"]?.status).toBe("n/a")
  })

  it("#14.2: each API within 1.2× the best raw client doing no more work", () => {
    const payload = [latency("rust", "payload", 10_000, 12_000), latency("rust", "raw", 10_000, 11_000)]
    const send = latency("rust", "send", 10_000, 12_000)
    const met = judged([...payload, send, latency("rust", "raw-send", 10_000, 10_000)])["sender-tail-vs-raw-client"]
    expect(met?.status).toBe("met")
    expect(met?.figure).toBe(
      "`sendPayload` 1.09× (12,000 µs vs the raw client's 11,000 µs); `send(txs)` 1.2× (12,000 µs vs the encoding raw client's 10,000 µs)"
    )
    // A slower encoding client does not lower the bar: send(txs) is held to the faster pre-encoded one.
    const slowEncoder = judged([
      latency("rust", "payload", 10_000, 12_000),
      latency("rust", "raw", 10_000, 9_000),
      send,
      latency("rust", "raw-send", 10_000, 90_000)
    ])
    expect(slowEncoder["sender-tail-vs-raw-client"]?.status).toBe("missed")
    expect(slowEncoder["sender-tail-vs-raw-client"]?.figure).toContain(
      "`send(txs)` 1.33× (12,000 µs vs the raw client's 9,000 µs)"
    )
  })

  it("#14.4: ≥ 0.9× the raw pump and GC ≤ 15%, whatever zeromq.js does", () => {
    const round = (r: number, txlane: number) => [
      large("txlane", r, txlane, 10),
      large("raw", r, 1_000),
      large("zeromq", r, 2_000)
    ]
    const met = judged([], [], [...round(1, 900), ...round(2, 950), ...round(3, 1_000)])["large-frames-vs-raw"]
    expect(met?.status).toBe("met")
    expect(met?.figure).toBe("0.95× raw, GC 10% of receiver CPU")
    expect(judged([], [], [...round(1, 850), ...round(2, 880)])["large-frames-vs-raw"]?.status).toBe("missed")
  })
})

describe("the A/A control: latency targets read against the run's own spread", () => {
  const again = (receiver: string, offered: number, p99Us: number): LatencyResult => ({
    ...latency(receiver, "payload", offered, p99Us),
    series: `${receiver}-again`,
    control: true
  })

  it("takes the larger factor between a receiver's two series, either way, at each load; none without controls", () => {
    const rows = [
      latency("rust", "payload", 1_000, 2_000),
      again("rust", 1_000, 3_000),
      latency("raw", "payload", 1_000, 4_000),
      again("raw", 1_000, 2_000),
      latency("rust", "payload", 10_000, 1_000),
      again("rust", 10_000, 1_100)
    ]
    expect(controlFactor(rows, 1_000)).toBe(2)
    expect(controlFactor(rows, 10_000)).toBeCloseTo(1.1)
    expect(controlFactor(rows.slice(0, 1), 1_000)).toBeNull()
  })

  it("is met only within the bound times the factor, missed only beyond the bound divided by it, and unsure between", () => {
    expect(atMost(0.7, 1.2, 1.5)).toBe("pass")
    expect(atMost(1, 1.2, 1.5)).toBe("unsure")
    expect(atMost(1.7, 1.2, 1.5)).toBe("unsure")
    expect(atMost(1.9, 1.2, 1.5)).toBe("fail")
    expect(atMost(1.2, 1.2, null)).toBe("pass")
    expect(atMost(1.21, 1.2, null)).toBe("fail")
    expect(atMost(1_000, 1_000, null, true)).toBe("fail")
  })

  it("turns #14.1 inconclusive where the run cannot tell, and leaves a miss beyond its spread missed", () => {
    // Each control repeats its receiver at 1.5× its p99, at both loads.
    const controls = [1_000, 10_000].map((offered) => again("rust", offered, 7_500))
    const near = judged([...latencyCells(1.1), ...controls])["user-latency-vs-rust"]
    expect(near?.status).toBe("inconclusive")
    expect(near?.figure).toContain("`sendPayload` 1,000/s: 1.1× (5,500 vs 5,000 µs) (cannot tell)")
    expect(near?.figure).toContain("; this run's A/A control: 1,000/s 1.5×, 10,000/s 1.5×")
    expect(judged([...latencyCells(0.7), ...controls])["user-latency-vs-rust"]?.status).toBe("met")
    const far = latencyCells(1.1)
    far[0] = latency("txlane", "payload", 1_000, 10_000, "none")
    expect(judged([...far, ...controls])["user-latency-vs-rust"]?.status).toBe("missed")
  })

  it("reads #14.2 at 10k/s: a p99 under 1 ms only by less than the factor is inconclusive", () => {
    const rows = [
      latency("rust", "payload", 10_000, 900),
      latency("rust", "send", 10_000, 600),
      again("rust", 10_000, 900 * 1.2),
      again("rust", 1_000, 50_000)
    ]
    const t = judged(rows)["sender-tail-10k"]
    expect(t?.status).toBe("inconclusive")
    expect(t?.figure).toBe(
      "`sendPayload` 900 µs (cannot tell); `send(txs)` 600 µs; this run's A/A control: 10,000/s 1.2×"
    )
  })
})

describe("#14.3: the user path against the raw pump", () => {
  it("takes the median of the per-round ratios of each API", () => {
    const rounds = [
      [100, 100, 80, 100],
      [95, 100, 95, 100],
      [120, 100, 70, 100]
    ]
    const cells = rounds.flatMap(([send, sendRef, payload, payloadRef], i) => [
      cell("txlane send(txs)", i + 1, send!, "userpath"),
      cell("raw pump, encoding each envelope", i + 1, sendRef!, "userpath"),
      cell("txlane sendPayload", i + 1, payload!, "userpath"),
      cell("raw pump, pre-encoded", i + 1, payloadRef!, "userpath")
    ])
    const t = judged([], cells)["user-path-vs-raw"]
    expect(t?.figure).toBe("`send(txs)` 1×; `sendPayload` 0.8× (medians of per-round ratios)")
    expect(t?.status).toBe("missed")
  })
})

describe("#14.4: 1 MiB frames", () => {
  it("needs ≥ 1.0× zeromq.js, ≥ 0.8× raw and GC ≤ 15% of the txlane receiver's CPU", () => {
    const round = (r: number, gcTotalMs: number) => [
      large("txlane", r, 1_000, gcTotalMs),
      large("raw", r, 1_200),
      large("zeromq", r, 1_000)
    ]
    const met = judged([], [], [...round(1, 10), ...round(2, 15), ...round(3, 12)])["large-frames-vs-zeromq"]
    expect(met?.status).toBe("met")
    expect(met?.figure).toBe("1× zeromq.js, 0.83× raw, GC 12% of receiver CPU")
    const gcHeavy = judged([], [], [...round(1, 16), ...round(2, 20)])["large-frames-vs-zeromq"]
    expect(gcHeavy?.status).toBe("missed")
  })

  it("is not measured without cells", () => {
    expect(judged([])["large-frames-vs-zeromq"]?.status).toBe("n/a")
  })
})

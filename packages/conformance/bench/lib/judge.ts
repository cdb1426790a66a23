/**
 * The targets judged from a run's cells, and the defaults its sweeps recommend (split from
 * report.ts, which renders them).
 *
 * @module
 */
import { int, mb, num, pct, times } from "./format.js"
import { gcShareOf, type LargeFrameCell } from "./large-frames.js"
import { firstSeriesRow, type LatencyResult, RAW_CLIENT_NAMES, rawClientsFor } from "./latency.js"
import type { CellResult } from "./measure.js"
import { currentDefaults, type WorkloadId, workloads } from "./plan.js"
import type { Recommendation, Results, Target } from "./results.js"
import { roundRatio } from "./rounds.js"
import { userPathRatio } from "./userpath.js"

// ---------------------------------------------------------------------------------------------
// Targets

const cell = (
  rs: ReadonlyArray<CellResult>,
  section: string,
  pairing: string,
  workload: WorkloadId
): CellResult | undefined =>
  rs.find((r) => r.section === section && r.pairing === pairing && r.workload === workload && r.status === "ok")

const ratioTarget = (
  id: string,
  description: string,
  rs: ReadonlyArray<CellResult>,
  a: readonly [string, string],
  b: readonly [string, string],
  threshold: number,
  ws: ReadonlyArray<WorkloadId>,
  show: (r: number) => string
): Target => {
  const parts: Array<string> = []
  let min = Number.POSITIVE_INFINITY
  for (const w of ws) {
    const x = cell(rs, a[0], a[1], w)
    const y = cell(rs, b[0], b[1], w)
    if (!x?.batchesPerSec || !y?.batchesPerSec) continue
    const r = x.batchesPerSec / y.batchesPerSec
    min = Math.min(min, r)
    parts.push(`${w}: ${show(r)} (${int(x.batchesPerSec)} vs ${int(y.batchesPerSec)} batches/s)`)
  }
  if (parts.length === 0) return { id, description, figure: "not measured in this run", status: "n/a" }
  return { id, description, figure: parts.join("; "), status: min >= threshold ? "met" : "missed" }
}

export const judgeTargets = (
  throughput: ReadonlyArray<CellResult>,
  latency: ReadonlyArray<LatencyResult>,
  userPath: ReadonlyArray<CellResult>,
  largeFrames: ReadonlyArray<LargeFrameCell>
): Array<Target> => {
  const all: ReadonlyArray<WorkloadId> = workloads.map((w) => w.id)
  const targets: Array<Target> = [
    ratioTarget(
      "ts-vs-raw",
      "ts→ts (txlane) on the upstream shape ≥ 90% of the raw node:net pump",
      throughput,
      ["transports", "txlane"],
      ["transports", "raw"],
      0.9,
      ["upstream"],
      pct
    ),
    ratioTarget(
      "ts-vs-zeromq",
      "ts→ts (txlane) ≥ 1.5× zeromq.js at every workload",
      throughput,
      ["transports", "txlane"],
      ["transports", "zeromq"],
      1.5,
      all,
      times
    ),
    ratioTarget(
      "ts-rust-vs-go-rust",
      "ts→rust ≥ 80% of go→rust",
      throughput,
      ["pairings", "ts→rust"],
      ["pairings", "go→rust"],
      0.8,
      all,
      pct
    ),
    ratioTarget(
      "ts-lean-rust-vs-go-rust",
      "ts→rust with the sender library alone (lean TS peer: no JS workload generation or digest) ≥ 80% of go→rust",
      throughput,
      ["transports", "txlane→rust"],
      ["pairings", "go→rust"],
      0.8,
      all,
      pct
    ),
    ratioTarget(
      "rust-ts-vs-rust-rust",
      "rust→ts ≥ 50% of rust→rust",
      throughput,
      ["pairings", "rust→ts"],
      ["pairings", "rust→rust"],
      0.5,
      all,
      pct
    ),
    ratioTarget(
      "ts-vs-legacy",
      "ts→ts (txlane) ≥ 100× the legacy design (upstream shape)",
      throughput,
      ["transports", "txlane"],
      ["transports", "legacy"],
      100,
      ["upstream"],
      times
    )
  ]
  const large = cell(throughput, "transports", "txlane", "large")
  targets.push(
    large?.mbPerSec
      ? {
          id: "large-frames",
          description: "large frames ts→ts (txlane) ≥ 1.5 GB/s",
          figure: `${num(large.mbPerSec / 1000, 2)} GB/s (${int(large.batchesPerSec)} frames/s of ${num(workloads[3]!.payloadBytes / 2 ** 20, 2)} MiB)`,
          status: large.mbPerSec >= 1500 ? "met" : "missed"
        }
      : {
          id: "large-frames",
          description: "large frames ts→ts (txlane) ≥ 1.5 GB/s",
          figure: "not measured",
          status: "n/a"
        }
  )
  const lat = (offered: number) =>
    latency.find((l) => l.series === "txlane" && l.offered === offered && l.status === "ok")
  const l1 = lat(1_000)
  targets.push(
    l1?.p50Us != null
      ? {
          id: "ack-p50-1k",
          description: "acknowledged p50 < 100 µs at 1k batches/s",
          figure: `p50 ${num(l1.p50Us)} µs (service time p50 ${num(l1.serviceP50Us)} µs)`,
          status: l1.p50Us < 100 ? "met" : "missed"
        }
      : {
          id: "ack-p50-1k",
          description: "acknowledged p50 < 100 µs at 1k batches/s",
          figure: "not measured",
          status: "n/a"
        }
  )
  const l10 = lat(10_000)
  targets.push(
    l10?.p99Us != null
      ? {
          id: "ack-p99-10k",
          description: "acknowledged p99 < 1 ms at 10k batches/s",
          figure: `p99 ${num(l10.p99Us)} µs (achieved ${int(l10.achievedRate)} batches/s)`,
          status: l10.p99Us < 1000 ? "met" : "missed"
        }
      : {
          id: "ack-p99-10k",
          description: "acknowledged p99 < 1 ms at 10k batches/s",
          figure: "not measured",
          status: "n/a"
        }
  )
  const sat = cell(throughput, "transports", "txlane", "upstream")
  const rss = sat?.senderUsage.maxRssKb ?? null
  targets.push(
    rss !== null
      ? {
          id: "sender-rss",
          description: "sender RSS < 200 MB at saturation with default settings (upstream shape)",
          figure: `${mb(rss)} MiB peak (includes the 16 MiB pre-encoded workload pool)`,
          status: rss / 1024 < 200 ? "met" : "missed"
        }
      : {
          id: "sender-rss",
          description: "sender RSS < 200 MB at saturation with default settings (upstream shape)",
          figure: sat ? "n/a (no GNU time)" : "not measured",
          status: "n/a"
        }
  )
  targets.push(...userPathTargets(latency, userPath, largeFrames))
  return targets
}

const API_NAMES = { payload: "`sendPayload`", send: "`send(txs)`" } as const

/** How one part of a target came out: within its bound, beyond it, or nearer it than the run can tell. */
type Verdict = "pass" | "fail" | "unsure"

const passIf = (ok: boolean): Verdict => (ok ? "pass" : "fail")

/** One measured part of a target: its figure and verdict. */
interface Part {
  readonly text: string
  readonly verdict: Verdict
}

/**
 * A target of `expected` parts: not measured without any part; missed if a part fails or was not
 * measured; else inconclusive if a part is unsure; else met.
 */
const judgeParts = (
  head: { readonly id: string; readonly description: string },
  parts: ReadonlyArray<Part>,
  expected: number,
  separator = "; ",
  suffix = ""
): Target =>
  parts.length === 0
    ? { ...head, figure: "not measured in this run", status: "n/a" }
    : {
        ...head,
        figure: `${parts.map((p) => p.text).join(separator)}${suffix}`,
        status:
          parts.length < expected || parts.some((p) => p.verdict === "fail")
            ? "missed"
            : parts.some((p) => p.verdict === "unsure")
              ? "inconclusive"
              : "met"
      }

/**
 * The run's A/A control at an offered load: the largest factor, either way, between a receiver's
 * p99 and the same receiver's measured again as a separate series of the same rounds (the bare
 * `node:net` and the Rust receivers, `sendPayload`). Null in runs without controls (quick runs,
 * results recorded before 2026-12-02 15:25).
 */
export const controlFactor = (latency: ReadonlyArray<LatencyResult>, offered: number): number | null => {
  const factors = latency.flatMap((again) => {
    if (!again.control || again.offered !== offered || again.status !== "ok" || !again.p99Us) return []
    const first = firstSeriesRow(latency, again.receiver, again.api, offered)
    if (!first?.p99Us) return []
    const r = again.p99Us / first.p99Us
    return [Math.max(r, 1 / r)]
  })
  return factors.length === 0 ? null : Math.max(...factors)
}

/**
 * A p99, or a ratio of p99s, against an upper bound, read with the run's A/A factor: within only
 * if it stays within when multiplied by the factor, beyond only if it stays beyond when divided
 * by it; between the two this run cannot tell. Without a control: the plain comparison.
 */
export const atMost = (value: number, bound: number, factor: number | null, strict = false): Verdict => {
  const within = (v: number) => (strict ? v < bound : v <= bound)
  const f = factor ?? 1
  return within(value * f) ? "pass" : within(value / f) ? "unsure" : "fail"
}

const unsureMark = (v: Verdict): string => (v === "unsure" ? " (cannot tell)" : "")

/**
 * Issue #14's targets: the user's path (async `submit`, fresh transactions through `send`), next
 * to references measured in the same run. A target is met only if every cell it names was
 * measured and passes; the latency targets' cells are read against the run's A/A control.
 */
export const userPathTargets = (
  latency: ReadonlyArray<LatencyResult>,
  userPath: ReadonlyArray<CellResult>,
  largeFrames: ReadonlyArray<LargeFrameCell>
): Array<Target> => {
  const row = (receiver: string, api: LatencyResult["api"], offered: number) =>
    latency.find(
      (l) =>
        l.receiver === receiver &&
        l.api === api &&
        l.offered === offered &&
        l.status === "ok" &&
        l.p99Us !== null &&
        // The txlane receiver's default ordering; rows recorded without one ran "per-connection".
        (receiver !== "txlane" || l.ordering === "none") &&
        !l.control
    )
  const apis = ["payload", "send"] as const
  const loads = [1_000, 10_000] as const
  const factors = new Map(loads.map((offered) => [offered, controlFactor(latency, offered)]))
  // Appended to each latency target's figure: the factors its verdicts were read with.
  const controlNote = (at: ReadonlyArray<(typeof loads)[number]>) => {
    const known = at.flatMap((offered) => {
      const f = factors.get(offered)
      return f == null ? [] : [`${int(offered)}/s ${times(f)}`]
    })
    return known.length === 0 ? "" : `; this run's A/A control: ${known.join(", ")}`
  }

  // The txlane receiver's p99 within 1.2× a reference receiver's, same sender and load, in each
  // of the four cells (both APIs, 1k and 10k/s).
  const receiverWithin = (reference: string) =>
    apis.flatMap((api) =>
      loads.flatMap((offered): Array<Part> => {
        const mine = row("txlane", api, offered)
        const ref = row(reference, api, offered)
        if (!mine || !ref) return []
        const ratio = mine.p99Us! / ref.p99Us!
        const verdict = atMost(ratio, 1.2, factors.get(offered) ?? null)
        return [
          {
            text: `${API_NAMES[api]} ${int(offered)}/s: ${times(ratio)} (${int(mine.p99Us)} vs ${int(ref.p99Us)} µs)${unsureMark(verdict)}`,
            verdict
          }
        ]
      })
    )
  const vsRust = receiverWithin("rust")

  // Each API against the best raw client in the run that does no more work: the pre-encoded one,
  // and for send(txs) also the one encoding each envelope (recorded since the full run of 2026-12-02 12:40).
  const floorOf = (api: (typeof apis)[number]) => {
    const floors = rawClientsFor(api).flatMap((client) => {
      const r = row("rust", client, 10_000)
      return r ? [r] : []
    })
    return floors.length === 0 ? undefined : floors.reduce((a, b) => (b.p99Us! < a.p99Us! ? b : a))
  }
  const floorName = (floor: LatencyResult) => `the ${RAW_CLIENT_NAMES[floor.api]}'s`
  // Each API's row into the Rust receiver at 10k/s and its floor, read once for #14.2 and its
  // recorded form.
  const senderCells = apis.flatMap((api) => {
    const mine = row("rust", api, 10_000)
    return mine ? [{ api, mine, floor: floorOf(api) }] : []
  })
  const tail = senderCells.map(({ api, mine, floor }): Part => {
    const ref = floor ? ` (${times(mine.p99Us! / floor.p99Us!)} ${floorName(floor)} ${int(floor.p99Us)} µs)` : ""
    const verdict = atMost(mine.p99Us!, 1_000, factors.get(10_000) ?? null, true)
    return { text: `${API_NAMES[api]} ${int(mine.p99Us)} µs${ref}${unsureMark(verdict)}`, verdict }
  })

  // The targets recorded for this 2-vCPU machine (bench/PROFILE.md, 2026-12-02): the same factor,
  // 1.2×, over the floor a Node program reaches in the same run, where the absolute
  // reference is out of reach for any Node process here.
  const vsNodeReceiver = receiverWithin("raw")
  const vsRawClient = senderCells.flatMap(({ api, mine, floor }): Array<Part> => {
    if (!floor) return []
    const ratio = mine.p99Us! / floor.p99Us!
    const verdict = atMost(ratio, 1.2, factors.get(10_000) ?? null)
    return [
      {
        text: `${API_NAMES[api]} ${times(ratio)} (${int(mine.p99Us)} µs vs ${floorName(floor)} ${int(floor.p99Us)} µs)${unsureMark(verdict)}`,
        verdict
      }
    ]
  })

  const path = (["send", "payload"] as const).flatMap((api): Array<Part> => {
    const r = userPathRatio(userPath, api)
    return r === null ? [] : [{ text: `${API_NAMES[api]} ${times(r)}`, verdict: passIf(r >= 0.9) }]
  })

  const measured = (value: number | null, part: (v: number) => Part): Array<Part> =>
    value === null ? [] : [part(value)]
  const largeVsRaw = roundRatio(largeFrames, "txlane", "raw")
  const largeGc = measured(gcShareOf(largeFrames, "txlane"), (s) => ({
    text: `GC ${pct(s)} of receiver CPU`,
    verdict: passIf(s <= 0.15)
  }))
  const large = [
    ...measured(roundRatio(largeFrames, "txlane", "zeromq"), (r) => ({
      text: `${times(r)} zeromq.js`,
      verdict: passIf(r >= 1)
    })),
    ...measured(largeVsRaw, (r) => ({ text: `${times(r)} raw`, verdict: passIf(r >= 0.8) })),
    ...largeGc
  ]
  const largeRecorded = [
    ...measured(largeVsRaw, (r) => ({ text: `${times(r)} raw`, verdict: passIf(r >= 0.9) })),
    ...largeGc
  ]

  return [
    judgeParts(
      {
        id: "user-latency-vs-rust",
        description:
          "#14.1 acknowledged p99 into the txlane receiver (async `submit`) ≤ 1.2× into the Rust receiver, same sender, at 1k and 10k batches/s, `sendPayload` and `send(txs)`"
      },
      vsRust,
      apis.length * loads.length,
      "; ",
      controlNote(loads)
    ),
    judgeParts(
      {
        id: "sender-tail-10k",
        description:
          "#14.2 the sender's own tail: acknowledged p99 < 1 ms at 10k batches/s into the Rust receiver, `sendPayload` and `send(txs)`"
      },
      tail,
      apis.length,
      "; ",
      controlNote([10_000])
    ),
    judgeParts(
      {
        id: "user-path-vs-raw",
        description:
          "#14.3 user path (async `submit`) ≥ 0.9× a raw `node:net` pump doing the same work, `send(txs)` and `sendPayload`"
      },
      path,
      2,
      "; ",
      " (medians of per-round ratios)"
    ),
    judgeParts(
      {
        id: "large-frames-vs-zeromq",
        description: "#14.4 1 MiB frames: txlane ≥ 1.0× zeromq.js and ≥ 0.8× the raw pump, GC ≤ 15% of receiver CPU"
      },
      large,
      3,
      ", "
    ),
    judgeParts(
      {
        id: "user-latency-vs-node-receiver",
        description:
          "#14.1 as recorded for this machine: acknowledged p99 into the txlane receiver (async `submit`) ≤ 1.2× into the bare `node:net` receiver, same sender, same run, at 1k and 10k batches/s, `sendPayload` and `send(txs)`"
      },
      vsNodeReceiver,
      apis.length * loads.length,
      "; ",
      controlNote(loads)
    ),
    judgeParts(
      {
        id: "sender-tail-vs-raw-client",
        description:
          "#14.2 as recorded for this machine: acknowledged p99 at 10k batches/s into the Rust receiver ≤ 1.2× the best raw `node:net` client of the same run doing no more work (pre-encoded; for `send(txs)` also encoding each envelope)"
      },
      vsRawClient,
      apis.length,
      "; ",
      controlNote([10_000])
    ),
    judgeParts(
      {
        id: "large-frames-vs-raw",
        description:
          "#14.4 as recorded for this machine: 1 MiB frames, txlane ≥ 0.9× the raw pump, GC ≤ 15% of receiver CPU"
      },
      largeRecorded,
      2,
      ", "
    )
  ]
}

// ---------------------------------------------------------------------------------------------
// Recommended defaults

const recommend = (
  dimension: "workers" | "handlers" | "queue",
  sweeps: ReadonlyArray<CellResult>,
  ack: ReadonlyArray<LatencyResult>
): Recommendation => {
  const current = currentDefaults[dimension]
  const ff = new Map<number, number>()
  for (const s of sweeps)
    if (s.status === "ok" && typeof s.params[dimension] === "number" && s.batchesPerSec !== null)
      ff.set(s.params[dimension] as number, s.batchesPerSec)
  const ac = new Map<number, number>()
  if (dimension === "workers")
    for (const a of ack)
      if (a.status === "ok" && a.workers !== null && a.achievedRate) ac.set(a.workers, a.achievedRate)
  if (ff.size === 0) return { value: current, current, why: "no sweep data in this run; keeping the current default" }
  const bestFf = Math.max(...ff.values())
  const bestAc = ac.size > 0 ? Math.max(...ac.values()) : 0
  const score = (v: number) => {
    const a = (ff.get(v) ?? 0) / bestFf
    return ac.size > 0 && ac.has(v) ? Math.min(a, (ac.get(v) ?? 0) / bestAc) : a
  }
  const values = [...ff.keys()].sort((a, b) => a - b)
  const within = values.find((v) => score(v) >= 0.95)
  const value = within ?? values.reduce((a, b) => (score(b) > score(a) ? b : a))
  const why =
    within !== undefined
      ? `smallest value within 5% of the best ${dimension === "workers" && ac.size > 0 ? "fire-and-forget and acknowledged throughput" : "throughput"} (${pct(score(value))} of best)`
      : `best throughput in the sweep (${pct(score(value))})`
  return { value, current, why }
}

export const recommendDefaults = (
  sweeps: ReadonlyArray<CellResult>,
  ack: ReadonlyArray<LatencyResult>
): Results["recommended"] => ({
  workers: recommend("workers", sweeps, ack),
  handlers: recommend("handlers", sweeps, ack),
  queue: recommend("queue", sweeps, ack)
})

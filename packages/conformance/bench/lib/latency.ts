/**
 * Latency series: one receiver process per offered load (so each load gets its own event-loop
 * and GC figures), and `bench/latency-sender.ts` at that load, both on the upstream batch shape.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect } from "effect"
import { type CaseFailure, transportError } from "../../src/harness/Outcome.js"
import * as Process from "../../src/harness/Process.js"
import { int, num, times } from "./format.js"
import { type LoopFigures, readLoopStats } from "./loop-stats.js"
import { noUsage, type ProcUsage, type RunContext, readUsage, timed } from "./measure.js"
import type { BenchImpl } from "./plan.js"
import { measuredBy } from "./provenance.js"
import type { Results } from "./results.js"

/**
 * How the latency sender hands batches over: `sendPayload(pre-encoded)`, `send(transactions)`, or
 * no txlane sender at all but a plain `node:net` client (lib/raw-client.ts), the floor of any
 * Node sender on the machine in the same run: `raw` writes pre-encoded payloads, `raw-send`
 * encodes each envelope first (recorded since the full run of 2026-12-02 12:40).
 */
export type Api = "payload" | "send" | "raw" | "raw-send"

/**
 * The raw clients that do no more work than a txlane API: its floors in the same run. `send`
 * has two: the client encoding each envelope does its work; the pre-encoded one less, and is
 * often the faster (a fresh buffer per `Envelope.encode` costs the encoding client collections).
 */
export const rawClientsFor = (api: "payload" | "send"): ReadonlyArray<Api> =>
  api === "payload" ? ["raw"] : ["raw", "raw-send"]

/** How a table names a raw client. */
export const RAW_CLIENT_NAMES: Partial<Record<Api, string>> = { raw: "raw client", "raw-send": "encoding raw client" }

/** The txlane receiver's `ordering` option. */
export type Ordering = "none" | "per-connection"

// A txlane row's ordering; rows recorded without one ran the default of their time, per-connection.
const orderingOf = (l: LatencyResult): Ordering => l.ordering ?? "per-connection"

/** One offered load of one series. */
export interface LatencyResult {
  readonly series: string
  readonly receiver: string
  readonly api: Api
  /**
   * The txlane receiver's `ordering`. Results recorded before 2026-12-01 have it only where it was
   * `"none"`; their other txlane rows ran the default of that time, `"per-connection"`.
   */
  readonly ordering?: Ordering | undefined
  /** Offered batches/s; 0 = saturation. */
  readonly offered: number
  readonly workers: number | null
  readonly status: "ok" | "failed" | "skipped"
  readonly reason?: string | undefined
  readonly achievedRate: number | null
  readonly recorded: number | null
  readonly p50Us: number | null
  readonly p99Us: number | null
  readonly p999Us: number | null
  readonly maxUs: number | null
  readonly serviceP50Us: number | null
  readonly serviceP99Us: number | null
  readonly maxOutstanding: number | null
  readonly senderUsage: ProcUsage
  /** The latency sender's event-loop delay and GC pauses over the recorded window. */
  readonly senderLoop: LoopFigures | null
  /** The receiver's, from its first frame to its exit (TS receivers only; null for Rust). */
  readonly receiverLoop: LoopFigures | null
  /**
   * Share of the machine's CPU time the hypervisor gave to others while the latency sender ran
   * (`steal` in /proc/stat), in percent; null off Linux. On a shared VM it is what no program
   * here controls: a stolen slice stalls sender and receiver alike.
   */
  readonly stealPct?: number | null | undefined
  /**
   * With rounds (`medianRounds`): this row is the round whose p99 is the median, and these are
   * the p99s of every round in run order (null for a round that failed).
   */
  readonly p99Rounds?: ReadonlyArray<number | null> | undefined
  /** A second series of the same receiver and API in the same rounds: the run's A/A control. */
  readonly control?: boolean | undefined
}

const latencyFailed = (
  s: LatencySeries,
  offered: number,
  workers: number | null,
  reason: string,
  status: "failed" | "skipped" = "failed"
): LatencyResult => ({
  series: s.series,
  receiver: s.receiver.name,
  api: s.api ?? "payload",
  ordering: s.ordering,
  offered,
  workers,
  status,
  reason,
  achievedRate: null,
  recorded: null,
  p50Us: null,
  p99Us: null,
  p999Us: null,
  maxUs: null,
  serviceP50Us: null,
  serviceP99Us: null,
  maxOutstanding: null,
  senderUsage: noUsage,
  senderLoop: null,
  receiverLoop: null,
  stealPct: null,
  ...(s.control ? { control: true } : {})
})

/** A receiver and the loads to offer it. */
export interface LatencySeries {
  readonly series: string
  readonly receiver: BenchImpl
  /** Default `payload`. */
  readonly api?: Api | undefined
  /** Extra receiver flags, e.g. `--submit async` for the txlane receiver. */
  readonly receiverFlags?: ReadonlyArray<string> | undefined
  /** The txlane receiver's `ordering` (txlane receiver only). */
  readonly ordering?: Ordering | undefined
  /**
   * This series measures a receiver and API that another series of the same rounds measures too
   * (an A/A control): the two differ only by when they ran, so their ratio is how far the same
   * measurement moves within one run (judge.ts reads every latency target against it).
   */
  readonly control?: boolean | undefined
  readonly loads: ReadonlyArray<{ readonly offered: number; readonly workers?: number | undefined }>
  readonly durationMs: number
  /**
   * Open-loop loads record at least this many batches, lengthening `durationMs` where the rate is
   * low: a p99 over 3,000 batches (3 s at 1k/s) is the 30th slowest, which one stall of the
   * machine sets; over 10,000 it takes ten.
   */
  readonly minRecorded?: number | undefined
  readonly warmupMs: number
  /** Batches kept unanswered in saturation mode. */
  readonly window: number
}

/** How long a load of `s` records: `durationMs`, lengthened to `minRecorded` batches at an open-loop rate. */
export const recordedMs = (s: Pick<LatencySeries, "durationMs" | "minRecorded">, offered: number): number =>
  offered > 0 && s.minRecorded !== undefined
    ? Math.max(s.durationMs, Math.ceil((s.minRecorded / offered) * 1000))
    : s.durationMs

let seriesCounter = 0

/** The `cpu` line of /proc/stat: [steal, total] jiffies, or undefined off Linux. */
const cpuJiffies = (): readonly [number, number] | undefined => {
  try {
    const fields = fs.readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1, 9).map(Number)
    return [fields[7] ?? 0, fields.reduce((a, b) => a + b, 0)]
  } catch {
    return undefined
  }
}

const stealBetween = (
  before: readonly [number, number] | undefined,
  after: readonly [number, number] | undefined
): number | null =>
  before === undefined || after === undefined || after[1] === before[1]
    ? null
    : Math.round(((after[0] - before[0]) / (after[1] - before[1])) * 1000) / 10

/**
 * One row per series and offered load out of several rounds of it: the ok round whose p99 is the
 * median (the lower middle for an even count; a failed row if no round was ok), with every
 * round's p99 in `p99Rounds`. A whole row from one round keeps its figures consistent with each other.
 */
export const medianRounds = (results: ReadonlyArray<LatencyResult>): Array<LatencyResult> => {
  const groups = new Map<string, Array<LatencyResult>>()
  for (const r of results) {
    const key = `${r.series}\u0000${r.offered}\u0000${r.workers}`
    const group = groups.get(key)
    if (group === undefined) groups.set(key, [r])
    else group.push(r)
  }
  return [...groups.values()].map((rounds) => {
    const ok = rounds.filter((r) => r.status === "ok" && r.p99Us !== null).sort((a, b) => a.p99Us! - b.p99Us!)
    const row = ok.length > 0 ? ok[Math.floor((ok.length - 1) / 2)]! : rounds[rounds.length - 1]!
    return { ...row, p99Rounds: rounds.map((r) => (r.status === "ok" ? r.p99Us : null)) }
  })
}

const figures = (l: LoopFigures | null): string =>
  l === null ? "n/a" : `loop p99 ${l.eventLoopDelayP99Us} µs, GC p99 ${l.gcPauseP99Us} µs`

/**
 * For each load: a receiver (`--respond json`), then `bench/latency-sender.ts` in its own
 * process; then the receiver is stopped and its event-loop figures read. Never fails: a failure
 * is a `failed` result.
 */
export const runLatency = (
  s: LatencySeries,
  latencySenderArgv: ReadonlyArray<string>,
  ctx: RunContext
): Effect.Effect<ReadonlyArray<LatencyResult>> => {
  const a = s.receiver.availability()
  if (!a.ok)
    return Effect.succeed(s.loads.map((l) => latencyFailed(s, l.offered, l.workers ?? null, a.reason, "skipped")))
  const id = ++seriesCounter
  // Only the TS receivers measure their own event loop.
  const measuresLoop = s.receiver.name === "txlane" || s.receiver.name === "raw"
  return Effect.forEach(s.loads, (load) => {
    const base = path.join(ctx.tmp, `l${id}-${load.offered}-${load.workers ?? 0}`)
    const file = `${base}.json`
    const receiverLoopFile = `${base}.receiver-loop.json`
    const timeFile = `${file}.time`
    const durationMs = recordedMs(s, load.offered)
    const argv = [
      ...latencySenderArgv,
      "--rate",
      String(load.offered),
      "--duration-ms",
      String(durationMs),
      "--warmup-ms",
      String(s.warmupMs),
      "--window",
      String(s.window),
      "--api",
      s.api ?? "payload",
      "--out",
      file,
      ...(load.workers === undefined ? [] : ["--workers", String(load.workers)])
    ]
    return Effect.scoped(
      Effect.gen(function* () {
        const receiver = yield* Process.spawn(
          `${s.receiver.name} receiver`,
          s.receiver.command("receiver", path.join(ctx.tmp, `l${id}.sock`), [
            "--respond",
            "json",
            ...(s.receiverFlags ?? []),
            ...(s.ordering === undefined ? [] : ["--ordering", s.ordering]),
            ...(measuresLoop ? ["--loop-stats", receiverLoopFile] : [])
          ])
        )
        const ready = yield* receiver.listening(30_000)
        const cpuBefore = cpuJiffies()
        const sender = yield* Process.spawn("latency sender", timed([...argv, "--endpoint", ready.endpoint], timeFile))
        const exit = yield* sender.exited(s.warmupMs + durationMs + 45_000)
        const stealPct = stealBetween(cpuBefore, cpuJiffies())
        if (!fs.existsSync(file))
          return yield* transportError(
            `latency sender: ${Process.describeExit(exit)}, no result; stderr: ${sender.stderrTail().trim().slice(-300)}`
          )
        yield* receiver.terminate(10_000).pipe(Effect.ignore)
        const r = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, number> & { loop?: LoopFigures }
        const ok: LatencyResult = {
          ...latencyFailed(s, load.offered, load.workers ?? null, ""),
          status: "ok",
          reason: undefined,
          achievedRate: r.achievedRate ?? null,
          recorded: r.recorded ?? null,
          p50Us: r.p50Us ?? null,
          p99Us: r.p99Us ?? null,
          p999Us: r.p999Us ?? null,
          maxUs: r.maxUs ?? null,
          serviceP50Us: r.serviceP50Us ?? null,
          serviceP99Us: r.serviceP99Us ?? null,
          maxOutstanding: r.maxOutstanding ?? null,
          senderUsage: readUsage(timeFile),
          senderLoop: r.loop ?? null,
          receiverLoop: measuresLoop ? readLoopStats(receiverLoopFile) : null,
          stealPct
        }
        return ok
      })
    ).pipe(
      Effect.catchTag("CaseFailure", (e: CaseFailure) =>
        Effect.succeed(latencyFailed(s, load.offered, load.workers ?? null, e.detail))
      ),
      Effect.tap((result) =>
        Effect.sync(() => {
          const rate = load.offered === 0 ? "saturation" : `${load.offered}/s`
          ctx.log(
            result.status === "ok"
              ? `  ${s.series} ${rate}${load.workers ? ` workers=${load.workers}` : ""}: p50 ${result.p50Us} µs, p99 ${result.p99Us} µs, p99.9 ${result.p999Us} µs, ${result.achievedRate} acked/s; sender ${figures(result.senderLoop)}; receiver ${figures(result.receiverLoop)}; steal ${result.stealPct ?? "n/a"}%`
              : `  ${s.series} ${rate}: FAILED — ${result.reason}`
          )
        })
      )
    )
  })
}

/** The ok row of a receiver, API and load from its first series (not its A/A control). */
export const firstSeriesRow = (
  latency: ReadonlyArray<LatencyResult>,
  receiver: string,
  api: Api,
  offered: number
): LatencyResult | undefined =>
  latency.find(
    (l) => l.receiver === receiver && l.api === api && l.offered === offered && l.status === "ok" && !l.control
  )

/** The section heading (BENCHMARKS.md; splice.ts finds the section by it). */
export const LATENCY_HEADING = "## Acknowledged latency"

const LATENCY_NOTE =
  '`bench/latency-sender.ts`: `createSender({ delivery: "acknowledged" })` with default settings, an open-loop producer that schedules batch *i* at `start + i/rate` (paced by a worker thread sleeping on `Atomics.wait`, so the producer does not spin a core: lib/pacer.ts), and an HDR histogram of *ack time − scheduled time* (so a stalled producer or receiver counts against latency: no coordinated omission). *Service time* is ack time − actual send time. Saturation: a closed loop keeping 64 batches unanswered, latency from the `send` call. The same sender, in the same run, into the txlane receiver (`@txlane/receiver` defaults, `submit` answering on a later turn, `--submit async`) and into the Rust peer receiver (which digests every transaction); each load gets a fresh receiver process. `sendPayload` hands pre-encoded payloads, `send(txs)` transaction lists (the envelope encoded on every call). Upstream batch shape; Unix socket. Each open-loop cell records 3 s or 10,000 batches, whichever is longer (10 s at 1k/s, since the run of 2026-12-02 14:05; 3 s before), so that a p99 is the 100th slowest batch or later, not the 30th, which one stall sets. Batches of the first 2 s are sent but not recorded (warm-up): a cold txlane receiver offered 10k/s builds a backlog of 100–300 ms while its code is still unoptimized and needs about a second to drain it, which is start-up, not the steady-state tail measured here. Each process is started in its own session (`setsid`), so with Linux autogroup scheduling each has its own CPU share, as separate services do. Every series runs in rounds, round-robin (3 in a full run, or `--latency-rounds N`; the column *p99 µs of each round* lists them), so drift in the machine touches every row alike; a row is the round whose p99 is the median, and the p99 of every round is listed, because the p99 of one window moves by several times on this VM. Event-loop delay p99 is `perf_hooks.monitorEventLoopDelay` (1 ms resolution) and GC pause p99 is `PerformanceObserver` `gc` entries: for the sender over its recorded window, for the TS receivers from their first frame to their exit (warm-up included); the Rust receiver has neither (n/a). *Raw `node:net` client* rows: no txlane sender, one plain connection writing each frame at once and matching answers in order (lib/raw-client.ts), into the Rust receiver: the floor of a Node sender on this machine in this run; it writes pre-encoded payloads (the floor for `sendPayload`) or, *encoding each envelope* (`Envelope.encode` per batch, as the user path\'s raw pump), transaction lists (the floor for `send(txs)`). *Raw `node:net` receiver* rows: the same txlane sender into a plain `node:net` server that decodes every frame (`FrameDecoder`, `Envelope.decode`) and answers each on a later turn (`setImmediate`), with no queues or handlers (bench/peers/raw.ts): the floor of a Node receiver in this run. *txlane* rows name the receiver\'s `ordering`: `"none"` (its default since 2026-12-01; before, `"per-connection"`) lets a connection\'s frames be submitted in parallel (answers still in request order), as in the Rust receiver, whose handler pool takes frames from every connection; with `"per-connection"`, a connection\'s next frame waits until the previous `submit` has settled, so with this `submit` each connection advances by at most one frame per turn of the event loop (receiver README, "Performance notes"). *p99 vs reference*: a Node-receiver row against the Rust receiver (same API, same load: target 1), and a txlane-receiver row also against the raw `node:net` receiver; a Rust-receiver row against the raw clients doing no more work (same load: how far the txlane sender is from the floor, target 2). *CPU stolen*: the share of CPU time the hypervisor gave to other guests while the row ran (`steal` in /proc/stat); a stolen slice stalls sender and receiver alike, and no program here controls it. *Again (A/A control)* rows (every run but a quick one, since 2026-12-02 15:25): the bare `node:net` and the Rust receivers measured a second time with `sendPayload` at 1k and 10k/s, as separate series of the same rounds, placed as far from their first series as the txlane receiver is from Rust; *p99 vs reference* is then the ratio of the same measurement taken twice, which is how far this run can resolve a ratio (the Targets section judges every latency target against it).'

const roundsCell = (l: LatencyResult): string =>
  l.p99Rounds === undefined ? "–" : l.p99Rounds.map((p) => (p === null ? "failed" : num(p, 0))).join(" / ")

const loopCell = (l: LoopFigures | null, key: "eventLoopDelayP99Us" | "gcPauseP99Us"): string =>
  l === null ? "n/a" : num(l[key], 0)

/** The acknowledged-latency section's Markdown (heading included). */
export const renderLatency = (r: Results): Array<string> => {
  const L: Array<string> = [LATENCY_HEADING, ""]
  if (r.latency.length === 0) return [...L, "Not measured in this run (`--only latency` measures it).", ""]
  L.push(measuredBy(r), "", LATENCY_NOTE, "")
  L.push(
    "| sender API | offered batches/s | receiver | achieved acked/s | p50 µs | p99 µs | p99 µs of each round | p99.9 µs | p99 vs reference | service p99 µs | sender loop delay p99 µs | sender GC pause p99 µs | receiver loop delay p99 µs | receiver GC pause p99 µs | CPU stolen |",
    "|---|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
  )
  const apiName: Record<Api, string> = {
    payload: "`sendPayload`",
    send: "`send(txs)`",
    raw: "raw `node:net` client",
    "raw-send": "raw `node:net` client, encoding each envelope"
  }
  const apiRank: Record<Api, number> = { payload: 0, raw: 1, send: 2, "raw-send": 3 }
  const receiverRank: Record<string, number> = { txlane: 0, raw: 2 }
  // By API (each txlane API followed by its raw floor), offered load (saturation last), then
  // txlane (its default ordering, "none", first), the raw node:net receiver and Rust.
  // A control row follows the row it repeats.
  const rank = (l: LatencyResult): number =>
    apiRank[l.api] * 1e9 +
    (l.offered === 0 ? 1e8 : l.offered) * 4 +
    (receiverRank[l.receiver] ?? 3) +
    (orderingOf(l) === "none" ? 0 : 1) +
    (l.control ? 0.5 : 0)
  const ordered = [...r.latency].sort((a, b) => rank(a) - rank(b))
  const ok = (api: Api, receiver: string, offered: number) => firstSeriesRow(r.latency, receiver, api, offered)
  // Into a Node receiver: against the Rust receiver (same sender, same load; target 1), and the
  // txlane receiver also against the raw node:net receiver (what any Node receiver reaches). Into
  // the Rust receiver: against the raw clients doing no more work (same receiver, same load; what
  // target 2 can reach).
  const against = (p99: number, ref: LatencyResult | undefined, name: string): ReadonlyArray<string> =>
    ref?.p99Us ? [`${times(p99 / ref.p99Us)} ${name}`] : []
  const reference = (l: LatencyResult): string => {
    if (l.p99Us === null) return "–"
    if (l.control) return against(l.p99Us, ok(l.api, l.receiver, l.offered), "the first (A/A)")[0] ?? "–"
    if (l.api === "raw" || l.api === "raw-send") return "–"
    const refs =
      l.receiver === "rust"
        ? rawClientsFor(l.api).flatMap((client) =>
            against(l.p99Us!, ok(client, "rust", l.offered), RAW_CLIENT_NAMES[client]!)
          )
        : [
            ...against(l.p99Us, ok(l.api, "rust", l.offered), "Rust"),
            ...(l.receiver === "txlane" ? against(l.p99Us, ok(l.api, "raw", l.offered), "node:net") : [])
          ]
    return refs.length === 0 ? "–" : refs.join(", ")
  }
  const receiverName = (l: LatencyResult) =>
    `${
      l.receiver === "raw"
        ? "raw `node:net`"
        : l.receiver === "txlane"
          ? `${l.receiver}, \`ordering: "${orderingOf(l)}"\``
          : l.receiver
    }${l.control ? ", again (A/A control)" : ""}`
  for (const l of ordered) {
    const offered = l.offered === 0 ? "saturation" : int(l.offered)
    const head = `| ${apiName[l.api]} | ${offered} | ${receiverName(l)}`
    if (l.status !== "ok") {
      L.push(`${head} | ${l.status}: ${(l.reason ?? "").replaceAll("|", "/").slice(0, 160)} | | | | | | | | | | | |`)
      continue
    }
    const steal = l.stealPct === null || l.stealPct === undefined ? "n/a" : `${num(l.stealPct, 1)}%`
    L.push(
      `${head} | ${int(l.achievedRate)} | ${num(l.p50Us)} | ${num(l.p99Us)} | ${roundsCell(l)} | ${num(l.p999Us)} | ${reference(l)} | ${num(l.serviceP99Us)} | ${loopCell(l.senderLoop, "eventLoopDelayP99Us")} | ${loopCell(l.senderLoop, "gcPauseP99Us")} | ${loopCell(l.receiverLoop, "eventLoopDelayP99Us")} | ${loopCell(l.receiverLoop, "gcPauseP99Us")} | ${steal} |`
    )
  }
  L.push("")
  return L
}

/**
 * The slice of the peer contract (PEERS.md) that the benchmark baselines follow: the same
 * flags, ready line and report line, so the benchmark runner drives them like any other peer.
 * Baselines never compute the digest (`"digest":"0000000000000000"`): they exist to measure
 * transport cost, and the conformance matrix, not the benchmark, checks integrity.
 */
import { parseArgs } from "node:util"

/** Parsed command line of a baseline peer. */
export interface Args {
  readonly role: "send" | "receive"
  readonly listen: string
  readonly endpoint: string
  readonly batches: number
  readonly txPerBatch: number
  readonly txSize: number
  readonly seed: bigint
  readonly workers: number
  readonly expectTransactions: number | undefined
  /** `--respond` (the txlane peer and the raw receiver; the other baselines never respond). */
  readonly respond: string | undefined
  /** `--delivery` (txlane peer only). */
  readonly delivery: string | undefined
  /** `--queue` (txlane peer only). */
  readonly queue: number | undefined
  /** `--handlers` (txlane peer only). */
  readonly handlers: number | undefined
  /** `--api payload|send` (txlane peer only): `sendPayload(pre-encoded)` or `send(transactions)`. */
  readonly api: "payload" | "send"
  /** `--submit sync|async` (txlane and raw receivers): `async` resolves each `submit` on a later turn, as a consensus engine would. */
  readonly submit: "sync" | "async"
  /** `--ordering none|per-connection` (txlane receiver only): its `ordering` option; default none, as the library's. */
  readonly ordering: "per-connection" | "none"
  /** `--loop-stats FILE` (txlane, raw and zeromq receivers): writes its event-loop delay, GC pause and CPU figures there on exit. */
  readonly loopStats: string | undefined
}

/** Parses `send|receive --flag value ...`; exits with code 2 on a bad command line, as PEERS.md says. */
export const parse = (argv: ReadonlyArray<string>, defaultWorkers: number): Args => {
  try {
    const { positionals, values } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        listen: { type: "string" },
        endpoint: { type: "string" },
        respond: { type: "string" },
        batches: { type: "string", default: "1000" },
        "tx-per-batch": { type: "string", default: "50" },
        "tx-size": { type: "string", default: "650" },
        seed: { type: "string", default: "1" },
        workers: { type: "string", default: String(defaultWorkers) },
        "expect-transactions": { type: "string" },
        delivery: { type: "string" },
        queue: { type: "string" },
        handlers: { type: "string" },
        api: { type: "string", default: "payload" },
        submit: { type: "string", default: "sync" },
        ordering: { type: "string", default: "none" },
        "loop-stats": { type: "string" }
      }
    })
    const role = positionals[0]
    if (role !== "send" && role !== "receive") throw new Error("first argument must be send or receive")
    if (values.api !== "payload" && values.api !== "send") throw new Error("--api must be payload or send")
    if (values.submit !== "sync" && values.submit !== "async") throw new Error("--submit must be sync or async")
    if (values.ordering !== "per-connection" && values.ordering !== "none")
      throw new Error("--ordering must be per-connection or none")
    return {
      role,
      listen: values.listen ?? "",
      endpoint: values.endpoint ?? "",
      batches: Number(values.batches),
      txPerBatch: Number(values["tx-per-batch"]),
      txSize: Number(values["tx-size"]),
      seed: BigInt(values.seed),
      workers: Number(values.workers),
      expectTransactions:
        values["expect-transactions"] === undefined ? undefined : Number(values["expect-transactions"]),
      respond: values.respond,
      delivery: values.delivery,
      queue: values.queue === undefined ? undefined : Number(values.queue),
      handlers: values.handlers === undefined ? undefined : Number(values.handlers),
      api: values.api,
      submit: values.submit,
      ordering: values.ordering,
      loopStats: values["loop-stats"]
    }
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`)
    process.exit(2)
  }
}

/** Counters a baseline fills in. */
export interface Totals {
  frames: number
  transactions: number
  bytes: number
  firstAt: number
  lastAt: number
}

export const totals = (): Totals => ({ frames: 0, transactions: 0, bytes: 0, firstAt: 0, lastAt: 0 })

/** Prints the ready line. */
export const listening = (endpoint: string): void => {
  process.stdout.write(`${JSON.stringify({ event: "listening", endpoint })}\n`)
}

/** Prints the report line, with this process's CPU time and peak RSS. */
export const report = (impl: string, role: "sender" | "receiver", t: Totals, undelivered = 0): void => {
  const usage = process.resourceUsage()
  process.stdout.write(
    `${JSON.stringify({
      event: "report",
      role,
      impl,
      frames: t.frames,
      transactions: t.transactions,
      bytes: t.bytes,
      digest: "0000000000000000",
      acknowledged: 0,
      undelivered,
      responses: { ok: 0, error: 0 },
      errors: {},
      elapsedMs: Math.round(t.lastAt - t.firstAt), // PEERS.md: an integer
      cpuUserMs: usage.userCPUTime / 1000,
      cpuSystemMs: usage.systemCPUTime / 1000,
      maxRssKb: usage.maxRSS
    })}\n`
  )
}

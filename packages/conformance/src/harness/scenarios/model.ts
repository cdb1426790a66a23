/**
 * The matrix's vocabulary: a *scenario* expands into *units* (one run of some processes) that
 * produce one or more *cases* (one line of the matrix, one outcome each); and the case ids and
 * seeds shared by every scenario.
 *
 * @module
 */
import { Effect, type Scope } from "effect"
import type { Delivery, Transport } from "../Cells.js"
import { type CaseFailure, Outcome as O, type Outcome } from "../Outcome.js"
import type { Impl } from "../Peers.js"

/** One line of the matrix. */
export interface CaseInfo {
  /** Stable id, used by `--only` and `expected-failures.txt`: `stream/ts->rust/uds/acknowledged`. */
  readonly id: string
  readonly scenario: string
  /** Row and column of the scenario's table in the markdown report. */
  readonly row: string
  readonly col: string
  readonly sender?: string
  readonly receiver?: string
  readonly transport?: Transport
  readonly delivery?: Delivery
}

/** A run of processes producing the outcomes of `cases`, in order. */
export interface Unit {
  readonly cases: ReadonlyArray<CaseInfo>
  /** Implementations that must be available for it to run. */
  readonly impls: ReadonlyArray<Impl>
  /** Bound on the whole unit. */
  readonly timeoutMs: number
  /** The ok detail of each case (a failure of the unit fails every case not yet decided). */
  readonly run: Effect.Effect<ReadonlyArray<Outcome>, CaseFailure, Scope.Scope>
}

/** What to expand. */
export interface Plan {
  readonly quick: boolean
  readonly senders: ReadonlyArray<Impl>
  readonly receivers: ReadonlyArray<Impl>
  /**
   * Run the single-role scenarios of senders / of receivers (default true). Testing an outside
   * receiver alone turns the sender-only ones off, and vice versa.
   */
  readonly senderScenarios?: boolean | undefined
  readonly receiverScenarios?: boolean | undefined
}

/** A scenario: its name, one line on what it proves, and its units for a plan. */
export interface Scenario {
  readonly name: string
  readonly description: string
  /** The runs that make up this scenario under `plan` (its sizes and which peers take part). */
  readonly units: (plan: Plan) => ReadonlyArray<Unit>
}

/** Both transports, in report order. */
export const TRANSPORTS: ReadonlyArray<Transport> = ["uds", "tcp"]
/** Both delivery modes, in report order. */
export const DELIVERIES: ReadonlyArray<Delivery> = ["fire-and-forget", "acknowledged"]
/** The short name of a delivery mode in matrix columns. */
export const short = (d: Delivery) => (d === "acknowledged" ? "ack" : "ff")

/** A deterministic seed per case id (FNV-1a 64), so different cells use different workloads. */
export const seedOf = (id: string): bigint => {
  let h = 0xcbf29ce484222325n
  for (const c of Buffer.from(id)) h = BigInt.asUintN(64, (h ^ BigInt(c)) * 0x100000001b3n)
  return h
}

/** A unit with one case, whose ok detail is the effect's result. */
export const single = (effect: Effect.Effect<string, CaseFailure, Scope.Scope>) =>
  Effect.map(effect, (detail): ReadonlyArray<Outcome> => [O.ok({ detail })])

/** The case of a sender × receiver pair. */
export const pairCase = (scenario: string, s: Impl, r: Impl, t: Transport, d: Delivery): CaseInfo => ({
  id: `${scenario}/${s.name}->${r.name}/${t}/${d}`,
  scenario,
  row: `${s.name} → ${r.name}`,
  col: `${t} ${short(d)}`,
  sender: s.name,
  receiver: r.name,
  transport: t,
  delivery: d
})

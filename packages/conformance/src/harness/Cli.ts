/**
 * The `txlane-conformance` command (effect/cli): runs the scenario suite over the matrix and
 * prints the markdown report on stdout (progress on stderr), optionally writing JSON.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Console, Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import * as Matrix from "./Matrix.js"
import { builtIn, fromTemplate, type Impl, packageRoot } from "./Peers.js"
import * as Scenarios from "./Scenarios.js"

/** The committed list of expected failures. */
export const EXPECTED_FAILURES_FILE = path.join(packageRoot, "expected-failures.txt")

/** Options of {@link runConformance} (the CLI flags). */
export interface ConformanceOptions {
  readonly quick: boolean
  readonly json?: string | undefined
  readonly only?: string | undefined
  readonly receiverCmd?: string | undefined
  readonly receiverKind?: "peer" | "server" | undefined
  readonly senderCmd?: string | undefined
  readonly name?: string | undefined
  readonly expectedFailures?: string | undefined
  readonly concurrency?: number | undefined
  /** Print progress lines on stderr. */
  readonly progress?: boolean | undefined
}

/** Builds the plan: outside implementations replace the built-in ones in their role. */
export const makePlan = (options: ConformanceOptions): Scenarios.Plan => {
  const name = options.name ?? "custom"
  const receivers: ReadonlyArray<Impl> =
    options.receiverCmd !== undefined
      ? [fromTemplate(name, "receiver", options.receiverCmd, options.receiverKind ?? "peer")]
      : builtIn
  const senders: ReadonlyArray<Impl> =
    options.senderCmd !== undefined ? [fromTemplate(name, "sender", options.senderCmd)] : builtIn
  // An outside implementation in one role: the other role's single-role scenarios would only
  // re-test our own peers, so they are left out.
  const outsideReceiver = options.receiverCmd !== undefined
  const outsideSender = options.senderCmd !== undefined
  return {
    quick: options.quick,
    senders,
    receivers,
    senderScenarios: outsideSender || !outsideReceiver,
    receiverScenarios: outsideReceiver || !outsideSender
  }
}

/** Runs the suite and returns the report (does not print the matrix). */
export const runConformance = (options: ConformanceOptions): Effect.Effect<Matrix.MatrixReport> =>
  Effect.gen(function* () {
    const plan = makePlan(options)
    const report = yield* Matrix.run({
      scenarios: Scenarios.all,
      plan,
      filter: Matrix.makeFilter(options.only),
      filtered: options.only !== undefined && options.only.trim() !== "",
      expectedFailures: Matrix.readExpectedFailures(options.expectedFailures ?? EXPECTED_FAILURES_FILE),
      concurrency: options.concurrency ?? 1,
      onResult: options.progress ? (r) => process.stderr.write(`${Matrix.progressLine(r)}\n`) : undefined
    })
    if (options.json !== undefined) {
      fs.mkdirSync(path.dirname(path.resolve(options.json)), { recursive: true })
      fs.writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`)
    }
    return report
  })

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

/** The root command. */
export const command = Command.make(
  "txlane-conformance",
  {
    quick: Flag.Boolean("quick").pipe(
      Flag.withDescription("the CI subset: small workloads, fewer transport/delivery combinations (~3 min)"),
      Flag.withDefault(false)
    ),
    json: optionalString("json", "also write the full report as JSON to FILE"),
    only: optionalString(
      "only",
      "run only matching cases: comma-separated `key=value` (scenario, sender, receiver, impl, transport, delivery) or id substrings"
    ),
    receiverCmd: optionalString(
      "receiver-cmd",
      "test an outside receiver instead of ts/rust/go: a command with {endpoint}, e.g. './recv receive --listen {endpoint}'"
    ),
    receiverKind: Flag.Literals("receiver-kind", ["peer", "server"]).pipe(
      Flag.withDescription(
        "peer: the command follows PEERS.md (flags appended, ready and report lines); server: a plain txlane server answering JSON, whose responses are the evidence"
      ),
      Flag.withDefault("peer" as const)
    ),
    senderCmd: optionalString(
      "sender-cmd",
      "test an outside sender: a command with {endpoint}, e.g. './snd send --endpoint {endpoint}'"
    ),
    name: Flag.String("name").pipe(
      Flag.withDescription("name of the outside implementation in the matrix"),
      Flag.withDefault("custom")
    ),
    expectedFailures: optionalString(
      "expected-failures",
      "the expected-failure list (default: the package's expected-failures.txt)"
    ),
    concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("units run at once"), Flag.withDefault(1))
  },
  (flags) =>
    Effect.gen(function* () {
      const options: ConformanceOptions = {
        quick: flags.quick,
        json: Option.getOrUndefined(flags.json),
        only: Option.getOrUndefined(flags.only),
        receiverCmd: Option.getOrUndefined(flags.receiverCmd),
        receiverKind: flags.receiverKind,
        senderCmd: Option.getOrUndefined(flags.senderCmd),
        name: flags.name,
        expectedFailures: Option.getOrUndefined(flags.expectedFailures),
        concurrency: Math.max(1, flags.concurrency),
        progress: true
      }
      const report = yield* runConformance(options)
      yield* Console.log(Matrix.toMarkdown(report, Scenarios.all))
      if (!report.passed) process.exitCode = 1
    })
).pipe(
  Command.withDescription(
    "Runs the txlane conformance matrix: every sender (ts, rust, go) × every receiver over UDS and TCP, fire-and-forget and acknowledged, plus the receiver vectors and limit cases."
  )
)

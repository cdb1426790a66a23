/**
 * The `txlane-conformance` command (effect/cli): runs the scenario suite over the matrix and
 * prints the markdown report on stdout (progress on stderr), optionally writing JSON, JUnit XML
 * and a markdown step summary; `txlane-conformance peers build|list` builds and lists the Rust
 * and Go reference peers.
 *
 * Exit codes: 0 every cell passed (or is a listed expected failure, or was skipped); 1 a cell
 * failed, passed unexpectedly, or a required implementation (`--require`) is unavailable;
 * 2 a usage error — including an `--only` filter that names an unknown key or value, or matches
 * no case, so that a typo can never turn CI green by running nothing.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { Console, Data, Effect, Option, Result } from "effect"
import { Command, Flag } from "effect/cli"
import * as Deployed from "./Deployed.js"
import * as Matrix from "./Matrix.js"
import { builtIn, fromTemplate, type Impl, locatePeerBinary, packageRoot } from "./Peers.js"
import * as Scenarios from "./Scenarios.js"
import { PEER_BINARIES, PLATFORM, runTasks } from "./Toolchain.js"

/** The committed list of expected failures. */
export const EXPECTED_FAILURES_FILE = path.join(packageRoot, "expected-failures.txt")

/** A bad invocation (unknown `--only` key or value, a filter matching nothing, …): exit code 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {}

/** Options of {@link runConformance} (the CLI flags). */
export interface ConformanceOptions {
  readonly quick: boolean
  readonly json?: string | undefined
  /** Write JUnit XML (one testcase per cell) to this file. */
  readonly junit?: string | undefined
  /** Append a markdown summary table to this file (e.g. `$GITHUB_STEP_SUMMARY`). */
  readonly summaryMd?: string | undefined
  readonly only?: string | undefined
  readonly receiverCmd?: string | undefined
  readonly receiverKind?: "peer" | "server" | undefined
  readonly senderCmd?: string | undefined
  readonly name?: string | undefined
  readonly expectedFailures?: string | undefined
  readonly concurrency?: number | undefined
  /**
   * Built-in implementations that must be available (`rust`, `go`, `ts`): their cells fail
   * instead of being skipped when the peer is missing. Default: none (missing peers skip, loudly).
   */
  readonly require?: ReadonlyArray<string> | undefined
  /** Print progress lines on stderr. */
  readonly progress?: boolean | undefined
  /** Which scenarios to run (see {@link PROFILES}). Default `"all"`. */
  readonly profile?: Profile | undefined
}

/**
 * Scenario sets:
 * - `txlane`: against txlane and the reference peers (every pairing, vectors, limits, faults);
 * - `deployed`: against emulators of the deployed Rust server and Go producer;
 * - `all` (default): both.
 */
export const PROFILES = {
  all: [...Scenarios.all, ...Deployed.scenarios],
  txlane: Scenarios.all,
  deployed: Deployed.scenarios
} as const satisfies Record<string, ReadonlyArray<Scenarios.Scenario>>

/** A `--profile`. */
export type Profile = keyof typeof PROFILES

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

/** Splits a comma-separated flag value. */
export const commaList = (value: string | undefined): ReadonlyArray<string> =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "")

const writeFile = (file: string, text: string, append = false): void => {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true })
  if (append) fs.appendFileSync(file, text)
  else fs.writeFileSync(file, text)
}

/**
 * Runs the suite and returns the report (does not print the matrix). Fails with
 * {@link UsageError} before running anything if the options cannot mean what was intended.
 */
export const runConformance = (options: ConformanceOptions): Effect.Effect<Matrix.MatrixReport, UsageError> =>
  Effect.gen(function* () {
    const plan = yield* Effect.try({
      try: () => makePlan(options),
      catch: (error) => new UsageError({ message: error instanceof Error ? error.message : String(error) })
    })
    const builtInNames = builtIn.map((i) => i.name)
    const required = options.require ?? []
    const unknown = required.filter((r) => !builtInNames.includes(r))
    if (unknown.length > 0)
      return yield* new UsageError({
        message: `--require: unknown implementation ${unknown.join(", ")} (valid: ${builtInNames.join(", ")})`
      })
    const scenarios = PROFILES[options.profile ?? "all"]
    const checked = Matrix.checkFilter(options.only, Matrix.casesOf(scenarios, plan), scenarios)
    if ("error" in checked) return yield* new UsageError({ message: checked.error })
    const expectedFailuresFile = options.expectedFailures ?? EXPECTED_FAILURES_FILE
    if (!fs.existsSync(expectedFailuresFile))
      return yield* new UsageError({ message: `--expected-failures: no such file ${expectedFailuresFile}` })
    const report = yield* Matrix.run({
      scenarios,
      plan,
      filter: checked.filter,
      filtered: options.only !== undefined && options.only.trim() !== "",
      expectedFailures: Matrix.readExpectedFailures(expectedFailuresFile),
      concurrency: options.concurrency ?? 1,
      required,
      onResult: options.progress ? (r) => process.stderr.write(`${Matrix.progressLine(r)}\n`) : undefined
    })
    if (options.json !== undefined) writeFile(options.json, `${JSON.stringify(report, null, 2)}\n`)
    if (options.junit !== undefined) writeFile(options.junit, Matrix.toJUnit(report))
    if (options.summaryMd !== undefined) writeFile(options.summaryMd, Matrix.toSummaryMarkdown(report), true)
    return report
  })

/** A loud stderr banner for cells skipped because a reference peer is missing (empty if none). */
export const skipBanner = (report: Matrix.MatrixReport): string => {
  const skips = report.cases.filter((c) => c.verdict === "skip" && c.outcome._tag === "skipped" && c.outcome.toolchain)
  if (skips.length === 0) return ""
  const reasons = [...new Set(skips.map((c) => c.outcome.detail))]
  const rule = "!".repeat(78)
  return `\n${rule}\n!! ${skips.length} conformance cells SKIPPED because a reference peer is not available here:\n${reasons.map((r) => `!!   ${r}`).join("\n")}\n!! Pass --require ${[...new Set(skips.map((c) => (c.outcome._tag === "skipped" ? c.outcome.impl : undefined)))].filter((n) => n !== undefined).join(",")} to make that a failure.\n${rule}\n`
}

/** Set by the commands; the bin's teardown exits with it (see the module doc for the codes). */
export const exitCode: { code: number | undefined } = { code: undefined }

const optionalString = (name: string, description: string) =>
  Flag.String(name).pipe(Flag.withDescription(description), Flag.optional)

const usage = (message: string) =>
  Effect.gen(function* () {
    yield* Console.error(`txlane-conformance: ${message}`)
    exitCode.code = 2
  })

const peersBuild = Command.make(
  "build",
  {
    only: optionalString("only", "build only these peers: rust, go (comma-separated; default both)")
  },
  (flags) =>
    Effect.gen(function* () {
      const only = commaList(Option.getOrUndefined(flags.only))
      const bad = only.filter((o) => o !== "rust" && o !== "go")
      if (bad.length > 0) return yield* usage(`peers build --only: unknown peer ${bad.join(", ")} (valid: rust, go)`)
      const code = runTasks(packageRoot, ["build"], only.length > 0 ? only : undefined, { missing: "fail" })
      yield* Console.log(peerTable())
      exitCode.code = code
    })
).pipe(
  Command.withDescription(
    "Builds the Rust and Go reference peers from the sources shipped in the package (needs cargo / go; platforms without prebuilt binaries)."
  )
)

/** Where each reference peer binary was found, as a markdown table. */
export const peerTable = (): string =>
  [
    `| peer binary (${PLATFORM}) | found at |`,
    "|---|---|",
    ...PEER_BINARIES.map((b) => `| ${b.name} | ${locatePeerBinary(b.language, b.name) ?? "**missing**"} |`)
  ].join("\n")

const peersList = Command.make("list", {}, () => Console.log(peerTable())).pipe(
  Command.withDescription("Shows where each reference peer binary was found (prebuilt, built) or that it is missing.")
)

const peers = Command.make("peers").pipe(
  Command.withDescription("The Rust and Go reference peers: `peers list`, `peers build`."),
  Command.withSubcommands([peersBuild, peersList])
)

/** The root command. */
export const command = Command.make(
  "txlane-conformance",
  {
    quick: Flag.Boolean("quick").pipe(
      Flag.withDescription("the CI subset: small workloads, fewer transport/delivery combinations (~2 min)"),
      Flag.withDefault(false)
    ),
    json: optionalString("json", "also write the full report as JSON to FILE"),
    junit: optionalString("junit", "also write JUnit XML to FILE: one testcase per cell, failures with their detail"),
    summaryMd: optionalString(
      "summary-md",
      'append a markdown summary table to FILE (e.g. --summary-md "$GITHUB_STEP_SUMMARY")'
    ),
    only: optionalString(
      "only",
      "run only matching cases: comma-separated `key=value` (scenario, sender, receiver, impl, transport, delivery) or id substrings; a term matching nothing exits 2"
    ),
    require: optionalString(
      "require",
      "comma-separated built-in peers that must be available (rust, go, ts): their cells fail instead of being skipped when the peer is missing"
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
    concurrency: Flag.Int("concurrency").pipe(Flag.withDescription("units run at once"), Flag.withDefault(1)),
    profile: Flag.Literals("profile", ["all", "txlane", "deployed"]).pipe(
      Flag.withDescription(
        "which scenarios: txlane (against txlane and the reference peers), deployed (against emulators of the deployed Rust server and Go producer), all (both)"
      ),
      Flag.withDefault("all" as const)
    )
  },
  (flags) =>
    Effect.gen(function* () {
      const options: ConformanceOptions = {
        quick: flags.quick,
        json: Option.getOrUndefined(flags.json),
        junit: Option.getOrUndefined(flags.junit),
        summaryMd: Option.getOrUndefined(flags.summaryMd),
        only: Option.getOrUndefined(flags.only),
        require: commaList(Option.getOrUndefined(flags.require)),
        receiverCmd: Option.getOrUndefined(flags.receiverCmd),
        receiverKind: flags.receiverKind,
        senderCmd: Option.getOrUndefined(flags.senderCmd),
        name: flags.name,
        expectedFailures: Option.getOrUndefined(flags.expectedFailures),
        concurrency: Math.max(1, flags.concurrency),
        profile: flags.profile,
        progress: true
      }
      const result = yield* Effect.result(runConformance(options))
      if (Result.isFailure(result)) return yield* usage(result.failure.message)
      const report = result.success
      yield* Console.log(Matrix.toMarkdown(report, PROFILES[flags.profile]))
      const banner = skipBanner(report)
      if (banner !== "") yield* Console.error(banner)
      exitCode.code = report.passed ? 0 : 1
    })
).pipe(
  Command.withDescription(
    "Runs the txlane conformance matrix: every sender (ts, rust, go) × every receiver over UDS and TCP, fire-and-forget and acknowledged, the receiver vectors and limit cases, and every sender and receiver against emulators of the deployed Rust server and Go producer (--profile)."
  ),
  Command.withSubcommands([peers])
)

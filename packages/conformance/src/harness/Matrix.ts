/**
 * Runs the units of a plan, judges each case against the expected-failure list, and renders
 * the matrix (markdown for people, JSON for machines).
 *
 * @module
 */
import * as fs from "node:fs"
import { Cause, Effect, Exit, Option } from "effect"
import { fromFailure, Outcome as O, type Outcome, type Verdict, verdict } from "./Outcome.js"
import type { Impl } from "./Peers.js"
import type { CaseInfo, Plan, Scenario, Unit } from "./Scenarios.js"
import { isCI } from "./Toolchain.js"

/** A judged case. */
export interface CaseResult extends CaseInfo {
  readonly outcome: Outcome
  readonly expectedFailure: boolean
  readonly verdict: Verdict
  /** Wall time of the unit that produced it. */
  readonly elapsedMs: number
}

/** The whole run. */
export interface MatrixReport {
  readonly format: "txlane-conformance/1"
  readonly quick: boolean
  readonly ci: boolean
  readonly startedAt: string
  readonly elapsedMs: number
  readonly senders: ReadonlyArray<string>
  readonly receivers: ReadonlyArray<string>
  readonly summary: Readonly<Record<Verdict, number>>
  /** False when any case failed, passed unexpectedly, or was skipped under CI for a missing toolchain. */
  readonly passed: boolean
  /** Expected-failure entries that matched no case of this run. */
  readonly staleExpectedFailures: ReadonlyArray<string>
  readonly cases: ReadonlyArray<CaseResult>
}

/** Parses `expected-failures.txt`: one case id per line; `#` starts a comment. */
export const parseExpectedFailures = (text: string): Set<string> =>
  new Set(
    text
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter((line) => line !== "")
  )

/** Reads the expected-failure list; a missing file is an empty list. */
export const readExpectedFailures = (file: string): Set<string> => {
  try {
    return parseExpectedFailures(fs.readFileSync(file, "utf8"))
  } catch {
    return new Set()
  }
}

/**
 * `--only` filter: comma-separated terms. `key=value` (key: scenario, sender, receiver, impl,
 * transport, delivery) keeps cases whose field equals value (several values of one key are
 * alternatives); a bare term keeps cases whose id contains it. All keys must match.
 */
export const makeFilter = (only: string | undefined): ((info: CaseInfo) => boolean) => {
  if (only === undefined || only.trim() === "") return () => true
  const byKey = new Map<string, Array<string>>()
  for (const term of only
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")) {
    const eq = term.indexOf("=")
    const [key, value] = eq > 0 ? [term.slice(0, eq), term.slice(eq + 1)] : ["id", term]
    if (!["id", "scenario", "sender", "receiver", "impl", "transport", "delivery"].includes(key))
      throw new Error(`--only: unknown key ${key} in ${term}`)
    byKey.set(key, [...(byKey.get(key) ?? []), value])
  }
  return (info) =>
    [...byKey].every(([key, values]) =>
      values.some((v) => {
        switch (key) {
          case "id":
            return info.id.includes(v)
          case "impl":
            return info.sender === v || info.receiver === v
          default:
            return (info as unknown as Record<string, unknown>)[key] === v
        }
      })
    )
}

const unavailable = (impls: ReadonlyArray<Impl>): Outcome | undefined => {
  for (const impl of impls) {
    const a = impl.availability()
    if (!a.ok)
      return a.toolchain
        ? O.skipped({ detail: `${a.reason}`, toolchain: true })
        : O.transportError({ detail: `${impl.name}: ${a.reason}` })
  }
  return undefined
}

/** Runs one unit, bounded by its timeout; never fails. */
export const runUnit = (unit: Unit): Effect.Effect<ReadonlyArray<Outcome>> =>
  Effect.gen(function* () {
    const missing = unavailable(unit.impls)
    if (missing) return unit.cases.map(() => missing)
    const exit = yield* Effect.scoped(unit.run).pipe(Effect.timeoutOption(unit.timeoutMs), Effect.exit)
    if (Exit.isSuccess(exit)) {
      return Option.match(exit.value, {
        onNone: () => unit.cases.map(() => O.timeout({ detail: `unit exceeded ${unit.timeoutMs} ms` })),
        onSome: (outcomes) => outcomes
      })
    }
    const outcome = Option.match(Cause.findErrorOption(exit.cause), {
      onSome: fromFailure,
      onNone: () => O.transportError({ detail: `harness defect: ${Cause.pretty(exit.cause)}` })
    })
    return unit.cases.map(() => outcome)
  })

/** Options of {@link run}. */
export interface RunOptions {
  readonly scenarios: ReadonlyArray<Scenario>
  readonly plan: Plan
  readonly filter: (info: CaseInfo) => boolean
  readonly expectedFailures: ReadonlySet<string>
  /** Units run at once (the machine may be small: default 1). */
  readonly concurrency?: number
  /** Called as each unit finishes (progress lines). */
  readonly onResult?: ((result: CaseResult) => void) | undefined
  /** Whether a filter is active (then unmatched expected failures are not reported as stale). */
  readonly filtered?: boolean
}

/** Runs the plan and judges every case. */
export const run = (options: RunOptions): Effect.Effect<MatrixReport> =>
  Effect.gen(function* () {
    const started = Date.now()
    const units = options.scenarios.flatMap((s) => s.units(options.plan)).filter((u) => u.cases.some(options.filter))
    const results = yield* Effect.forEach(
      units,
      (unit) =>
        Effect.gen(function* () {
          const t0 = Date.now()
          const outcomes = yield* runUnit(unit)
          const elapsedMs = Date.now() - t0
          return unit.cases.flatMap((info, i): Array<CaseResult> => {
            if (!options.filter(info)) return []
            const outcome = outcomes[i] ?? O.transportError({ detail: "no outcome" })
            const expectedFailure = options.expectedFailures.has(info.id)
            const result: CaseResult = {
              ...info,
              outcome,
              expectedFailure,
              verdict: verdict(outcome, expectedFailure),
              elapsedMs
            }
            options.onResult?.(result)
            return [result]
          })
        }),
      { concurrency: options.concurrency ?? 1 }
    )
    const cases = results.flat()
    const summary: Record<Verdict, number> = { pass: 0, fail: 0, xfail: 0, xpass: 0, skip: 0 }
    for (const c of cases) summary[c.verdict]++
    const ci = isCI()
    const ids = new Set(cases.map((c) => c.id))
    return {
      format: "txlane-conformance/1",
      quick: options.plan.quick,
      ci,
      startedAt: new Date(started).toISOString(),
      elapsedMs: Date.now() - started,
      senders: options.plan.senders.map((i) => i.name),
      receivers: options.plan.receivers.map((i) => i.name),
      summary,
      passed:
        summary.fail === 0 &&
        summary.xpass === 0 &&
        !cases.some((c) => c.outcome._tag === "skipped" && c.outcome.toolchain && ci),
      staleExpectedFailures: options.filtered ? [] : [...options.expectedFailures].filter((id) => !ids.has(id)),
      cases
    }
  })

const symbol = (c: CaseResult): string => {
  switch (c.verdict) {
    case "pass":
      return "✅"
    case "xfail":
      return "⚠️ xfail"
    case "xpass":
      return "❗ xpass"
    case "skip":
      return c.outcome._tag === "skipped" ? `⏭️ skipped (${c.outcome.detail})` : "⏭️"
    case "fail":
      return `❌ ${c.outcome._tag}`
  }
}

/** The markdown matrix: one table per scenario, then every non-passing case with its detail. */
export const toMarkdown = (report: MatrixReport, scenarios: ReadonlyArray<Scenario>): string => {
  const lines: Array<string> = []
  const s = report.summary
  lines.push(
    `# txlane conformance${report.quick ? " (quick)" : ""}`,
    "",
    `senders: ${report.senders.join(", ")} · receivers: ${report.receivers.join(", ")} · ${report.cases.length} cases in ${(report.elapsedMs / 1000).toFixed(1)} s${report.ci ? " · CI" : ""}`,
    "",
    `**${report.passed ? "PASS" : "FAIL"}** — ${s.pass} pass, ${s.fail} fail, ${s.xfail} expected failures, ${s.xpass} unexpected passes, ${s.skip} skipped`,
    ""
  )
  for (const scenario of scenarios) {
    const cases = report.cases.filter((c) => c.scenario === scenario.name)
    if (cases.length === 0) continue
    const rows = [...new Set(cases.map((c) => c.row))]
    const cols = [...new Set(cases.map((c) => c.col))]
    lines.push(`## ${scenario.name}`, "", scenario.description, "")
    lines.push(`| | ${cols.join(" | ")} |`, `|---|${cols.map(() => "---").join("|")}|`)
    for (const row of rows) {
      const cells = cols.map((col) => {
        const c = cases.find((x) => x.row === row && x.col === col)
        return c ? symbol(c) : ""
      })
      lines.push(`| ${row} | ${cells.join(" | ")} |`)
    }
    lines.push("")
  }
  const notable = report.cases.filter((c) => c.verdict !== "pass")
  if (notable.length > 0) {
    lines.push("## Details", "")
    for (const c of notable) lines.push(`- \`${c.id}\` — **${c.verdict}** ${c.outcome._tag}: ${c.outcome.detail}`)
    lines.push("")
  }
  if (report.staleExpectedFailures.length > 0) {
    lines.push("## expected-failures.txt entries that matched no case", "")
    for (const id of report.staleExpectedFailures) lines.push(`- \`${id}\``)
    lines.push("")
  }
  return lines.join("\n")
}

/** One progress line per case, for stderr. */
export const progressLine = (c: CaseResult): string =>
  `${c.verdict.padEnd(5)} ${c.id} (${(c.elapsedMs / 1000).toFixed(1)} s)${c.verdict === "pass" ? "" : ` — ${c.outcome._tag}: ${c.outcome.detail}`}`

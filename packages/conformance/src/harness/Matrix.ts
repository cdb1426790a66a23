/**
 * Runs the units of a plan and judges each case against the expected-failure list. The
 * renderings (markdown, JUnit XML, CI summary) are in `MatrixRender.ts`, re-exported here.
 *
 * @module
 */
import * as fs from "node:fs"
import { Cause, Effect, Exit, Option } from "effect"
import { fromFailure, Outcome as O, type Outcome, type Verdict, verdict } from "./Outcome.js"
import type { Impl, Role } from "./Peers.js"
import type { CaseInfo, Plan, Scenario, Unit } from "./Scenarios.js"
import { isCI } from "./Toolchain.js"

export { progressLine, toJUnit, toMarkdown, toSummaryMarkdown, xmlEscape } from "./MatrixRender.js"

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
  /** Implementations whose absence fails the run (`--require`). */
  readonly required: ReadonlyArray<string>
  readonly summary: Readonly<Record<Verdict, number>>
  /**
   * False when any case failed or passed unexpectedly (a skip of a required implementation is a
   * failure). Skips do not fail the run; `CI=true` changes nothing.
   */
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

/** The keys of `--only` terms (`id` stands for a bare term: an id substring). */
export const FILTER_KEYS = ["scenario", "sender", "receiver", "impl", "transport", "delivery"] as const

/** A parsed `--only`: per key, the alternatives. */
type Terms = Map<string, Array<string>>

const parseTerms = (only: string): Terms => {
  const byKey: Terms = new Map()
  for (const term of only
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "")) {
    const eq = term.indexOf("=")
    const [key, value] = eq > 0 ? [term.slice(0, eq), term.slice(eq + 1)] : ["id", term]
    if (key !== "id" && !(FILTER_KEYS as ReadonlyArray<string>).includes(key))
      throw new Error(`--only: unknown key \`${key}\` in \`${term}\` (valid keys: ${FILTER_KEYS.join(", ")})`)
    byKey.set(key, [...(byKey.get(key) ?? []), value])
  }
  return byKey
}

const matches = (key: string, value: string, info: CaseInfo): boolean => {
  switch (key) {
    case "id":
      return info.id.includes(value)
    case "impl":
      return info.sender === value || info.receiver === value
    default:
      return (info as unknown as Record<string, unknown>)[key] === value
  }
}

const filterOf =
  (byKey: Terms) =>
  (info: CaseInfo): boolean =>
    [...byKey].every(([key, values]) => values.some((v) => matches(key, v, info)))

/**
 * `--only` filter: comma-separated terms. `key=value` (key: scenario, sender, receiver, impl,
 * transport, delivery) keeps cases whose field equals value (several values of one key are
 * alternatives); a bare term keeps cases whose id contains it. All keys must match.
 * Throws on an unknown key; see {@link checkFilter} for the checks against a plan.
 */
export const makeFilter = (only: string | undefined): ((info: CaseInfo) => boolean) =>
  only === undefined || only.trim() === "" ? () => true : filterOf(parseTerms(only))

/** The values a key of `--only` can take in `cases` (`scenario` also from `scenarios`). */
export const filterValues = (
  key: (typeof FILTER_KEYS)[number],
  cases: ReadonlyArray<CaseInfo>,
  scenarios: ReadonlyArray<Scenario> = []
): ReadonlyArray<string> => {
  const values = new Set<string>(key === "scenario" ? scenarios.map((s) => s.name) : [])
  for (const c of cases) {
    if (key === "impl") {
      if (c.sender !== undefined) values.add(c.sender)
      if (c.receiver !== undefined) values.add(c.receiver)
    } else {
      const v = c[key]
      if (v !== undefined) values.add(v)
    }
  }
  return [...values]
}

/**
 * Checks `--only` against the cases of the plan, so that a typo can never turn CI green by
 * running nothing: an unknown key, a value no case has (with the valid choices), a bare term
 * that is in no case id, or a filter that keeps no case is an error (the CLI exits 2).
 * Returns the filter, or the error message.
 */
export const checkFilter = (
  only: string | undefined,
  cases: ReadonlyArray<CaseInfo>,
  scenarios: ReadonlyArray<Scenario> = []
):
  | {
      /** Keeps the cases the terms select. */
      readonly filter: (info: CaseInfo) => boolean
    }
  | {
      /** Why the filter cannot mean what was intended. */
      readonly error: string
    } => {
  if (only === undefined || only.trim() === "") return { filter: () => true }
  let byKey: Terms
  try {
    byKey = parseTerms(only)
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) }
  }
  if (byKey.size === 0) return { error: `--only: no terms in \`${only}\`` }
  const problems: Array<string> = []
  for (const [key, values] of byKey) {
    for (const value of values) {
      if (cases.some((c) => matches(key, value, c))) continue
      if (key === "scenario" && scenarios.some((sc) => sc.name === value))
        problems.push(
          `scenario \`${value}\` has no cases in this run (an outside --sender-cmd or --receiver-cmd runs only its role's scenarios)`
        )
      else if (key === "id")
        problems.push(
          `\`${value}\` is in no case id (ids look like ${cases[0]?.id ?? "stream/ts->go/uds/acknowledged"})`
        )
      else
        problems.push(
          `unknown ${key} \`${value}\` (valid: ${filterValues(key as (typeof FILTER_KEYS)[number], cases, scenarios).join(", ")})`
        )
    }
  }
  if (problems.length > 0) return { error: `--only ${only}: ${problems.join("; ")}` }
  const filter = filterOf(byKey)
  if (!cases.some(filter)) return { error: `--only ${only}: the terms are valid but together match no case` }
  return { filter }
}

/** Every case of a plan, before filtering. */
export const casesOf = (scenarios: ReadonlyArray<Scenario>, plan: Plan): ReadonlyArray<CaseInfo> =>
  scenarios.flatMap((s) => s.units(plan)).flatMap((u) => u.cases)

/** The roles `impl` plays in `unit` (from its cases; both if the cases do not say). */
const rolesIn = (unit: Unit, impl: Impl): ReadonlyArray<Role> => {
  const roles = new Set<Role>()
  for (const c of unit.cases) {
    if (c.sender === impl.name) roles.add("sender")
    if (c.receiver === impl.name) roles.add("receiver")
  }
  return roles.size === 0 ? ["receiver", "sender"] : [...roles]
}

const unavailable = (unit: Unit, required: ReadonlySet<string>): Outcome | undefined => {
  for (const impl of unit.impls) {
    const a = impl.availability(rolesIn(unit, impl))
    const name = impl.toolchain ?? impl.name
    if (!a.ok)
      return a.toolchain
        ? O.skipped({
            detail: required.has(name) ? `required (--require ${name}) but ${a.reason}` : a.reason,
            toolchain: true,
            impl: name
          })
        : O.transportError({ detail: `${impl.name}: ${a.reason}` })
  }
  return undefined
}

/** Runs one unit, bounded by its timeout; never fails. */
export const runUnit = (unit: Unit, required: ReadonlySet<string> = new Set()): Effect.Effect<ReadonlyArray<Outcome>> =>
  Effect.gen(function* () {
    const missing = unavailable(unit, required)
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
  /** Keeps the cases to run (see {@link checkFilter}). */
  readonly filter: (info: CaseInfo) => boolean
  readonly expectedFailures: ReadonlySet<string>
  /** Units run at once (the machine may be small: default 1). */
  readonly concurrency?: number
  /** Called as each unit finishes (progress lines). */
  readonly onResult?: ((result: CaseResult) => void) | undefined
  /** Whether a filter is active (then unmatched expected failures are not reported as stale). */
  readonly filtered?: boolean
  /** Implementations that must be available: their skipped cells fail (`--require rust,go`). */
  readonly required?: ReadonlyArray<string> | undefined
}

/** Runs the plan and judges every case. */
export const run = (options: RunOptions): Effect.Effect<MatrixReport> =>
  Effect.gen(function* () {
    const started = Date.now()
    const required = new Set(options.required ?? [])
    const units = options.scenarios.flatMap((s) => s.units(options.plan)).filter((u) => u.cases.some(options.filter))
    const results = yield* Effect.forEach(
      units,
      (unit) =>
        Effect.gen(function* () {
          const t0 = Date.now()
          const outcomes = yield* runUnit(unit, required)
          const elapsedMs = Date.now() - t0
          return unit.cases.flatMap((info, i): Array<CaseResult> => {
            if (!options.filter(info)) return []
            const outcome = outcomes[i] ?? O.transportError({ detail: "no outcome" })
            const expectedFailure = options.expectedFailures.has(info.id)
            const result: CaseResult = {
              ...info,
              outcome,
              expectedFailure,
              verdict: verdict(outcome, expectedFailure, required),
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
    const ids = new Set(cases.map((c) => c.id))
    return {
      format: "txlane-conformance/1",
      quick: options.plan.quick,
      ci: isCI(),
      startedAt: new Date(started).toISOString(),
      elapsedMs: Date.now() - started,
      senders: options.plan.senders.map((i) => i.name),
      receivers: options.plan.receivers.map((i) => i.name),
      required: [...required],
      summary,
      passed: summary.fail === 0 && summary.xpass === 0,
      staleExpectedFailures: options.filtered ? [] : [...options.expectedFailures].filter((id) => !ids.has(id)),
      cases
    }
  })

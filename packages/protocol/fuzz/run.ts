/**
 * The decoder fuzzer: `npm run fuzz -w @txlane/protocol -- [--cases N] [--seed S] [--only NAME]`.
 *
 * Runs N cases (default 1,000,000) split across the properties of `properties.ts` by their
 * share, in batches of {@link BATCH} cases with seeds derived from S (default: time-based,
 * printed), and prints one JSON summary line at the end. Exit code 1 on the first failing
 * batch, with fast-check's shrunk counterexample and the seed to replay it (`--seed S --only NAME`
 * replays the same batches). A CI slice of the same properties runs in `test/fuzz.test.ts`.
 *
 * @module
 */
import * as Os from "node:os"
import { loadCorpus } from "./arbitraries.js"
import { NAMES, type Name, runBatch, SHARE } from "./properties.js"

/** Cases per `fc.check` call: small enough for steady progress lines, large enough to amortise setup. */
export const BATCH = 20_000

/** Default number of cases: the "≥ 1,000,000". */
export const DEFAULT_CASES = 1_000_000

interface Args {
  readonly cases: number
  readonly seed: number
  readonly only: ReadonlyArray<Name>
}

const parseArgs = (argv: ReadonlyArray<string>): Args => {
  let cases = DEFAULT_CASES
  let seed = Date.now() % 2 ** 31
  let only: ReadonlyArray<Name> = NAMES
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]
    const value = argv[i + 1]
    if (value === undefined) throw new Error(`missing value for ${flag}`)
    if (flag === "--cases") cases = Number(value)
    else if (flag === "--seed") seed = Number(value)
    else if (flag === "--only") only = value.split(",") as Array<Name>
    else throw new Error(`unknown flag ${flag} (use --cases N, --seed S, --only ${NAMES.join(",")})`)
    i++
  }
  if (!Number.isInteger(cases) || cases < 1) throw new Error(`--cases must be a positive integer, got ${cases}`)
  if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, got ${seed}`)
  for (const n of only) if (!NAMES.includes(n)) throw new Error(`unknown property ${n}; known: ${NAMES.join(",")}`)
  return { cases, seed, only }
}

/** Runs the fuzzer; returns the process exit code. */
export const main = (argv: ReadonlyArray<string>): number => {
  const args = parseArgs(argv)
  const corpus = loadCorpus()
  const total = args.only.reduce((sum, n) => sum + SHARE[n], 0)
  const started = Date.now()
  const perProperty: Record<string, { cases: number; ms: number }> = {}
  let ran = 0
  console.error(`fuzz: ${args.cases} cases, seed ${args.seed}, properties ${args.only.join(",")}`)
  for (const name of args.only) {
    const target = Math.max(1, Math.round((args.cases * SHARE[name]) / total))
    const t0 = Date.now()
    let done = 0
    for (let b = 0; done < target; b++) {
      const n = Math.min(BATCH, target - done)
      // Distinct, reproducible seed per (property, batch).
      const seed = (args.seed + b * 7919 + NAMES.indexOf(name) * 1_000_003) % 2 ** 31
      const result = runBatch(name, corpus, n, seed)
      if (result.failure !== undefined) {
        console.error(`fuzz: property ${name} FAILED in batch ${b} (fast-check seed ${seed}):\n${result.failure}`)
        console.error(
          `replay: npm run fuzz -w @txlane/protocol -- --cases ${args.cases} --seed ${args.seed} --only ${name}`
        )
        return 1
      }
      done += result.numRuns
      ran += result.numRuns
      if (b % 10 === 9) console.error(`fuzz: ${name} ${done}/${target} (${Math.round((Date.now() - t0) / 1000)} s)`)
    }
    perProperty[name] = { cases: done, ms: Date.now() - t0 }
  }
  const ms = Date.now() - started
  console.log(
    JSON.stringify({
      event: "fuzz",
      result: "ok",
      cases: ran,
      seed: args.seed,
      ms,
      casesPerSecond: Math.round((ran / ms) * 1000),
      properties: perProperty,
      node: process.version,
      cpu: Os.cpus()[0]?.model ?? "unknown",
      cpus: Os.cpus().length,
      date: new Date().toISOString()
    })
  )
  return 0
}

process.exitCode = main(process.argv.slice(2))

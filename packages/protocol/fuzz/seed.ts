/**
 * The CI fuzz slice's seed: fixed per commit, so a red run replays exactly on the same commit
 * and a green one stays green until the code (or the seed) changes. Derived from `git rev-parse
 * HEAD`; `TXLANE_FUZZ_SEED` overrides it (to replay, or to explore); outside a git checkout (a
 * packed tarball) it is {@link FALLBACK_SEED}.
 *
 * @module
 */
import * as ChildProcess from "node:child_process"

/** The seed where there is no commit to derive one from. */
export const FALLBACK_SEED = 20_261_201

/** A seed and where it came from (printed with the results). */
export interface Seed {
  readonly seed: number
  readonly source: string
}

/** The seed of this run: `TXLANE_FUZZ_SEED`, else from the commit, else {@link FALLBACK_SEED}. */
export const commitSeed = (env: NodeJS.ProcessEnv = process.env, cwd = import.meta.dirname): Seed => {
  const override = env.TXLANE_FUZZ_SEED
  if (override !== undefined && override !== "") {
    const seed = Number(override)
    if (!Number.isInteger(seed)) throw new Error(`TXLANE_FUZZ_SEED must be an integer, got ${override}`)
    return { seed, source: "TXLANE_FUZZ_SEED" }
  }
  const head = ChildProcess.spawnSync("git", ["rev-parse", "HEAD"], { cwd, encoding: "utf8" })
  const sha = head.status === 0 ? head.stdout.trim() : ""
  if (!/^[0-9a-f]{40}$/.test(sha)) return { seed: FALLBACK_SEED, source: "fallback (no git commit)" }
  // 31 bits of the commit id: fast-check takes a 32-bit integer seed.
  return { seed: Number.parseInt(sha.slice(0, 8), 16) % 2 ** 31, source: `commit ${sha.slice(0, 12)}` }
}

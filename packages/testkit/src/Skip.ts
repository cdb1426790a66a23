/**
 * Loud skips. A test that cannot run here (no `go`, not root, a peer not built) says so on
 * stderr, with what is skipped and why; and under `CI=true` it fails instead, unless its id is
 * in `allowed-skips.txt` at the root of this package (one id a line, `#` comments): CI must not
 * pass by skipping what it was meant to run.
 *
 * @module
 */
import * as Fs from "node:fs"
import * as Path from "node:path"

/** The allow-list of skips CI tolerates. */
export const ALLOWED_SKIPS_FILE = Path.join(import.meta.dirname, "..", "allowed-skips.txt")

/** Parses an allow-list: one id a line; `#` starts a comment. */
export const parseAllowed = (text: string): ReadonlySet<string> =>
  new Set(
    text
      .split("\n")
      .map((line) => line.replace(/#.*/, "").trim())
      .filter((line) => line.length > 0)
  )

const allowed = (): ReadonlySet<string> => parseAllowed(Fs.readFileSync(ALLOWED_SKIPS_FILE, "utf8"))

/** Whether `env` is a CI run (`CI=true` or `CI=1`). */
export const isCI = (env: NodeJS.ProcessEnv = process.env): boolean => env.CI === "true" || env.CI === "1"

/**
 * For `it.skipIf` / `describe.skipIf`: true (skip) when `runnable` is false, after printing
 * `SKIP <id>: <why>` on stderr. Under CI, a skip whose `id` is not allowed throws, so that the
 * test file fails.
 */
export const unless = (runnable: boolean, id: string, why: string, env: NodeJS.ProcessEnv = process.env): boolean => {
  if (runnable) return false
  process.stderr.write(`\n!!! SKIP ${id}: ${why}\n`)
  if (isCI(env) && !allowed().has(id))
    throw new Error(`${id} is skipped under CI (${why}); run it, or list it in ${ALLOWED_SKIPS_FILE} with the reason`)
  return true
}

/**
 * Small helpers shared by the reliability tests: temp directories, bounded waits, figures.
 *
 * @module
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** Full-size runs (RELIABILITY.md figures) instead of the CI slice. */
export const FULL = process.env.TXLANE_RELIABILITY_FULL === "1"

const dirs: Array<string> = []

/** A fresh short temp directory (socket paths stay far below 107 bytes). */
export const tempDir = (): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txrel-"))
  dirs.push(dir)
  return dir
}

/** Removes every directory made by {@link tempDir}. */
export const cleanupTempDirs = (): void => {
  for (const d of dirs.splice(0)) Fs.rmSync(d, { recursive: true, force: true })
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `predicate` every 20 ms; fails after `timeoutMs`. */
export const waitFor = async (predicate: () => boolean | Promise<boolean>, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(20)
  }
}

/** Prints a figure for RELIABILITY.md on one greppable line. */
export const figure = (name: string, values: Record<string, unknown>): void => {
  console.log(`RELIABILITY ${JSON.stringify({ name, full: FULL, ...values })}`)
}

/**
 * SIGTERM during start-up (issue 12, item 6): `txlane-receiver` is killed at varied moments of
 * its start — while loading, the instant its private bind directory appears, while binding,
 * right after it listens. Before the fix 5 of 20 such kills exited 130 (not a documented code)
 * and left the socket file and a private `.txl-*` directory behind. Every kill must now end
 * with a documented outcome — exit 0 (stopped by a signal, nothing unsubmitted), or, only if the
 * signal lands before the process has run a line of JavaScript, death by that signal with
 * nothing created — and leave the socket's directory empty.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { afterAll, expect, it } from "vitest"
import { BIN as BINS, cleanupTempDirs, figure, tempSocketPath } from "./helpers.js"

afterAll(cleanupTempDirs)

const BIN = BINS.receiver
// Fixed delays cover loading; "bind" kills the instant the private directory appears (the
// window that leaked files); "listening" kills right after the first log line.
const MOMENTS: ReadonlyArray<number | "bind" | "listening"> = [
  0,
  40,
  120,
  250,
  500,
  900,
  1400,
  "bind",
  "bind",
  "bind",
  "bind",
  "bind",
  "listening",
  "listening"
]
const RUN_TIMEOUT_MS = 15_000

interface Outcome {
  readonly moment: number | "bind" | "listening"
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly killedAtMs: number
  readonly leftBehind: Array<string>
}

const killDuringStart = (moment: number | "bind" | "listening"): Promise<Outcome> => {
  const path = tempSocketPath()
  const dir = Path.dirname(path)
  const child = ChildProcess.spawn(
    process.execPath,
    ["--import", "tsx", "--conditions=txlane-source", BIN, "--listen", path, "--output", "json"],
    { stdio: ["ignore", "pipe", "ignore"] }
  )
  const started = Date.now()
  let killedAt = 0
  const kill = () => {
    if (killedAt === 0) {
      killedAt = Date.now()
      child.kill("SIGTERM")
    }
  }
  let watcher: Fs.FSWatcher | undefined
  if (moment === "bind") watcher = Fs.watch(dir, () => kill())
  else if (moment === "listening") child.stdout!.once("data", kill)
  else setTimeout(kill, moment)
  child.stdout!.resume()
  const guard = setTimeout(() => child.kill("SIGKILL"), RUN_TIMEOUT_MS)
  return new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      clearTimeout(guard)
      watcher?.close()
      resolve({ moment, code, signal, killedAtMs: killedAt - started, leftBehind: Fs.readdirSync(dir) })
    })
  })
}

it(`SIGTERM at ${MOMENTS.length} moments of start-up: a documented exit every time, nothing left behind`, async () => {
  const outcomes: Array<Outcome> = []
  for (const moment of MOMENTS) outcomes.push(await killDuringStart(moment))
  figure("startup-sigterm", {
    runs: outcomes.length,
    outcomes: outcomes.map(
      (o) =>
        `${o.moment}@${o.killedAtMs}ms→${o.code ?? o.signal}${o.leftBehind.length > 0 ? ` left ${o.leftBehind.join(",")}` : ""}`
    )
  })
  for (const o of outcomes) {
    expect(o.leftBehind, `${o.moment}: left behind`).toEqual([])
    if (o.code === null) {
      // Killed by the signal itself: only before the process ran its first line of JavaScript.
      expect(o.signal, `${o.moment}`).toBe("SIGTERM")
      expect(o.moment, "a default-action death after the program loaded").not.toBe("bind")
      expect(o.moment).not.toBe("listening")
    } else {
      expect(o.code, `${o.moment} at ${o.killedAtMs} ms`).toBe(0)
    }
  }
  // The interesting window was really hit: the bind kills happened while binding.
  expect(outcomes.filter((o) => o.moment === "bind" && o.code === 0)).toHaveLength(5)
}, 240_000)

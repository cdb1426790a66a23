/**
 * Runs `child.ts` (a receiver in its own process) and talks to it; samples its RSS from
 * `/proc/PID/status`. Every child started here is killed (SIGKILL) by {@link killAll}.
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import * as Readline from "node:readline"
import type { ReceiverOptions } from "../../src/index.js"

const CHILD = Path.join(import.meta.dirname, "child.ts")
const children = new Set<ChildProcess.ChildProcess>()

/** Stats line of the child: `Receiver.Stats` plus `memory` and `fds`. */
export interface ChildStats {
  readonly connectionsOpen: number
  readonly connectionsTotal: number
  readonly connectionsRejected: number
  readonly connectionsPaused: number
  readonly framesReceived: number
  readonly framesSubmitted: number
  readonly bytesReceived: number
  readonly bufferedBytes: number
  readonly queuedFrames: number
  readonly errors: Record<string, number>
  readonly memory: NodeJS.MemoryUsage
  readonly fds: number
}

export interface ChildReceiver {
  readonly pid: number
  readonly address: string
  stats(): Promise<ChildStats>
  /** Resident set size of the child now, in bytes (VmRSS). */
  rss(): number
  /** Graceful close (SIGTERM); resolves with the exit code. */
  terminate(): Promise<number | null>
}

/** Starts a receiver process with `options` (JSON-serialisable ones; `submit` answers `{}`). */
export const spawnReceiver = (options: Omit<ReceiverOptions, "submit">, timeoutMs = 15_000): Promise<ChildReceiver> => {
  const child = ChildProcess.spawn(
    process.execPath,
    ["--conditions=txlane-source", "--import", "tsx", CHILD, JSON.stringify(options)],
    { cwd: Path.join(import.meta.dirname, "..", ".."), stdio: ["pipe", "pipe", "inherit"] }
  )
  children.add(child)
  child.once("exit", () => children.delete(child))
  const waiting: Array<(s: ChildStats) => void> = []
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("receiver child did not start")), timeoutMs)
    child.once("exit", (code) => reject(new Error(`receiver child exited with ${code} before listening`)))
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line) as { event: string; endpoint?: string }
      if (msg.event === "listening") {
        clearTimeout(timer)
        resolve({
          pid: child.pid!,
          address: msg.endpoint!,
          stats: () =>
            new Promise((r) => {
              waiting.push(r)
              child.stdin!.write("stats\n")
            }),
          rss: () => rssOf(child.pid!),
          terminate: () => {
            child.kill("SIGTERM")
            return exited
          }
        })
      } else if (msg.event === "stats") waiting.shift()?.(msg as unknown as ChildStats)
    })
  })
}

/** VmRSS of a process, in bytes (0 once it is gone). */
export const rssOf = (pid: number): number => {
  try {
    const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1]
    return kb === undefined ? 0 : Number(kb) * 1024
  } catch {
    return 0
  }
}

/** SIGKILLs every child still running. */
export const killAll = (): void => {
  for (const child of children) child.kill("SIGKILL")
  children.clear()
}

process.once("exit", killAll)

const ATTACKER = Path.join(import.meta.dirname, "attacker.mjs")

/** What the attacker process reports when it ends. */
export interface AttackReport {
  readonly sentBytes: number
  readonly receivedBytes: number
  readonly closed: number
}

/**
 * Starts `attacker.mjs` (plain Node, its own process) with `options`; resolves once its
 * connections are open, with a promise of its final report (after `durationMs`).
 */
export const spawnAttacker = (options: Record<string, unknown>): Promise<{ done: Promise<AttackReport> }> => {
  const child = ChildProcess.spawn(process.execPath, [ATTACKER, JSON.stringify(options)], {
    stdio: ["pipe", "pipe", "inherit"]
  })
  children.add(child)
  child.once("exit", () => children.delete(child))
  let report: (r: AttackReport) => void = () => undefined
  const done = new Promise<AttackReport>((resolve) => {
    report = resolve
  })
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`attacker exited with ${code} before it was ready`)))
    Readline.createInterface({ input: child.stdout! }).on("line", (line) => {
      const msg = JSON.parse(line) as { event: string } & AttackReport
      if (msg.event === "ready") resolve({ done })
      else if (msg.event === "done") report(msg)
    })
  })
}

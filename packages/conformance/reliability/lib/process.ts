/**
 * Child processes for the reliability runs: start one of `children/*.ts` (or a peer binary),
 * read its JSON lines, signal it, and make sure none outlives the run (SIGKILL on exit).
 *
 * @module
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import * as Readline from "node:readline"

const PACKAGE_ROOT = Path.join(import.meta.dirname, "..", "..")
const running = new Set<ChildProcess.ChildProcess>()

/** A JSON line from a child. */
export type Line = { readonly event: string } & Record<string, unknown>

/** A running child. */
export interface Child {
  readonly pid: number
  readonly lines: Array<Line>
  /** Resolves with the first line of `event` (already seen or yet to come). */
  next(event: string, timeoutMs?: number): Promise<Line>
  /** Writes a command line on its stdin. */
  send(line: string): void
  signal(signal: NodeJS.Signals): void
  /** Resolves with the exit code (or the signal name) once it has exited. */
  readonly exited: Promise<number | string>
}

/** Starts a child: a `children/NAME.ts` script with JSON options, or `command` + args. */
export const spawn = (command: string, args: ReadonlyArray<string>, env: NodeJS.ProcessEnv = {}): Child => {
  const child = ChildProcess.spawn(command, args, {
    cwd: PACKAGE_ROOT,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...env }
  })
  running.add(child)
  const lines: Array<Line> = []
  const waiters: Array<{ event: string; resolve: (l: Line) => void }> = []
  Readline.createInterface({ input: child.stdout! }).on("line", (text) => {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      return // not one of ours (a peer's stray output); stderr carries logs
    }
    lines.push(line)
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (waiters[i]!.event === line.event) waiters.splice(i, 1)[0]!.resolve(line)
    }
  })
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? "unknown")
    })
  )
  child.stdin!.on("error", () => {}) // the child may be gone (SIGKILL) when we write
  return {
    pid: child.pid!,
    lines,
    next: (event, timeoutMs = 30_000) => {
      const seen = lines.find((l) => l.event === event)
      if (seen !== undefined) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no "${event}" line from pid ${child.pid} in ${timeoutMs} ms`)),
          timeoutMs
        )
        waiters.push({
          event,
          resolve: (l) => {
            clearTimeout(timer)
            resolve(l)
          }
        })
        void exited.then((code) => {
          clearTimeout(timer)
          reject(new Error(`pid ${child.pid} exited (${code}) before a "${event}" line`))
        })
      })
    },
    send: (line) => {
      if (child.stdin!.writable) child.stdin!.write(`${line}\n`)
    },
    signal: (signal) => {
      child.kill(signal)
    },
    exited
  }
}

/** Starts `children/NAME.ts` with `options` as its JSON argument, under the repo's Node and tsx. */
export const spawnScript = (name: "receiver" | "sender", options: object): Child =>
  spawn(process.execPath, [
    "--conditions=txlane-source",
    "--import",
    "tsx",
    Path.join(import.meta.dirname, "..", "children", `${name}.ts`),
    JSON.stringify(options)
  ])

/** Starts a receiver child and waits for its `listening` line. */
export const startReceiver = async (options: object): Promise<Child> => {
  const child = spawnScript("receiver", options)
  await child.next("listening")
  return child
}

/** SIGKILLs every child still running. */
export const killAll = (): void => {
  for (const child of running) child.kill("SIGKILL")
  running.clear()
}

process.once("exit", killAll)

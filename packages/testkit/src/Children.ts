/**
 * Child processes that speak JSON lines on stdout (the PEERS.md peers, the kit's receiver child,
 * test scripts): start one, await its lines by `event`, write commands on its stdin, signal it.
 * No child outlives the test process: {@link killAll} SIGKILLs the survivors, and runs on exit.
 *
 * The conformance harness has its own Effect-scoped runner (`harness/Process.ts`): it ships in
 * the published package, which must not depend on this private one.
 *
 * @module
 */
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Readline from "node:readline"

const running = new Set<ChildProcess.ChildProcess>()

/** A JSON line from a child. */
export type Line = { readonly event: string } & Record<string, unknown>

/** A running child. */
export interface Child {
  readonly pid: number
  /** Every JSON line read so far. */
  readonly lines: Array<Line>
  /** Resolves with the first line of `event` (already seen or yet to come). */
  next(event: string, timeoutMs?: number): Promise<Line>
  /** Writes `command` on its stdin and resolves with the next `event` line read after that. */
  ask(command: string, event: string, timeoutMs?: number): Promise<Line>
  /** Writes a command line on its stdin. */
  send(line: string): void
  /** Sends `signal` (a no-op once it has exited). */
  signal(signal: NodeJS.Signals): void
  /** Resolves with the exit code (or the signal name) once it has exited. */
  readonly exited: Promise<number | string>
}

/** Options of {@link spawn}. */
export interface SpawnOptions {
  /** Working directory; default the test process's. */
  readonly cwd?: string
  /** Added to the test process's environment. */
  readonly env?: NodeJS.ProcessEnv
}

/** Starts `command` with `args`; its stderr goes to the test's stderr, non-JSON stdout is ignored. */
export const spawn = (command: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): Child => {
  const child = ChildProcess.spawn(command, args, {
    cwd: options.cwd,
    stdio: ["pipe", "pipe", "inherit"],
    env: { ...process.env, ...options.env }
  })
  running.add(child)
  const lines: Array<Line> = []
  const waiters = new Set<{ readonly event: string; readonly resolve: (l: Line) => void }>()
  Readline.createInterface({ input: child.stdout! }).on("line", (text) => {
    let line: Line
    try {
      line = JSON.parse(text) as Line
    } catch {
      return // not one of ours (a peer's stray output); stderr carries logs
    }
    lines.push(line)
    for (const w of [...waiters])
      if (w.event === line.event) {
        waiters.delete(w)
        w.resolve(line)
      }
  })
  const exited = new Promise<number | string>((resolve) =>
    child.once("exit", (code, signal) => {
      running.delete(child)
      resolve(code ?? signal ?? "unknown")
    })
  )
  child.stdin!.on("error", () => {}) // the child may be gone (SIGKILL) when we write
  const send = (line: string) => {
    if (child.stdin!.writable) child.stdin!.write(`${line}\n`)
  }
  const await_ = (event: string, timeoutMs: number): Promise<Line> =>
    new Promise((resolve, reject) => {
      const waiter = {
        event,
        resolve: (l: Line) => {
          clearTimeout(timer)
          resolve(l)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`no "${event}" line from pid ${child.pid} in ${timeoutMs} ms`))
      }, timeoutMs)
      waiters.add(waiter)
      void exited.then((code) => {
        if (!waiters.delete(waiter)) return
        clearTimeout(timer)
        reject(new Error(`pid ${child.pid} exited (${code}) before a "${event}" line`))
      })
    })
  return {
    pid: child.pid!,
    lines,
    next: (event, timeoutMs = 30_000) => {
      const seen = lines.find((l) => l.event === event)
      return seen !== undefined ? Promise.resolve(seen) : await_(event, timeoutMs)
    },
    ask: (command, event, timeoutMs = 30_000) => {
      const answer = await_(event, timeoutMs)
      send(command)
      return answer
    },
    send,
    signal: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    },
    exited
  }
}

/** Starts a TypeScript `script` under the repo's Node and tsx, with `options` as its JSON argument. */
export const spawnScript = (script: string, options: object, spawnOptions: SpawnOptions = {}): Child =>
  spawn(
    process.execPath,
    ["--conditions=txlane-source", "--import", "tsx", script, JSON.stringify(options)],
    spawnOptions
  )

/** What {@link run} returns. */
export interface RunResult {
  /** Exit code; null when a signal ended it, -1 when it could not start. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs `argv` to completion (killed after `timeoutMs`), collecting its output as text. */
export const run = (
  argv: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv; readonly timeoutMs: number }
): Promise<RunResult> =>
  new Promise((resolve) => {
    const child = ChildProcess.spawn(argv[0]!, argv.slice(1), {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs
    })
    running.add(child)
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (c: Buffer) => {
      stdout += c.toString()
    })
    child.stderr!.on("data", (c: Buffer) => {
      stderr += c.toString()
    })
    child.on("error", (e) => {
      running.delete(child)
      resolve({ code: -1, stdout, stderr: stderr + String(e) })
    })
    child.on("close", (code) => {
      running.delete(child)
      resolve({ code, stdout, stderr })
    })
  })

/** SIGKILLs every child still running (call it in `afterEach`/`afterAll`; it also runs on exit). */
export const killAll = (): void => {
  for (const child of running) child.kill("SIGKILL")
  running.clear()
}

process.once("exit", killAll)

/** VmRSS of a process, in bytes (0 once it is gone). */
export const rssOf = (pid: number): number => {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(Fs.readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]
    return kb === undefined ? 0 : Number(kb) * 1024
  } catch {
    return 0
  }
}

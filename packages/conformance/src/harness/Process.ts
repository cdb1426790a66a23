/**
 * Peer processes: spawned in their own process group, owned by a Scope (closing it kills the
 * whole group with SIGKILL if it is still running), with stdout parsed line by line as
 * PEERS.md JSON (`src/Report.ts`) and the tail of stderr kept for the report.
 *
 * @module
 */
import { type ChildProcess, spawn as spawnChild } from "node:child_process"
import { Deferred, Effect, Result, type Scope } from "effect"
import { decodeLine, type Listening, type Report } from "../Report.js"
import { type CaseFailure, decodeError, timeout, transportError } from "./Outcome.js"

/** How much of a peer's stderr is kept for failure details. */
const STDERR_TAIL_BYTES = 4096

/** How long a killed process group gets to disappear before we stop waiting. */
const KILL_WAIT_MS = 3000

/** How a process ended. */
export interface Exited {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

/** A running peer. */
export interface Peer {
  /** Who this is, for messages: `rust receiver`. */
  readonly label: string
  readonly pid: number
  /** The command line, for messages. */
  readonly commandLine: string
  /** Waits for the ready line; fails if the process exits first or prints garbage. */
  readonly listening: (timeoutMs: number) => Effect.Effect<Listening, CaseFailure>
  /** Waits for the process to exit (no kill). */
  readonly exited: (timeoutMs: number) => Effect.Effect<Exited, CaseFailure>
  /** SIGTERM, then waits for the exit (SIGKILL and `timeout` after `timeoutMs`). */
  readonly terminate: (timeoutMs: number) => Effect.Effect<Exited, CaseFailure>
  /** Sends a signal to the whole process group now. */
  readonly kill: (signal: NodeJS.Signals) => Effect.Effect<void>
  /** The report line, once printed. */
  readonly report: () => Report | undefined
  /** The report line, or a `decodeError`/`transportError` saying why there is none. */
  readonly requireReport: () => Effect.Effect<Report, CaseFailure>
  /** Lines of stdout that were not PEERS.md JSON. */
  readonly badLines: () => ReadonlyArray<string>
  /** The last few KiB of stderr. */
  readonly stderrTail: () => string
  /** Whether the process has exited. */
  readonly hasExited: () => boolean
}

const quote = (arg: string): string => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`)

/** `argv` as a copy-pastable shell command. */
export const commandLine = (argv: ReadonlyArray<string>): string => argv.map(quote).join(" ")

const signalGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return
  try {
    // The peer runs in its own process group: a wrapper (`cargo run`, a shell) dies with it.
    process.kill(-child.pid, signal)
  } catch {
    try {
      child.kill(signal)
    } catch {
      // already gone
    }
  }
}

/**
 * Starts `argv` as a peer. The process is killed (SIGKILL, whole group) when the Scope closes,
 * so no peer outlives its case.
 */
export const spawn = (
  label: string,
  argv: ReadonlyArray<string>,
  options: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv } = {}
): Effect.Effect<Peer, CaseFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const listening = yield* Deferred.make<Listening, CaseFailure>()
    const exited = yield* Deferred.make<Exited>()
    const [file, ...args] = argv
    if (file === undefined) return yield* transportError(`${label}: empty command`)
    const cmd = commandLine(argv)
    let report: Report | undefined
    let reportCount = 0
    const bad: Array<string> = []
    let stderr = ""
    let exitInfo: Exited | undefined

    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        spawnChild(file, args, {
          cwd: options.cwd,
          env: options.env ?? process.env,
          stdio: ["ignore", "pipe", "pipe"],
          detached: true
        })
      ),
      (child) =>
        Effect.gen(function* () {
          if (exitInfo !== undefined) return
          signalGroup(child, "SIGKILL")
          yield* Deferred.await(exited).pipe(Effect.timeoutOption(KILL_WAIT_MS))
        })
    )

    let pending = ""
    const onLine = (line: string) => {
      if (line.trim() === "") return
      const decoded = decodeLine(line)
      if (Result.isFailure(decoded)) {
        bad.push(line.length > 300 ? `${line.slice(0, 300)}…` : line)
        Deferred.doneUnsafe(
          listening,
          Effect.fail(decodeError(`${label} printed a line that is not PEERS.md JSON: ${bad.at(-1)}`))
        )
        return
      }
      const value = decoded.success
      if (value.event === "listening") Deferred.doneUnsafe(listening, Effect.succeed(value))
      else {
        reportCount++
        report = value
      }
    }
    child.stdout?.setEncoding("utf8")
    child.stdout?.on("data", (chunk: string) => {
      pending += chunk
      let nl = pending.indexOf("\n")
      while (nl >= 0) {
        onLine(pending.slice(0, nl))
        pending = pending.slice(nl + 1)
        nl = pending.indexOf("\n")
      }
    })
    child.stderr?.setEncoding("utf8")
    child.stderr?.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES)
    })
    let spawnError: Error | undefined
    child.on("error", (error) => {
      spawnError = error
      exitInfo ??= { code: null, signal: null }
      Deferred.doneUnsafe(listening, Effect.fail(transportError(`${label}: cannot start ${cmd}: ${error.message}`)))
      Deferred.doneUnsafe(exited, Effect.succeed(exitInfo))
    })
    child.on("close", (code, signal) => {
      if (pending !== "") onLine(pending)
      pending = ""
      exitInfo ??= { code, signal }
      Deferred.doneUnsafe(
        listening,
        Effect.fail(
          transportError(`${label} exited (${describeExit(exitInfo)}) before its ready line${tailNote(stderr)}`)
        )
      )
      Deferred.doneUnsafe(exited, Effect.succeed(exitInfo))
    })

    const waitExit = (timeoutMs: number) =>
      Deferred.await(exited).pipe(
        Effect.timeoutOrElse({
          duration: timeoutMs,
          orElse: () => Effect.fail(timeout(`${label} still running after ${timeoutMs} ms`))
        })
      )

    const peer: Peer = {
      label,
      pid: child.pid ?? -1,
      commandLine: cmd,
      listening: (timeoutMs) =>
        Deferred.await(listening).pipe(
          Effect.timeoutOrElse({
            duration: timeoutMs,
            orElse: () =>
              Effect.fail(timeout(`${label} printed no ready line within ${timeoutMs} ms${tailNote(stderr)}`))
          })
        ),
      exited: waitExit,
      terminate: (timeoutMs) =>
        Effect.gen(function* () {
          if (exitInfo !== undefined) return exitInfo
          signalGroup(child, "SIGTERM")
          return yield* waitExit(timeoutMs).pipe(
            Effect.tapError(() => Effect.sync(() => signalGroup(child, "SIGKILL"))),
            Effect.mapError((e) =>
              timeout(`${label} did not exit within ${timeoutMs} ms of SIGTERM (${e.detail})${tailNote(stderr)}`)
            )
          )
        }),
      kill: (signal) => Effect.sync(() => signalGroup(child, signal)),
      report: () => report,
      requireReport: () =>
        Effect.suspend(() => {
          if (spawnError !== undefined) return Effect.fail(transportError(`${label}: ${spawnError.message}`))
          if (bad.length > 0) return Effect.fail(decodeError(`${label} printed non-PEERS.md output: ${bad[0]}`))
          if (reportCount > 1) return Effect.fail(decodeError(`${label} printed ${reportCount} report lines`))
          if (report === undefined)
            return Effect.fail(
              transportError(
                `${label} printed no report line${exitInfo ? ` (${describeExit(exitInfo)})` : ""}${tailNote(stderr)}`
              )
            )
          return Effect.succeed(report)
        }),
      badLines: () => bad,
      stderrTail: () => stderr,
      hasExited: () => exitInfo !== undefined
    }
    return peer
  })

/** `exit code 1` / `signal SIGKILL`. */
export const describeExit = (exit: Exited): string =>
  exit.signal !== null ? `signal ${exit.signal}` : `exit code ${exit.code ?? "?"}`

const tailNote = (stderr: string): string => {
  const lines = stderr.trim().split("\n").slice(-3).join(" | ")
  return lines === "" ? "" : `; stderr: ${lines.length > 400 ? `…${lines.slice(-400)}` : lines}`
}

/** Fails with `transportError` unless the process exited with `code`. */
export const expectExitCode = (peer: Peer, exit: Exited, code: number): Effect.Effect<void, CaseFailure> =>
  exit.code === code && exit.signal === null
    ? Effect.void
    : Effect.fail(
        transportError(`${peer.label}: ${describeExit(exit)}, expected exit code ${code}${tailNote(peer.stderrTail())}`)
      )

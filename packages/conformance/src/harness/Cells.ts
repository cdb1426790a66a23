/**
 * Starting peers for a case: fresh short socket paths, the PEERS.md flags, and the ready line
 * (or, for an outside `server`, polling until it accepts connections).
 *
 * @module
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Effect, type Scope } from "effect"
import type { Report } from "../Report.js"
import { type CaseFailure, mismatch, transportError } from "./Outcome.js"
import type { Impl, Role } from "./Peers.js"
import { type Peer, spawn } from "./Process.js"
import { waitAccepting } from "./Wire.js"

/** A transport of the matrix. */
export type Transport = "uds" | "tcp"

/** A delivery mode of PEERS.md. */
export type Delivery = "fire-and-forget" | "acknowledged"

/** How long a receiver may take to print its ready line (tsx start-up on a busy 2-core box included). */
export const READY_TIMEOUT_MS = 20_000

/** How long a receiver may take to exit after SIGTERM. */
export const TERMINATE_TIMEOUT_MS = 10_000

/**
 * A fresh directory for socket and record files, removed with the Scope. Under `/tmp` rather
 * than `os.tmpdir()` when possible: `sun_path` holds at most 107 bytes.
 */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(fs.existsSync("/tmp") ? "/tmp" : os.tmpdir(), "txl-"))),
  (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
)

/** A free loopback TCP port (for outside servers, which cannot report an ephemeral one). */
export const freePort: Effect.Effect<number> = Effect.callback<number>((resume) => {
  const server = net.createServer()
  server.listen(0, "127.0.0.1", () => {
    const address = server.address()
    const port = address !== null && typeof address === "object" ? address.port : 0
    server.close(() => resume(Effect.succeed(port)))
  })
})

/** A started receiver. */
export interface Receiver {
  readonly impl: Impl
  readonly peer: Peer
  /** Where senders connect (the bound port for TCP). */
  readonly endpoint: string
  /** True when it follows PEERS.md and so will print a report. */
  readonly reports: boolean
}

/** The endpoint a receiver should be told to listen on. */
export const listenEndpoint = (impl: Impl, transport: Transport, dir: string, name = "r.sock") =>
  transport === "uds"
    ? Effect.succeed(path.join(dir, name))
    : impl.kind === "server"
      ? Effect.map(freePort, (port) => `tcp://127.0.0.1:${port}`)
      : Effect.succeed("tcp://127.0.0.1:0")

const commandOf = (impl: Impl, role: Role, endpoint: string, flags: ReadonlyArray<string>) => {
  const argv = impl.command(role, endpoint, flags)
  return argv === undefined ? Effect.fail(transportError(`${impl.name} has no ${role}`)) : Effect.succeed(argv)
}

/** Starts a receiver at `endpoint` with PEERS.md `flags` and waits until it is ready. */
export const startReceiver = (
  impl: Impl,
  endpoint: string,
  flags: ReadonlyArray<string>
): Effect.Effect<Receiver, CaseFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const argv = yield* commandOf(impl, "receiver", endpoint, flags)
    const peer = yield* spawn(`${impl.name} receiver`, argv)
    if (impl.kind === "server") {
      yield* waitAccepting(endpoint, READY_TIMEOUT_MS)
      return { impl, peer, endpoint, reports: false }
    }
    const ready = yield* peer.listening(READY_TIMEOUT_MS)
    if (endpoint.startsWith("tcp://") && !ready.endpoint.startsWith("tcp://"))
      return yield* mismatch(`${peer.label} reported ${ready.endpoint} for ${endpoint}`)
    if (!endpoint.startsWith("tcp://") && ready.endpoint.replace(/^unix:/, "") !== endpoint.replace(/^unix:/, ""))
      return yield* mismatch(`${peer.label} reported ${ready.endpoint} for ${endpoint}`)
    return { impl, peer, endpoint: ready.endpoint, reports: true }
  })

/** Starts a sender towards `endpoint`. */
export const startSender = (
  impl: Impl,
  endpoint: string,
  flags: ReadonlyArray<string>
): Effect.Effect<Peer, CaseFailure, Scope.Scope> =>
  Effect.flatMap(commandOf(impl, "sender", endpoint, flags), (argv) => spawn(`${impl.name} sender`, argv))

/** Stops a receiver (SIGTERM) and returns its report. */
export const stopReceiver = (receiver: Receiver): Effect.Effect<Report | undefined, CaseFailure> =>
  Effect.gen(function* () {
    yield* receiver.peer.terminate(TERMINATE_TIMEOUT_MS)
    if (!receiver.reports) return undefined
    return yield* receiver.peer.requireReport()
  })

/** Waits up to `graceMs` for a receiver to exit on its own (`--expect-transactions`), then stops it. */
export const finishReceiver = (receiver: Receiver, graceMs: number): Effect.Effect<Report | undefined, CaseFailure> =>
  Effect.gen(function* () {
    if (receiver.reports) yield* receiver.peer.exited(graceMs).pipe(Effect.ignore)
    return yield* stopReceiver(receiver)
  })

/** `--name value` pairs from a record, skipping undefined values. */
export const flags = (values: Record<string, string | number | bigint | undefined>): Array<string> => {
  const out: Array<string> = []
  for (const [name, value] of Object.entries(values)) if (value !== undefined) out.push(`--${name}`, String(value))
  return out
}

/**
 * The harness's own ends of a connection, built from `@txlane/protocol` (never a second
 * framing implementation):
 *
 * - {@link connect}: a raw client that writes exactly the bytes a case wants (oversize headers,
 *   zero-length frames, a frame cut in half) and collects the receiver's responses and close.
 * - {@link listen}: a minimal receiver that records every frame a sender writes and answers it,
 *   for the sender-side cases (the frame limit), so they do not depend on any receiver.
 *
 * Both are scoped: closing the Scope destroys the sockets. Their waits are woken by socket
 * events (never polled) and bounded through Effect's `Clock`.
 *
 * @module
 */
import * as net from "node:net"
import { Endpoint, Envelope, FrameDecoder, FrameEncoder, Response } from "@txlane/protocol"
import { Effect, Result, type Scope } from "effect"
import { type CaseFailure, timeout, transportError } from "./Outcome.js"

/** What a raw client has seen so far. */
export interface ClientState {
  readonly responses: ReadonlyArray<Response.Response>
  /** Response payloads that did not decode (SPEC §5), as text. */
  readonly malformed: ReadonlyArray<string>
  /** The receiver closed (EOF or reset). */
  readonly closed: boolean
  /** A socket error, if any (ECONNRESET after a close is normal). */
  readonly error: string | undefined
}

/** A raw client connection. */
export interface Client {
  readonly write: (bytes: Uint8Array) => Effect.Effect<void, CaseFailure>
  /** Half-closes (shutdown write). */
  readonly end: () => Effect.Effect<void>
  readonly state: () => ClientState
  /**
   * Waits until `predicate(state)` holds, re-checked on every socket event; `timeout` after
   * `timeoutMs` with `what` in the message.
   */
  readonly waitFor: (
    what: string,
    predicate: (state: ClientState) => boolean,
    timeoutMs: number
  ) => Effect.Effect<ClientState, CaseFailure>
}

/** Wakers run on every socket event: each re-checks the condition a wait is for. */
const wakers = () => {
  const all = new Set<() => void>()
  return {
    wake: () => {
      for (const w of [...all]) w()
    },
    /** Resolves with `value()` once `ready()` holds (checked now and at every wake). */
    until: <A>(ready: () => boolean, value: () => A): Effect.Effect<A> =>
      Effect.callback<A>((resume) => {
        if (ready()) return resume(Effect.succeed(value()))
        const check = () => {
          if (!ready()) return
          all.delete(check)
          resume(Effect.succeed(value()))
        }
        all.add(check)
        return Effect.sync(() => all.delete(check))
      })
  }
}

const parse = (endpoint: string): Effect.Effect<Endpoint.Endpoint, CaseFailure> =>
  Result.match(Endpoint.parse(endpoint), {
    onFailure: (e) => Effect.fail(transportError(e.message)),
    onSuccess: Effect.succeed
  })

/** Connects to a receiver; fails with `transportError` if it cannot within `timeoutMs`. */
export const connect = (endpoint: string, timeoutMs = 5000): Effect.Effect<Client, CaseFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const target = yield* parse(endpoint)
    const responses: Array<Response.Response> = []
    const malformed: Array<string> = []
    let closed = false
    let error: string | undefined
    const decoder = FrameDecoder.make()
    const events = wakers()
    const socket = yield* Effect.acquireRelease(
      Effect.callback<net.Socket, CaseFailure>((resume) => {
        const s = net.connect(Endpoint.toNetOptions(target))
        const timer = setTimeout(() => {
          s.destroy()
          resume(Effect.fail(timeout(`connect to ${endpoint} took over ${timeoutMs} ms`)))
        }, timeoutMs)
        s.once("connect", () => {
          clearTimeout(timer)
          resume(Effect.succeed(s))
        })
        s.once("error", (e) => {
          clearTimeout(timer)
          resume(Effect.fail(transportError(`connect to ${endpoint}: ${e.message}`)))
        })
      }),
      (s) => Effect.sync(() => s.destroy())
    )
    socket.on("data", (chunk: Buffer) => {
      const pushed = decoder.push(chunk)
      for (const frame of pushed.frames) {
        const decoded = Response.decode(frame)
        if (Result.isSuccess(decoded)) responses.push(decoded.success)
        else malformed.push(Buffer.from(frame).toString("utf8").slice(0, 200))
      }
      if (pushed.error) malformed.push(`response framing: ${pushed.error.message}`)
      events.wake()
    })
    socket.on("error", (e) => {
      error = e.message
      closed = true
      events.wake()
    })
    socket.on("end", () => {
      closed = true
      events.wake()
    })
    socket.on("close", () => {
      closed = true
      events.wake()
    })
    const state = (): ClientState => ({ responses, malformed, closed, error })
    const client: Client = {
      write: (bytes) =>
        Effect.callback<void, CaseFailure>((resume) => {
          if (socket.destroyed || !socket.writable) {
            resume(Effect.fail(transportError(`write to ${endpoint}: connection already closed`)))
            return
          }
          socket.write(bytes, (e) =>
            resume(e ? Effect.fail(transportError(`write to ${endpoint}: ${e.message}`)) : Effect.void)
          )
        }),
      end: () => Effect.sync(() => socket.end()),
      state,
      waitFor: (what, predicate, timeoutMs) =>
        events
          .until(() => predicate(state()), state)
          .pipe(
            Effect.timeoutOrElse({
              duration: timeoutMs,
              orElse: () =>
                Effect.fail(
                  timeout(
                    `waited ${timeoutMs} ms for ${what}; saw ${JSON.stringify(responses)}${closed ? ", closed" : ""}`
                  )
                )
            })
          )
    }
    return client
  })

/** Polls `connect` until a listener accepts (for outside servers that print no ready line). */
export const waitAccepting = (endpoint: string, timeoutMs: number): Effect.Effect<void, CaseFailure> =>
  Effect.gen(function* () {
    const deadline = Date.now() + timeoutMs
    while (true) {
      const attempt = yield* Effect.scoped(connect(endpoint, 1000)).pipe(Effect.result)
      if (Result.isSuccess(attempt)) return
      if (Date.now() >= deadline)
        return yield* timeout(`nothing accepted connections at ${endpoint} within ${timeoutMs} ms`)
      yield* Effect.sleep(50)
    }
  })

/** What {@link listen} received. */
export interface Collected {
  readonly frames: number
  readonly transactions: Array<Uint8Array>
  readonly connections: number
  /** Framing or envelope errors seen, as text. */
  readonly errors: Array<string>
}

/** A harness-side receiver. */
export interface Collector {
  /** The endpoint it listens on (the bound port for TCP). */
  readonly endpoint: string
  readonly collected: () => Collected
  /**
   * What was collected once every connection it accepted has closed (a sender that exited has
   * had all its bytes read); `timeout` after `timeoutMs`.
   */
  readonly drained: (timeoutMs: number) => Effect.Effect<Collected, CaseFailure>
}

/**
 * Listens on `endpoint` (a fresh socket path, or `tcp://127.0.0.1:0`) and answers every valid
 * frame with `{"success":true,"count":N}`, recording its transactions.
 */
export const listen = (endpoint: string): Effect.Effect<Collector, CaseFailure, Scope.Scope> =>
  Effect.gen(function* () {
    const target = yield* parse(endpoint)
    const collected: Collected = { frames: 0, transactions: [], connections: 0, errors: [] }
    const sockets = new Set<net.Socket>()
    const events = wakers()
    const server = yield* Effect.acquireRelease(
      Effect.callback<net.Server, CaseFailure>((resume) => {
        const server = net.createServer((socket) => {
          sockets.add(socket)
          ;(collected as { connections: number }).connections++
          const decoder = FrameDecoder.make()
          socket.on("data", (chunk: Buffer) => {
            const pushed = decoder.push(chunk)
            for (const frame of pushed.frames) {
              ;(collected as { frames: number }).frames++
              const decoded = Envelope.decode(frame)
              let response: Response.Response
              if (Result.isFailure(decoded)) {
                collected.errors.push(decoded.failure.message)
                response = Response.failure(Response.ErrorText.invalid(decoded.failure.reason))
              } else if (decoded.success.length === 0) {
                collected.errors.push("empty batch")
                response = Response.failure(Response.ErrorText.empty)
              } else {
                // Copies: the frame may be a view into a chunk Node reuses.
                for (const tx of decoded.success) collected.transactions.push(Uint8Array.from(tx))
                response = Response.success(decoded.success.length)
              }
              const encoded = FrameEncoder.encode(Response.encode(response))
              if (Result.isSuccess(encoded)) for (const part of encoded.success) socket.write(part)
            }
            if (pushed.error) {
              collected.errors.push(pushed.error.message)
              socket.destroy()
            }
          })
          socket.on("end", () => {
            const truncated = decoder.end()
            if (truncated) collected.errors.push(truncated.message)
            socket.end()
          })
          socket.on("error", () => {})
          socket.on("close", () => {
            sockets.delete(socket)
            events.wake()
          })
        })
        server.once("error", (e) => resume(Effect.fail(transportError(`listen on ${endpoint}: ${e.message}`))))
        server.listen(Endpoint.toNetOptions(target), () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.callback<void>((resume) => {
          for (const s of sockets) s.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const bound =
      target._tag === "Tcp" && address !== null && typeof address === "object"
        ? Endpoint.format(Endpoint.tcp(target.host, address.port))
        : endpoint
    return {
      endpoint: bound,
      collected: () => collected,
      drained: (timeoutMs) =>
        events
          .until(
            () => sockets.size === 0,
            () => collected
          )
          .pipe(
            Effect.timeoutOrElse({
              duration: timeoutMs,
              orElse: () => Effect.fail(timeout(`${sockets.size} connections still open after ${timeoutMs} ms`))
            })
          )
    }
  })

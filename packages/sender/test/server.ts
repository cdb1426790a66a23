/**
 * A minimal in-test receiver: decodes frames with the protocol's FrameDecoder and, depending on
 * its mode, answers each with a JSON response, drops connections after N frames, or holds its
 * answers. It stops reading while its own writes are backed up, like the deployed server (which
 * blocks in `write`), so a sender that does not read would deadlock against it.
 */
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { Envelope, FrameDecoder, FrameEncoder, Response } from "@txlane/protocol"
import { Digest } from "@txlane/protocol/testing"
import { Result } from "effect"

let counter = 0

/** A fresh socket path under the temp dir (short: sun_path is at most 107 bytes). */
export const socketPath = (): string => path.join(os.tmpdir(), `txs-${process.pid}-${counter++}.sock`)

/** How the server answers. */
export type Respond =
  | "json" // {"success":true,"count":N}
  | "none" // never writes
  | "hold" // answers only once released (see `release`)
  | "reject" // {"success":false,"error":"..."}

export interface ServerOptions {
  readonly path?: string
  readonly respond?: Respond
  /** Destroy each connection after reading this many frames (answering them first). */
  readonly dropAfter?: number
  /** Pad each response to at least this many bytes (an extra string field). */
  readonly responseBytes?: number
  /** A "hold" server still answers the first `n` frames (over all connections) at once: the sender's probes. */
  readonly holdAfter?: number
  /** Ignore (read, never answer) every frame of the first `n` connections. */
  readonly ignoreFirstConnections?: number
  /** Serve only the first `n` connections at a time; close every other one as soon as it is accepted, unread (a receiver at `maxConnections`). */
  readonly maxConnections?: number
  /**
   * Overrides the answer to frame `index` (counted over all connections from 0), like the
   * deployed server's phases: a failure answer does not accept the batch; `close` closes the
   * connection after answering; `extra` writes that many more success answers (out of step).
   */
  readonly script?: (index: number) => Scripted | undefined
}

/** A scripted answer (see {@link ServerOptions.script}). */
export interface Scripted {
  readonly error?: string
  readonly close?: boolean
  readonly extra?: number
}

export interface TestServer {
  readonly path: string
  /** Every payload received, in arrival order (copies). */
  readonly payloads: Array<Uint8Array>
  /** Digest of every transaction received (duplicates included). */
  readonly digest: Digest.Digest
  /** Digest of the transactions of every accepted frame (answered with success; duplicates included). */
  readonly accepted: Digest.Digest
  /** Connections accepted. */
  connections: number
  /** Connections closed at once by `maxConnections`. */
  refused: number
  /** Frames received. */
  frames: number
  /** Switches a "hold" server to answering: the backlog at once, then every frame. */
  release(): void
  /** Resolves once `n` frames have arrived. */
  waitFrames(n: number, timeoutMs?: number): Promise<void>
  close(): Promise<void>
}

const responseCache = new Map<string, Array<Uint8Array>>()

// Encoding is cached: the deadlock test answers 100,000 frames with the same 4 KiB response.
const encodeResponse = (response: Response.Response, pad: number): Array<Uint8Array> => {
  const key = `${JSON.stringify(response)}/${pad}`
  const cached = responseCache.get(key)
  if (cached !== undefined) return cached
  let body = Response.encode(response)
  if (body.length < pad) body = Response.encode({ ...response, pad: "x".repeat(pad - body.length - 9) })
  const pieces = [...Result.getOrThrow(FrameEncoder.encode(body))]
  responseCache.set(key, pieces)
  return pieces
}

/** Starts a server on a fresh (or the given) socket path. */
export const startServer = (options: ServerOptions = {}): Promise<TestServer> => {
  const file = options.path ?? socketPath()
  try {
    fs.unlinkSync(file)
  } catch {}
  let respond = options.respond ?? "json"
  const held: Array<() => void> = []
  const sockets = new Set<net.Socket>()
  const waiters: Array<{ n: number; resolve: () => void }> = []
  const state: TestServer = {
    path: file,
    payloads: [],
    digest: Digest.make(),
    accepted: Digest.make(),
    connections: 0,
    refused: 0,
    frames: 0,
    release() {
      respond = "json"
      for (const answer of held.splice(0)) answer()
    },
    waitFrames(n, timeoutMs = 10_000) {
      if (state.frames >= n) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${n} frames (got ${state.frames})`)),
          timeoutMs
        )
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          }
        })
      })
    },
    close() {
      for (const s of sockets) s.destroy()
      return new Promise((resolve) => server.close(() => resolve()))
    }
  }
  const server = net.createServer((socket) => {
    const index = state.connections++
    if (options.maxConnections !== undefined && sockets.size >= options.maxConnections) {
      state.refused++
      socket.destroy()
      return
    }
    const ignore = index < (options.ignoreFirstConnections ?? 0)
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    socket.on("error", () => {})
    const decoder = FrameDecoder.make()
    let seen = 0
    socket.on("data", (chunk: Buffer) => {
      const { frames } = decoder.push(chunk)
      for (const frame of frames) {
        if (socket.destroyed) return
        seen++
        const scripted = options.script?.(state.frames)
        state.frames++
        const payload = Uint8Array.from(frame)
        state.payloads.push(payload)
        const decoded = Envelope.decode(payload)
        const txs = Result.isSuccess(decoded) ? decoded.success : undefined
        if (txs !== undefined) state.digest.addAll(txs)
        const response =
          txs === undefined
            ? Response.failure(Response.ErrorText.invalid("test"))
            : scripted?.error !== undefined
              ? Response.failure(scripted.error)
              : respond === "reject"
                ? Response.failure("Transaction submission failed: test")
                : Response.success(txs.length)
        if (response.success && txs !== undefined) state.accepted.addAll(txs)
        const answer = () => {
          if (socket.destroyed) return
          const pieces = encodeResponse(response, options.responseBytes ?? 0)
          socket.cork()
          for (const p of pieces) socket.write(p)
          for (let i = 0; i < (scripted?.extra ?? 0); i++) {
            for (const p of encodeResponse(Response.success(1), 0)) socket.write(p)
          }
          socket.uncork()
          // Like the deployed server: while a write is backed up, it reads nothing.
          if (socket.writableNeedDrain && !socket.isPaused()) {
            socket.pause()
            socket.once("drain", () => socket.resume())
          }
        }
        if (!ignore && respond !== "none") {
          if (respond === "hold" && state.frames > (options.holdAfter ?? 0)) held.push(answer)
          else answer()
        }
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (state.frames >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve()
        }
        if (scripted?.close === true || (options.dropAfter !== undefined && seen >= options.dropAfter)) {
          // Let the answers go out, then close without reading the rest.
          socket.pause()
          socket.end(() => socket.destroy())
          return
        }
      }
    })
    socket.on("end", () => socket.end())
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(file, () => resolve(state))
  })
}

/**
 * Raw sockets for the hostile tests: open many connections in bounded batches, and a
 * well-behaved client that measures each frame's round trip while an attack runs.
 */
import * as Net from "node:net"
import { Envelope } from "@txlane/protocol"
import { Workload } from "@txlane/protocol/testing"
import { Figure } from "@txlane/testkit"
import { Client, frames } from "../helpers.js"

/** A raw connection and what happened to it. */
export interface Raw {
  readonly socket: Net.Socket
  /** When the server closed it (EOF, reset or close), ms since epoch; undefined while open. */
  closedAt: number | undefined
  /** Bytes the server wrote to it. */
  received: number
  /** The connect failed (only with `tolerateConnectErrors`): e.g. EAGAIN, a full listen backlog. */
  connectError: string | undefined
}

const opened: Array<Net.Socket> = []

/** Opens `n` connections, `batch` at a time (a Unix listen backlog is finite). */
export const openMany = async (
  path: string,
  n: number,
  batch = 64,
  tolerateConnectErrors = false
): Promise<Array<Raw>> => {
  const out: Array<Raw> = []
  for (let i = 0; i < n; i += batch) {
    const group = await Promise.all(
      Array.from({ length: Math.min(batch, n - i) }, () => {
        return new Promise<Raw>((resolve, reject) => {
          const socket = Net.connect({ path })
          opened.push(socket)
          const raw: Raw = { socket, closedAt: undefined, received: 0, connectError: undefined }
          socket.on("data", (d) => {
            raw.received += d.length
          })
          const closed = () => {
            raw.closedAt ??= Date.now()
          }
          socket.on("end", closed)
          socket.on("close", closed)
          socket.on("error", closed)
          // Node clears `socket.connecting` before it reports a failed connect, so a flag of our own
          // tells a refused connect (EAGAIN: full backlog) from an error after connecting.
          let connected = false
          socket.once("connect", () => {
            connected = true
            resolve(raw)
          })
          socket.once("error", (error: NodeJS.ErrnoException) => {
            if (!tolerateConnectErrors || connected) return reject(error)
            raw.connectError = error.code ?? error.message
            resolve(raw)
          })
        })
      })
    )
    out.push(...group)
  }
  return out
}

/** Destroys every socket opened by {@link openMany}. */
export const destroyAll = (): void => {
  for (const s of opened.splice(0)) s.destroy()
}

/** A 32 KiB frame of the upstream shape (50 × 650 B transactions). */
export const upstreamFrame = (): Buffer =>
  frames(Envelope.encode(Workload.batches({ batches: 1, txPerBatch: 50 }).next().value!))

/**
 * A well-behaved client: sends one frame, waits for its response, repeats every `everyMs`
 * until `stop()`; records each round trip. Any error response or early close is a failure.
 */
// A well-behaved client meets a full listen backlog (EAGAIN on a Unix socket) by retrying, as
// any client of a busy server must; the flood tests leave the backlog full for a moment.
const connectPatiently = async (address: string): Promise<Client> => {
  for (let attempt = 1; ; attempt++) {
    try {
      return await Client.connect(address)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EAGAIN" || attempt === 50) throw error
      await new Promise((r) => setTimeout(r, 20 * attempt))
    }
  }
}

export const healthyLoop = async (address: string, everyMs = 20) => {
  const client = await connectPatiently(address)
  const frame = upstreamFrame()
  const rtts: Array<number> = []
  let failures = 0
  let running = true
  const done = (async () => {
    while (running) {
      const t0 = performance.now()
      client.write(frame)
      try {
        const rs = await client.awaitResponses(rtts.length + failures + 1, 10_000)
        if (rs.at(-1)?.success !== true) failures++
        else rtts.push(performance.now() - t0)
      } catch {
        failures++
        break
      }
      await new Promise((r) => setTimeout(r, everyMs))
    }
  })()
  return {
    stop: async () => {
      running = false
      await done
      client.destroy()
      const sorted = [...rtts].sort((a, b) => a - b)
      const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
      return { frames: rtts.length, failures, p50: q(0.5), p99: q(0.99), max: sorted.at(-1) ?? Number.NaN }
    }
  }
}

/** Prints a figure for RELIABILITY.md on one greppable line. */
export const { figure } = Figure

/**
 * Test helpers: temp socket paths, and a raw `node:net` client that writes bytes and decodes
 * the responses with the protocol's own decoder.
 */
import * as Fs from "node:fs"
import * as Net from "node:net"
import * as Os from "node:os"
import * as Path from "node:path"
import { FrameDecoder, FrameEncoder, Response } from "@txlane/protocol"
import { Result } from "effect"

const dirs: Array<string> = []

/** A fresh, short socket path under os.tmpdir() (sun_path is 107 bytes). */
export const tempSocketPath = (name = "r.sock"): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txr-"))
  dirs.push(dir)
  return Path.join(dir, name)
}

/** Removes every directory made by {@link tempSocketPath}. */
export const cleanupTempDirs = (): void => {
  for (const dir of dirs.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
}

/** Waits until `predicate` holds, polling; fails after `timeoutMs`. */
export const waitFor = async (predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Frames `payloads` into one buffer. */
export const frames = (...payloads: Array<Uint8Array>): Buffer => Buffer.from(FrameEncoder.concat(payloads))

/** A 4-byte header announcing `length`, with no payload. */
export const header = (length: number): Buffer => {
  const b = Buffer.alloc(4)
  b.writeUInt32BE(length >>> 0, 0)
  return b
}

/** A raw client: writes bytes, collects decoded responses, notices the server closing. */
export class Client {
  readonly responses: Array<Response.Response> = []
  readonly decoder = new FrameDecoder.FrameDecoder()
  ended = false
  closed = false
  error: Error | undefined

  private constructor(readonly socket: Net.Socket) {
    socket.on("data", (chunk: Buffer) => {
      const { frames: payloads, error } = this.decoder.push(chunk)
      if (error) throw error
      for (const p of payloads) {
        const decoded = Response.decode(p)
        if (Result.isFailure(decoded)) throw decoded.failure
        this.responses.push(decoded.success)
      }
    })
    socket.on("end", () => {
      this.ended = true
    })
    socket.on("error", (e) => {
      this.error = e
    })
    socket.on("close", () => {
      this.closed = true
    })
  }

  static connect(address: string): Promise<Client> {
    const options = address.startsWith("tcp://")
      ? (() => {
          const u = new URL(address.replace("tcp://", "http://"))
          return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port) }
        })()
      : { path: address }
    return new Promise((resolve, reject) => {
      const socket = Net.connect(options)
      socket.once("connect", () => resolve(new Client(socket)))
      socket.once("error", reject)
    })
  }

  write(bytes: Uint8Array): boolean {
    return this.socket.write(bytes)
  }

  /** Waits for at least `n` responses. */
  async awaitResponses(n: number, timeoutMs = 5000): Promise<Array<Response.Response>> {
    await waitFor(() => this.responses.length >= n || this.closed, timeoutMs, `${n} responses`)
    if (this.responses.length < n) throw new Error(`connection closed after ${this.responses.length} of ${n} responses`)
    return this.responses
  }

  /** Waits until the server closed its side (EOF or close). */
  awaitServerClose(timeoutMs = 5000): Promise<void> {
    return waitFor(() => this.ended || this.closed, timeoutMs, "server close")
  }

  destroy(): void {
    this.socket.destroy()
  }
}

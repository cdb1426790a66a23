/**
 * Test helpers of the CLI tests: the bins (run from source with tsx), waits on their output; temp socket paths,
 * frames and the `RELIABILITY` figure line come from the shared test kit.
 */
import * as ChildProcess from "node:child_process"
import * as Path from "node:path"
import { Figure, RawClient, Temp } from "@txlane/testkit"

/** The bins' TypeScript sources. */
export const BIN = {
  sender: Path.join(import.meta.dirname, "../src/bin/txlane-sender.ts"),
  receiver: Path.join(import.meta.dirname, "../src/bin/txlane-receiver.ts"),
  txlane: Path.join(import.meta.dirname, "../src/bin/txlane.ts")
} as const

/** The argv prefix that runs a bin's source: node with tsx and the workspace's source condition. */
export const tsxArgs = (bin: string): Array<string> => ["--import", "tsx", "--conditions=txlane-source", bin]

/** A fresh, short socket path in its own temp directory (the test kit's). */
export const tempSocketPath = (name = "r.sock"): string => Temp.socketPath(name, "txc-")

export const { cleanupTempDirs } = Temp
export const { frames } = RawClient
export const { figure } = Figure

/** Resolves once `stream` has printed `text` (read from its data events: no polling); fails after `timeoutMs`. */
export const printed = (stream: NodeJS.ReadableStream, text: string, timeoutMs = 60_000): Promise<void> =>
  new Promise((resolve, reject) => {
    let seen = ""
    const onData = (chunk: Buffer | string) => {
      seen += chunk.toString()
      if (!seen.includes(text)) return
      clearTimeout(timer)
      stream.off("data", onData)
      resolve()
    }
    const timer = setTimeout(() => {
      stream.off("data", onData)
      reject(new Error(`"${text}" not printed within ${timeoutMs} ms; got: ${seen}`))
    }, timeoutMs)
    stream.on("data", onData)
  })

/** One JSON line of a command in JSON mode (the README's "Logs" section). */
export interface Event {
  readonly timestamp: string
  readonly level: string
  readonly message: string
  readonly annotations: Record<string, unknown>
}

/** A bin running as a child process, its output collected. */
export interface Running {
  readonly child: ChildProcess.ChildProcess
  /** The exit code (`null`: killed by a signal). */
  readonly exited: Promise<number | null>
  /** The JSON lines of stdout so far. */
  readonly events: () => Array<Event>
  /** The first event whose message starts with `message`. */
  readonly find: (message: string) => Event | undefined
  /** Resolves with the first event whose message starts with `message`, as soon as it is printed. */
  readonly waitFor: (message: string, timeoutMs?: number) => Promise<Event>
  readonly stdout: () => string
  readonly stderr: () => string
}

/** Starts `bin` (from source) with `args`; `env` is added to the environment. */
export const start = (bin: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Running => {
  const child = ChildProcess.spawn(process.execPath, [...tsxArgs(bin), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env }
  })
  let out = ""
  let err = ""
  child.stdout.on("data", (c: Buffer) => {
    out += c.toString()
  })
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString()
  })
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)))
  const events = (): Array<Event> =>
    out
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Event)
  const find = (message: string) => events().find((e) => e.message.startsWith(message))
  const waitFor = (message: string, timeoutMs = 30_000) =>
    new Promise<Event>((resolve, reject) => {
      const check = () => {
        const found = find(message)
        if (found === undefined) return
        done()
        resolve(found)
      }
      const fail = () => {
        done()
        reject(new Error(`no "${message}" line; stdout: ${out}\nstderr: ${err}`))
      }
      const timer = setTimeout(fail, timeoutMs)
      const done = () => {
        clearTimeout(timer)
        child.stdout.off("data", check)
        child.off("close", onClose)
      }
      // "close" comes after the process exited and its output was read to the end.
      const onClose = () => (find(message) === undefined ? fail() : check())
      child.stdout.on("data", check)
      child.on("close", onClose)
      check()
    })
  return { child, exited, events, find, waitFor, stdout: () => out, stderr: () => err }
}

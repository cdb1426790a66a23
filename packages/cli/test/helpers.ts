/**
 * Test helpers of the CLI tests: the bins (run from source with tsx), temp socket paths, a
 * poller for conditions on a child's output, and the `RELIABILITY` figure line the receiver's
 * hostile tests also print.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { FrameEncoder } from "@txlane/protocol"

/** The bins' TypeScript sources. */
export const BIN = {
  sender: Path.join(import.meta.dirname, "../src/bin/txlane-sender.ts"),
  receiver: Path.join(import.meta.dirname, "../src/bin/txlane-receiver.ts"),
  txlane: Path.join(import.meta.dirname, "../src/bin/txlane.ts")
} as const

/** The argv prefix that runs a bin's source: node with tsx and the workspace's source condition. */
export const tsxArgs = (bin: string): Array<string> => ["--import", "tsx", "--conditions=txlane-source", bin]

const dirs: Array<string> = []

/** A fresh, short socket path under os.tmpdir() (sun_path is 107 bytes). */
export const tempSocketPath = (name = "r.sock"): string => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "txc-"))
  dirs.push(dir)
  return Path.join(dir, name)
}

/** Removes every directory made by {@link tempSocketPath}. */
export const cleanupTempDirs = (): void => {
  for (const dir of dirs.splice(0)) Fs.rmSync(dir, { recursive: true, force: true })
}

/** Waits until `predicate` holds (it reads a child process's output), polling; fails after `timeoutMs`. */
export const waitFor = async (predicate: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 5))
  }
}

/** Frames `payloads` into one buffer. */
export const frames = (...payloads: Array<Uint8Array>): Buffer => Buffer.from(FrameEncoder.concat(payloads))

/** Prints a measured figure as one `RELIABILITY {json}` line (collected into RELIABILITY.md). */
export const figure = (name: string, values: Record<string, unknown>): void => {
  console.log(`RELIABILITY ${JSON.stringify({ name, ...values })}`)
}

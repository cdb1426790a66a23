/**
 * Starts the kit's receiver child (`children/receiver.ts`) and talks to it: its endpoint, its
 * stats on demand, its RSS, a graceful or a brutal end.
 *
 * @module
 */
import * as Path from "node:path"
import type { CreateReceiverOptions, Receiver } from "@txlane/receiver"
import { type Child, rssOf, spawnScript } from "./Children.js"

/** The receiver child script, for tests that start it themselves. */
export const RECEIVER_CHILD = Path.join(import.meta.dirname, "children", "receiver.ts")

/** What the child takes: JSON-serialisable receiver options plus its own (see the script). */
export interface ReceiverChildOptions extends Omit<CreateReceiverOptions, "submit"> {
  /** Append every accepted frame to this file before answering it. */
  readonly record?: string
  /** Print a `sample` line this often. */
  readonly sampleEveryMs?: number
  /** The graceful close's deadline (default 10 s). */
  readonly closeTimeoutMs?: number
}

/** A `stats` line: the receiver's {@link Receiver.Stats} plus the child's own figures. */
export interface ReceiverChildStats extends Receiver.Stats {
  /** Frames `submit` handled. */
  readonly frames: number
  /** Transactions `submit` handled. */
  readonly transactions: number
  readonly rss: number
  readonly memory: NodeJS.MemoryUsage
  /** Open file descriptors of the child. */
  readonly fds: number
}

/** A running receiver child. */
export interface ReceiverChild extends Child {
  /** The endpoint it listens on (from its `listening` line). */
  readonly address: string
  /** Its stats now. */
  stats(): Promise<ReceiverChildStats>
  /** Its resident set size now, in bytes (VmRSS). */
  rss(): number
  /** Graceful close (SIGTERM); resolves with the exit code. */
  terminate(): Promise<number | string>
}

/** Starts a receiver child with `options` and resolves once it listens. */
export const spawnReceiver = async (options: ReceiverChildOptions, timeoutMs = 15_000): Promise<ReceiverChild> => {
  const child = spawnScript(RECEIVER_CHILD, options)
  const listening = await child.next("listening", timeoutMs)
  return {
    ...child,
    address: listening.endpoint as string,
    stats: async () => (await child.ask("stats", "stats")) as unknown as ReceiverChildStats,
    rss: () => rssOf(child.pid),
    terminate: () => {
      child.signal("SIGTERM")
      return child.exited
    }
  }
}

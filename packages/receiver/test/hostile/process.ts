/**
 * The hostile-client tests' processes: the kit's receiver child (its RSS and file descriptors
 * are then the receiver's alone) and `attacker.mjs` (attacking clients off the test process's
 * CPU). Every child is SIGKILLed by {@link killAll}.
 */
import * as Path from "node:path"
import { Children, ReceiverChild } from "@txlane/testkit"

export const { killAll } = Children

/** Starts a receiver child (JSON-serialisable options; `submit` answers `{count}`), closing within 2 s. */
export const spawnReceiver = (
  options: ReceiverChild.ReceiverChildOptions,
  timeoutMs?: number
): Promise<ReceiverChild.ReceiverChild> => ReceiverChild.spawnReceiver({ closeTimeoutMs: 2000, ...options }, timeoutMs)

const ATTACKER = Path.join(import.meta.dirname, "attacker.mjs")

/** What the attacker process reports when it ends. */
export interface AttackReport {
  readonly sentBytes: number
  readonly receivedBytes: number
  readonly closed: number
}

/**
 * Starts `attacker.mjs` (plain Node, its own process) with `options`; resolves once its
 * connections are open, with a promise of its final report (after `durationMs`).
 */
export const spawnAttacker = async (options: Record<string, unknown>): Promise<{ done: Promise<AttackReport> }> => {
  const child = Children.spawn(process.execPath, [ATTACKER, JSON.stringify(options)])
  await child.next("ready")
  const done = child.next("done", 10 * 60_000).then((line) => line as unknown as AttackReport)
  done.catch(() => {}) // a test that never awaits the report must not see an unhandled rejection
  return { done }
}

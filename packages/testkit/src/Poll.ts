/**
 * The one poller of the test kit, for state that has no event to wait on: a library's `stats()`
 * snapshot. Whatever emits events (a socket, a child's lines, a {@link RawClient}) is awaited
 * through them instead.
 *
 * @module
 */
import { setTimeout as sleep } from "node:timers/promises"

/** How often {@link waitFor} looks again. */
export const POLL_INTERVAL_MS = 5

/**
 * Resolves once `predicate` holds; rejects with `what` after `timeoutMs`. A predicate that asks
 * another process (a child's `stats`) passes a longer `intervalMs`, so as not to load it.
 */
export const waitFor = async (
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = "condition",
  intervalMs = POLL_INTERVAL_MS
): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

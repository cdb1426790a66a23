/**
 * Cutting a pending close short with an `AbortSignal`, as the sender's and receiver's Promise
 * facades both do.
 *
 * @module
 */

/**
 * Runs `abort` when `signal` aborts (at once if it already has), until `settled` settles. The
 * listener is removed then: a long-lived signal (a process-wide shutdown one) must not keep the
 * closed sender or receiver reachable.
 */
export const abortWith = (signal: AbortSignal | undefined, abort: () => void, settled: Promise<unknown>): void => {
  if (signal === undefined) return
  if (signal.aborted) {
    abort()
    return
  }
  signal.addEventListener("abort", abort, { once: true })
  const detach = () => signal.removeEventListener("abort", abort)
  settled.then(detach, detach)
}

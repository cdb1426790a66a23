/**
 * Building errors from wire input without capturing a stack trace.
 *
 * Every bad frame becomes a tagged error (`EmptyFrame`, `MalformedEnvelope`, …), and any
 * client can send bad frames at wire speed: a 64 KiB read holds 16,384 empty frames. Capturing
 * a stack trace was most of the ~13 µs each such error cost; a stack that points into the
 * receiver's own decode loop tells nobody anything about the peer that sent the bytes.
 *
 * @module
 */

/** Runs `make` with `Error.stackTraceLimit` at 0 (restored after, also if it throws). */
export const withoutStack = <A>(make: () => A): A => {
  const limit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    return make()
  } finally {
    Error.stackTraceLimit = limit
  }
}

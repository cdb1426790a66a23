/**
 * How the libraries' Promise APIs tell a host program about state changes (a sender's connection
 * went down, a receiver accepted a client): a plain `EventTarget`, so no dependency and no
 * Effect knowledge is needed. Each event is a `CustomEvent` whose `type` is the event's `type`
 * and whose `detail` is the event object; {@link Emitter.listen} hides that wrapping.
 *
 * ```ts
 * const off = sender.events.listen("disconnected", (e) => console.warn(e.worker, e.error))
 * // or, as an async iterator of CustomEvents (node:events):
 * // for await (const [e] of on(sender.events, "connected")) console.log(e.detail)
 * ```
 *
 * The Effect APIs do not use this: they take an `onConnectionEvent` callback option.
 *
 * @module
 */

/** An `EventTarget` of `E`s, keyed by their `type`. */
export class Emitter<E extends { readonly type: string }> extends EventTarget {
  /**
   * Calls `listener` with every event of `type`; returns a function that stops it. A throw from
   * `listener` is swallowed (Node reports a throwing `EventTarget` listener as an uncaught
   * exception, which would take the host down for a logging bug).
   */
  // Not named `on`: Node's `events.on`/`once` would take this for an EventEmitter and then fail
  // to remove their listener.
  listen<T extends E["type"]>(type: T, listener: (event: Extract<E, { readonly type: T }>) => void): () => void {
    const wrapped = (event: Event) => {
      try {
        listener((event as CustomEvent<Extract<E, { readonly type: T }>>).detail)
      } catch {
        // See above: a listener's bug must not become an uncaught exception.
      }
    }
    this.addEventListener(type, wrapped)
    return () => this.removeEventListener(type, wrapped)
  }

  /** Dispatches `event` to the listeners of its `type`. */
  emit(event: E): void {
    this.dispatchEvent(new CustomEvent(event.type, { detail: event }))
  }
}

/**
 * The outstanding-promise window: keep at most `size` operations (sends) in flight, as a
 * producer with a bounded pipeline does.
 *
 * @module
 */

/** At most `size` promises outstanding; {@link Window.add} waits for room. */
export class Window {
  private readonly outstanding = new Set<Promise<unknown>>()

  constructor(
    /** Operations in flight at most. */
    readonly size: number
  ) {}

  /** Operations in flight now. */
  get inFlight(): number {
    return this.outstanding.size
  }

  /**
   * Tracks `operation` (which must not reject: settle its outcome in a `then` first) and
   * resolves once there is room for the next one.
   */
  async add(operation: Promise<unknown>): Promise<void> {
    const tracked: Promise<unknown> = operation.finally(() => this.outstanding.delete(tracked))
    this.outstanding.add(tracked)
    if (this.outstanding.size >= this.size) await Promise.race(this.outstanding)
  }

  /** Resolves once every tracked operation has settled. */
  async drain(): Promise<void> {
    await Promise.all(this.outstanding)
  }
}

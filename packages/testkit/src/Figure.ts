/**
 * Measured figures on stdout, one greppable `RELIABILITY {json}` line each: what RELIABILITY.md
 * quotes is collected from these lines of a test run.
 *
 * @module
 */

/** Prints the figure `name` with its `values` as one `RELIABILITY {json}` line. */
export const figure = (name: string, values: Record<string, unknown>): void => {
  console.log(`RELIABILITY ${JSON.stringify({ name, ...values })}`)
}

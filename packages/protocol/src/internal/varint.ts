/**
 * Protobuf varint sizes, shared by the envelope codec and the workload generator.
 *
 * @module
 */

/** Bytes of the varint encoding of `n` (0 ≤ n < 2^32). */
export const varintLength = (n: number): number =>
  n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x20_0000 ? 3 : n < 0x1000_0000 ? 4 : 5

/**
 * The scenario suite. Each scenario expands into *units* (one run of some processes) that
 * produce one or more *cases* (one line of the matrix, one outcome each).
 *
 * Every check that involves transactions compares digests the harness computed itself from
 * the workload parameters (`Expected.ts`), never just counts.
 *
 * @module
 */

import { killRestart } from "./scenarios/kill-restart.js"
import type { Scenario } from "./scenarios/model.js"
import { connectionLimit, ffJson, stream, tx1, workers16 } from "./scenarios/pair.js"
import { frameLimit, truncated, zeroLength } from "./scenarios/receiver-side.js"
import { senderLimit } from "./scenarios/sender-side.js"
import { vectors } from "./scenarios/vectors.js"

export { check, checkReceived, errorsOf, workloadFlags } from "./scenarios/checks.js"
export { killRestart } from "./scenarios/kill-restart.js"
export type { CaseInfo, Plan, Scenario, Unit } from "./scenarios/model.js"
export { seedOf, short, single } from "./scenarios/model.js"
export { connectionLimit, ffJson, stream, timeoutMs, tx1, workers16 } from "./scenarios/pair.js"
export { frameLimit, truncated, zeroLength } from "./scenarios/receiver-side.js"
export { envelopeOfSize } from "./scenarios/receiver-wire.js"
export { senderLimit } from "./scenarios/sender-side.js"
export { receiverVectors, vectors } from "./scenarios/vectors.js"

/** The whole suite, in report order. */
export const all: ReadonlyArray<Scenario> = [
  stream,
  tx1,
  workers16,
  ffJson,
  connectionLimit,
  killRestart,
  vectors,
  frameLimit,
  zeroLength,
  truncated,
  senderLimit
]

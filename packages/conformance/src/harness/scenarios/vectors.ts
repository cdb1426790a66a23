/**
 * The receiver vectors of SPEC §10 (`packages/protocol/vectors/receiver.json`), each over a
 * real socket.
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Frame } from "@txlane/protocol"
import { Effect, Result } from "effect"
import { flags, listenEndpoint, type Receiver, startReceiver, stopReceiver, tempDir } from "../Cells.js"
import { fromFailure, Outcome as O, type Outcome } from "../Outcome.js"
import { packageRoot, resolveModule } from "../Peers.js"
import type { CaseInfo, Scenario, Unit } from "./model.js"
import { TRANSPORTS } from "./model.js"
import { exchange, receiversOf } from "./receiver-wire.js"

/** One receiver vector: bytes in, the responses expected, and whether the receiver closes. */
export interface Vector {
  readonly name: string
  readonly input: string
  readonly maxFrameBytes?: number
  readonly responses: ReadonlyArray<Record<string, unknown>>
  readonly closes: boolean
}

/** The `receiver` vectors of `packages/protocol/vectors/receiver.json`. */
export const receiverVectors = (): ReadonlyArray<Vector> => {
  // The monorepo sibling; else wherever @txlane/protocol resolves (src/index.ts or dist/index.js).
  const sibling = path.join(packageRoot, "..", "protocol")
  const root = fs.existsSync(path.join(sibling, "vectors", "receiver.json"))
    ? sibling
    : path.resolve(path.dirname(fileURLToPath(resolveModule("@txlane/protocol"))), "..")
  const parsed = JSON.parse(fs.readFileSync(path.join(root, "vectors", "receiver.json"), "utf8")) as {
    vectors: ReadonlyArray<Vector>
  }
  return parsed.vectors
}

const hex = (s: string) => Uint8Array.from(Buffer.from(s, "hex"))

/** Every receiver vector over a real socket, per receiver and transport. */
export const vectors: Scenario = {
  name: "vectors",
  description: "every vector of packages/protocol/vectors/receiver.json, over a real socket",
  units: (plan) => {
    const all = receiverVectors()
    const units: Array<Unit> = []
    for (const r of receiversOf(plan))
      for (const t of TRANSPORTS) {
        const cases = all.map(
          (v): CaseInfo => ({
            id: `vector.${v.name}/${r.name}/${t}`,
            scenario: "vectors",
            row: v.name,
            col: `${r.name} ${t}`,
            receiver: r.name,
            transport: t
          })
        )
        units.push({
          cases,
          impls: [r],
          timeoutMs: 90_000,
          run: Effect.gen(function* () {
            const outcomes: Array<Outcome> = []
            const limits = [...new Set(all.map((v) => v.maxFrameBytes ?? Frame.DEFAULT_MAX_FRAME_BYTES))]
            const byLimit = new Map<number, Receiver>()
            const dir = yield* tempDir
            for (const v of all) {
              const limit = v.maxFrameBytes ?? Frame.DEFAULT_MAX_FRAME_BYTES
              if (r.kind === "server" && limit !== Frame.DEFAULT_MAX_FRAME_BYTES) {
                outcomes.push(O.skipped({ detail: `needs --max-frame-bytes ${limit}`, toolchain: false }))
                continue
              }
              let receiver = byLimit.get(limit)
              if (receiver === undefined) {
                const started = yield* startReceiver(
                  r,
                  yield* listenEndpoint(r, t, dir, `r${limits.indexOf(limit)}.sock`),
                  flags({
                    respond: "json",
                    "max-frame-bytes": limit === Frame.DEFAULT_MAX_FRAME_BYTES ? undefined : limit
                  })
                ).pipe(Effect.result)
                if (Result.isFailure(started)) {
                  outcomes.push(fromFailure(started.failure))
                  continue
                }
                receiver = started.success
                byLimit.set(limit, receiver)
              }
              const got = yield* exchange(receiver.endpoint, hex(v.input), v.responses, v.closes).pipe(Effect.result)
              outcomes.push(Result.isSuccess(got) ? O.ok({ detail: got.success }) : fromFailure(got.failure))
            }
            // Every receiver must still be alive and report cleanly.
            for (const receiver of byLimit.values()) yield* stopReceiver(receiver)
            return outcomes
          })
        })
      }
    return units
  }
}

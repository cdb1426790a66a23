/**
 * Writes `vectors/*.json`, the language-neutral test vectors of SPEC.md §10.
 *
 * Each file's vectors are in `scripts/vectors/<kind>.ts`; this entry only checks and writes them.
 * Every expectation there is written out by hand from the SPEC (the payloads a stream was built
 * from, the offset a malformation sits at), never computed by the decoders under test. The one
 * exception is `workload.json`, which pins the reference generator's output so that other
 * implementations can check theirs against it.
 *
 * Run: `npm run vectors -w @txlane/protocol`
 */
import { writeFileSync } from "node:fs"
import type { VectorFile } from "./vectors/bytes.js"
import { envelope } from "./vectors/envelope.js"
import { frames } from "./vectors/frames.js"
import { receiver } from "./vectors/receiver.js"
import { response } from "./vectors/response.js"
import { workload } from "./vectors/workload.js"

const write = ({ file, kind, description, vectors }: VectorFile): void => {
  const names = new Set<string>()
  for (const v of vectors as Array<{ name: string }>) {
    if (names.has(v.name)) throw new Error(`duplicate vector name ${v.name}`)
    names.add(v.name)
  }
  const body = { format: "txlane-vectors/1", kind, description, vectors }
  writeFileSync(new URL(`../vectors/${file}`, import.meta.url), `${JSON.stringify(body, null, 2)}\n`)
  console.log(`${file}: ${vectors.length} vectors`)
}

for (const vectorFile of [frames, envelope, response, receiver, workload]) write(vectorFile)

/**
 * `tsx bench/splice-deployed.ts RESULTS.json [BENCHMARKS.md] [NOTES.md]`
 *
 * Puts the deployed section of a `--only deployed` run into an existing BENCHMARKS.md without
 * regenerating the rest: the section is rendered from RESULTS.json (deployed.ts) and replaces
 * the file's section of the same heading, or goes before "## Acknowledged latency" (where a
 * full run puts it). NOTES.md, when given, is appended to the section as is (hand-written
 * interpretation of that run).
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { DEPLOYED_HEADING, renderDeployed } from "./lib/deployed.js"
import { packageRoot } from "./lib/plan.js"
import type { Results } from "./lib/report.js"

const [resultsFile, mdArg, notesFile] = process.argv.slice(2)
if (resultsFile === undefined) {
  process.stderr.write("usage: tsx bench/splice-deployed.ts RESULTS.json [BENCHMARKS.md] [NOTES.md]\n")
  process.exit(2)
}
const mdFile = mdArg ?? path.resolve(packageRoot, "..", "..", "BENCHMARKS.md")
const results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as Results
const notes = notesFile === undefined ? [] : [fs.readFileSync(notesFile, "utf8").trim(), ""]
const section = [...renderDeployed(results), ...notes]

const lines = fs.readFileSync(mdFile, "utf8").split("\n")
const start = lines.indexOf(DEPLOYED_HEADING)
const next = (from: number) => {
  const i = lines.findIndex((l, j) => j > from && l.startsWith("## "))
  return i === -1 ? lines.length : i
}
const at = start !== -1 ? start : lines.indexOf("## Acknowledged latency")
if (at === -1) throw new Error(`${mdFile}: neither "${DEPLOYED_HEADING}" nor "## Acknowledged latency" found`)
lines.splice(at, start !== -1 ? next(start) - start : 0, ...section)
fs.writeFileSync(mdFile, lines.join("\n"))
process.stderr.write(`${mdFile}: deployed section from ${resultsFile}\n`)

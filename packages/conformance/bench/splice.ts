/**
 * `tsx bench/splice.ts SECTION RESULTS.json [BENCHMARKS.md] [NOTES.md]`
 *
 * Puts one section of a partial run (`--only large-frames`, `--only deployed`, `--only userpath`,
 * `--only latency`) into an existing BENCHMARKS.md without regenerating the rest. SECTION is
 * `large-frames`, `deployed`, `userpath` or `latency`; the section is rendered from RESULTS.json and replaces the file's
 * section of the same heading, or goes where a full run puts it. NOTES.md, when given, is
 * appended to the section as is (hand-written interpretation of that run).
 *
 * @module
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { DEPLOYED_HEADING, renderDeployed } from "./lib/deployed.js"
import { LARGE_FRAMES_HEADING, renderLargeFrames } from "./lib/large-frames.js"
import { LATENCY_HEADING, renderLatency } from "./lib/latency.js"
import { packageRoot } from "./lib/plan.js"
import type { Results } from "./lib/results.js"
import { renderUserPath, USER_PATH_HEADING } from "./lib/userpath.js"

/** Each section: its heading, its renderer, and the heading it goes before when the file lacks it. */
const sections = {
  "large-frames": { heading: LARGE_FRAMES_HEADING, render: renderLargeFrames, before: USER_PATH_HEADING },
  userpath: { heading: USER_PATH_HEADING, render: renderUserPath, before: DEPLOYED_HEADING },
  deployed: { heading: DEPLOYED_HEADING, render: renderDeployed, before: LATENCY_HEADING },
  latency: { heading: LATENCY_HEADING, render: renderLatency, before: "## Sweeps" }
} as const

const [name, resultsFile, mdArg, notesFile] = process.argv.slice(2)
const section = sections[name as keyof typeof sections]
if (section === undefined || resultsFile === undefined) {
  process.stderr.write(
    `usage: tsx bench/splice.ts ${Object.keys(sections).join("|")} RESULTS.json [BENCHMARKS.md] [NOTES.md]\n`
  )
  process.exit(2)
}
const mdFile = mdArg ?? path.resolve(packageRoot, "..", "..", "BENCHMARKS.md")
const results = JSON.parse(fs.readFileSync(resultsFile, "utf8")) as Results
const notes = notesFile === undefined ? [] : [fs.readFileSync(notesFile, "utf8").trim(), ""]
const text = [...section.render(results), ...notes]

const lines = fs.readFileSync(mdFile, "utf8").split("\n")
const start = lines.indexOf(section.heading)
const next = (from: number) => {
  const i = lines.findIndex((l, j) => j > from && l.startsWith("## "))
  return i === -1 ? lines.length : i
}
const at = start !== -1 ? start : lines.indexOf(section.before)
if (at === -1) throw new Error(`${mdFile}: neither "${section.heading}" nor "${section.before}" found`)
lines.splice(at, start !== -1 ? next(start) - start : 0, ...text)
fs.writeFileSync(mdFile, lines.join("\n"))
process.stderr.write(`${mdFile}: ${name} section from ${resultsFile}\n`)

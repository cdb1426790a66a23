/**
 * Where a section's figures come from: the command, date, machine, versions and load of the
 * run. Sections that can be spliced into an existing BENCHMARKS.md (splice.ts) carry it, since
 * the rest of the file may come from another run.
 *
 * @module
 */
import type { Results } from "./results.js"

/** The command that produced `r`. */
export const commandOf = (r: Results): string => {
  const args = [...(r.quick ? ["--quick"] : []), ...(r.only === null ? [] : ["--only", r.only.join(",")])]
  return `npm run bench${args.length > 0 ? ` -- ${args.join(" ")}` : ""}`
}

/** One sentence: command, date, machine, Node/effect/Rust/Go versions and load average. */
export const measuredBy = (r: Results): string => {
  const m = r.machine
  return `Measured by \`${commandOf(r)}\` on ${r.startedAt}: ${m.cpuModel}, ${m.cores} vCPUs, Node ${m.node}, effect ${m.effect ?? "unknown"}, ${m.rust ?? "no Rust"}, ${m.go ?? "no Go"}; load average ${m.loadAverageStart.join(" / ")} at the start, ${m.loadAverageEnd.join(" / ")} at the end.`
}

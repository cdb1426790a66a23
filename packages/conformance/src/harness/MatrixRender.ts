/**
 * Renders a {@link MatrixReport}: the markdown matrix for people, progress lines for stderr,
 * JUnit XML and the CI step summary for CI systems.
 *
 * @module
 */
import type { CaseResult, MatrixReport } from "./Matrix.js"
import type { Scenario } from "./Scenarios.js"

const symbol = (c: CaseResult): string => {
  switch (c.verdict) {
    case "pass":
      return "✅"
    case "xfail":
      return "⚠️ xfail"
    case "xpass":
      return "❗ xpass"
    case "skip":
      return c.outcome._tag === "skipped" ? `⏭️ skipped (${c.outcome.detail})` : "⏭️"
    case "fail":
      return `❌ ${c.outcome._tag}`
  }
}

/** The markdown matrix: one table per scenario, then every non-passing case with its detail. */
export const toMarkdown = (report: MatrixReport, scenarios: ReadonlyArray<Scenario>): string => {
  const lines: Array<string> = []
  const s = report.summary
  lines.push(
    `# txlane conformance${report.quick ? " (quick)" : ""}`,
    "",
    `senders: ${report.senders.join(", ")} · receivers: ${report.receivers.join(", ")} · ${report.cases.length} cases in ${(report.elapsedMs / 1000).toFixed(1)} s${report.ci ? " · CI" : ""}`,
    "",
    `**${report.passed ? "PASS" : "FAIL"}** — ${s.pass} pass, ${s.fail} fail, ${s.xfail} expected failures, ${s.xpass} unexpected passes, ${s.skip} skipped`,
    ""
  )
  for (const scenario of scenarios) {
    const cases = report.cases.filter((c) => c.scenario === scenario.name)
    if (cases.length === 0) continue
    const rows = [...new Set(cases.map((c) => c.row))]
    const cols = [...new Set(cases.map((c) => c.col))]
    lines.push(`## ${scenario.name}`, "", scenario.description, "")
    lines.push(`| | ${cols.join(" | ")} |`, `|---|${cols.map(() => "---").join("|")}|`)
    for (const row of rows) {
      const cells = cols.map((col) => {
        const c = cases.find((x) => x.row === row && x.col === col)
        return c ? symbol(c) : ""
      })
      lines.push(`| ${row} | ${cells.join(" | ")} |`)
    }
    lines.push("")
  }
  const notable = report.cases.filter((c) => c.verdict !== "pass")
  if (notable.length > 0) {
    lines.push("## Details", "")
    for (const c of notable) lines.push(`- \`${c.id}\` — **${c.verdict}** ${c.outcome._tag}: ${c.outcome.detail}`)
    lines.push("")
  }
  if (report.staleExpectedFailures.length > 0) {
    lines.push("## expected-failures.txt entries that matched no case", "")
    for (const id of report.staleExpectedFailures) lines.push(`- \`${id}\``)
    lines.push("")
  }
  return lines.join("\n")
}

/** One progress line per case, for stderr. */
export const progressLine = (c: CaseResult): string =>
  `${c.verdict.padEnd(5)} ${c.id} (${(c.elapsedMs / 1000).toFixed(1)} s)${c.verdict === "pass" ? "" : ` — ${c.outcome._tag}: ${c.outcome.detail}`}`

// ---------------------------------------------------------------------------------------------
// JUnit XML and the CI step summary

/** Text as XML character data or attribute value: escaped, with characters XML 1.0 forbids removed. */
export const xmlEscape = (text: string): string =>
  // biome-ignore lint/suspicious/noControlCharactersInRegex: removing the control characters XML 1.0 forbids is the point
  text.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, "").replace(/[&<>"'\n\r\t]/g, (c) => {
    switch (c) {
      case "&":
        return "&amp;"
      case "<":
        return "&lt;"
      case ">":
        return "&gt;"
      case '"':
        return "&quot;"
      case "'":
        return "&apos;"
      default:
        return `&#${c.charCodeAt(0)};`
    }
  })

const seconds = (ms: number): string => (ms / 1000).toFixed(3)

/** The `<failure>` / `<skipped>` child of a case's `<testcase>`, or "" for a pass. */
const junitChild = (c: CaseResult): string => {
  const text = `${c.outcome._tag}: ${c.outcome.detail}`
  switch (c.verdict) {
    case "pass":
      return ""
    case "skip":
      return `<skipped message="${xmlEscape(c.outcome.detail)}"/>`
    case "xfail":
      return `<skipped message="${xmlEscape(`expected failure (listed in expected-failures.txt): ${text}`)}"/>`
    case "xpass":
      return `<failure type="xpass" message="${xmlEscape("passed but listed in expected-failures.txt: remove the line")}"/>`
    case "fail": {
      const type = c.outcome._tag === "skipped" ? "unavailable" : c.outcome._tag
      return `<failure type="${type}" message="${xmlEscape(text)}">${xmlEscape(text)}</failure>`
    }
  }
}

/**
 * The report as JUnit XML: one `<testsuite>` per scenario, one `<testcase>` per cell (`name`:
 * the case id, `classname`: `txlane-conformance.<scenario>`); a failing cell (or an unexpected
 * pass) has a `<failure>` with the outcome and its detail, a skipped cell (or a tolerated
 * expected failure) a `<skipped message="…">`. `time` is the wall time of the cell's unit.
 */
export const toJUnit = (report: MatrixReport, suiteName = "txlane-conformance"): string => {
  const counts = (cases: ReadonlyArray<CaseResult>) => ({
    tests: cases.length,
    failures: cases.filter((c) => c.verdict === "fail" || c.verdict === "xpass").length,
    skipped: cases.filter((c) => c.verdict === "skip" || c.verdict === "xfail").length
  })
  const scenarios = [...new Set(report.cases.map((c) => c.scenario))]
  const all = counts(report.cases)
  const lines = [
    `<?xml version="1.0" encoding="UTF-8"?>`,
    `<testsuites name="${xmlEscape(suiteName)}" tests="${all.tests}" failures="${all.failures}" errors="0" skipped="${all.skipped}" time="${seconds(report.elapsedMs)}" timestamp="${report.startedAt}">`
  ]
  for (const scenario of scenarios) {
    const cases = report.cases.filter((c) => c.scenario === scenario)
    const n = counts(cases)
    lines.push(
      `  <testsuite name="${xmlEscape(scenario)}" tests="${n.tests}" failures="${n.failures}" errors="0" skipped="${n.skipped}" timestamp="${report.startedAt}">`
    )
    for (const c of cases) {
      const child = junitChild(c)
      const open = `    <testcase classname="${xmlEscape(`${suiteName}.${scenario}`)}" name="${xmlEscape(c.id)}" time="${seconds(c.elapsedMs)}"`
      lines.push(child === "" ? `${open}/>` : `${open}>${child}</testcase>`)
    }
    lines.push("  </testsuite>")
  }
  lines.push("</testsuites>", "")
  return lines.join("\n")
}

/** How many non-passing cells the step summary lists one by one. */
const SUMMARY_MAX_DETAILS = 50

const cell = (text: string): string => text.replaceAll("|", "\\|").replace(/\s*\n\s*/g, " ")

/**
 * A short markdown summary for a CI page (`$GITHUB_STEP_SUMMARY`): the verdict, a table of
 * verdict counts per scenario, and the first 50 (`SUMMARY_MAX_DETAILS`) cells that did not pass.
 */
export const toSummaryMarkdown = (report: MatrixReport, title = "txlane conformance"): string => {
  const s = report.summary
  const lines = [
    `### ${title}${report.quick ? " (quick)" : ""}: ${report.passed ? "✅ PASS" : "❌ FAIL"}`,
    "",
    `${report.cases.length} cells in ${(report.elapsedMs / 1000).toFixed(1)} s · senders: ${report.senders.join(", ")} · receivers: ${report.receivers.join(", ")}${report.required.length > 0 ? ` · required: ${report.required.join(", ")}` : ""}`,
    "",
    "| scenario | ✅ pass | ❌ fail | ⚠️ xfail | ❗ xpass | ⏭️ skipped |",
    "|---|---:|---:|---:|---:|---:|"
  ]
  for (const scenario of [...new Set(report.cases.map((c) => c.scenario))]) {
    const n = { pass: 0, fail: 0, xfail: 0, xpass: 0, skip: 0 }
    for (const c of report.cases) if (c.scenario === scenario) n[c.verdict]++
    lines.push(`| ${cell(scenario)} | ${n.pass} | ${n.fail} | ${n.xfail} | ${n.xpass} | ${n.skip} |`)
  }
  lines.push(`| **total** | **${s.pass}** | **${s.fail}** | **${s.xfail}** | **${s.xpass}** | **${s.skip}** |`, "")
  const notable = report.cases.filter((c) => c.verdict !== "pass")
  if (notable.length > 0) {
    lines.push("| cell | verdict | outcome | detail |", "|---|---|---|---|")
    for (const c of notable.slice(0, SUMMARY_MAX_DETAILS))
      lines.push(`| \`${cell(c.id)}\` | ${c.verdict} | ${c.outcome._tag} | ${cell(c.outcome.detail)} |`)
    if (notable.length > SUMMARY_MAX_DETAILS)
      lines.push("", `… and ${notable.length - SUMMARY_MAX_DETAILS} more (see the JUnit or JSON report).`)
    lines.push("")
  }
  return `${lines.join("\n")}\n`
}

/**
 * `npm run bench -- --quick` as a test: the runner finishes, and writes a well-formed report
 * (every section of BENCHMARKS.md, the JSON results, the SVG chart). It never checks a number:
 * figures from a shared CI machine mean nothing.
 *
 * The run writes into a temporary directory (`--out`), so the committed BENCHMARKS.md and
 * `bench/results/` are left alone. Peers are built by the `test` script before vitest runs
 * (`--no-build`); a missing Rust/Go toolchain makes its cells `skipped`, which is well-formed.
 */
import { spawn } from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, expect, it } from "vitest"
import { deployedRows } from "../bench/lib/deployed.js"
import { tsArgv } from "../bench/lib/plan.js"
import { REPORT_HEADINGS } from "../bench/lib/report.js"
import { validateResults } from "../bench/lib/results.js"

/** The quick run takes about a minute on a quiet 2-vCPU machine; several on a busy one. */
const QUICK_BENCH_TIMEOUT_MS = 12 * 60_000

const out = fs.mkdtempSync(path.join(os.tmpdir(), "txlane-bench-test-"))
afterAll(() => fs.rmSync(out, { recursive: true, force: true }))

const run = (argv: ReadonlyArray<string>): Promise<{ code: number | null; stderr: string }> =>
  new Promise((resolve, reject) => {
    const [file, ...args] = argv
    // Own process group: if the test times out, the whole tree goes with it.
    const child = spawn(file!, args, { stdio: ["ignore", "ignore", "pipe"], detached: true })
    let stderr = ""
    child.stderr.setEncoding("utf8")
    child.stderr.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-20_000)
    })
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, "SIGKILL")
      } catch {
        // gone
      }
    }, QUICK_BENCH_TIMEOUT_MS - 10_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code, stderr })
    })
  })

it(
  "bench --quick writes a well-formed report",
  async () => {
    const json = path.join(out, "results.json")
    const { code, stderr } = await run([...tsArgv("run.ts"), "--quick", "--no-build", "--out", out, "--json", json])
    expect(code, stderr).toBe(0)

    const results: unknown = JSON.parse(fs.readFileSync(json, "utf8"))
    expect(validateResults(results)).toEqual([])
    const r = results as { quick: boolean; targets: Array<{ description: string }>; deployed: Array<unknown> }
    expect(r.quick).toBe(true)
    // The deployed section: one cell per row (ok, or skipped without a Rust/Go toolchain).
    expect(r.deployed).toHaveLength(deployedRows.length)

    const md = fs.readFileSync(path.join(out, "BENCHMARKS.md"), "utf8")
    for (const heading of REPORT_HEADINGS) expect(md.split("\n")).toContain(heading)
    for (const target of r.targets) expect(md).toContain(target.description)
    for (const row of deployedRows) expect(md).toContain(`| ${row.id} |`)
    const chart = /!\[[^\]]*\]\(([^)]+\.svg)\)/.exec(md)
    expect(chart).not.toBeNull()
    const svgFile = path.resolve(out, chart![1]!)
    expect(fs.existsSync(svgFile)).toBe(true)

    const svg = fs.readFileSync(svgFile, "utf8")
    expect(svg.trimStart().startsWith("<svg")).toBe(true)
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"')
    expect(svg.trimEnd().endsWith("</svg>")).toBe(true)
    expect(svg).not.toMatch(/NaN|undefined/)
    // Every element closes: self-closing or paired.
    const opened = (svg.match(/<(text|svg)\b/g) ?? []).length
    const closed = (svg.match(/<\/(text|svg)>/g) ?? []).length
    expect(closed).toBe(opened)
  },
  QUICK_BENCH_TIMEOUT_MS
)

/**
 * Shared by the testee-kit tests: the README example extractor and a matrix run of an outside
 * testee (`txlane-conformance --quick` from source, via tsx) whose JUnit file is parsed strictly.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { Children } from "@txlane/testkit"
import { expect } from "vitest"
import { findAll, parseXml } from "./xml.js"

const BIN = Path.resolve(import.meta.dirname, "../../src/bin/txlane-conformance.ts")

/** The first ```lang block after the `## Testee kit` heading of a README. */
export const readmeExample = (readme: string, lang: string): string => {
  const text = Fs.readFileSync(readme, "utf8")
  const at = text.indexOf("## Testee kit")
  if (at < 0) throw new Error(`${readme}: no "## Testee kit" section`)
  const fence = "```"
  const match = new RegExp(`${fence}${lang}\\n([\\s\\S]*?)${fence}`).exec(text.slice(at))
  if (match === null) throw new Error(`${readme}: no \`\`\`${lang} block in "## Testee kit"`)
  return match[1]!
}

/** Runs a process to completion, collecting its output (the kit's runner). */
export const exec = Children.run

/**
 * Runs the quick matrix with `command` as both the outside sender and the outside receiver and
 * asserts exit 0 and a JUnit file in which every testcase passed (none failed or skipped), with
 * uds and tcp cells in both delivery modes among them.
 */
export const expectAllGreen = async (dir: string, name: string, command: string, timeoutMs = 110_000) => {
  const junit = Path.join(dir, "junit.xml")
  const result = await exec(
    [
      process.execPath,
      "--import",
      "tsx",
      "--conditions=txlane-source",
      BIN,
      "--quick",
      "--name",
      name,
      "--sender-cmd",
      `${command} send --endpoint {endpoint}`,
      "--receiver-cmd",
      `${command} receive --listen {endpoint}`,
      "--junit",
      junit
    ],
    { timeoutMs, env: { ...process.env, NO_COLOR: "1" } }
  )
  if (result.code !== 0) throw new Error(`matrix exit ${result.code}\n${result.stdout}\n${result.stderr.slice(-4000)}`)
  const xml = parseXml(Fs.readFileSync(junit, "utf8"))
  const testcases = findAll(xml, "testcase")
  const bad = testcases.filter((t) =>
    t.children.some((c) => c.name === "failure" || c.name === "error" || c.name === "skipped")
  )
  expect(bad.map((t) => t.attributes.name)).toEqual([])
  const ids = testcases.map((t) => t.attributes.name ?? "")
  expect(ids.length).toBeGreaterThan(10)
  for (const part of ["/uds/", "/tcp/", "fire-and-forget", "/acknowledged"])
    expect(ids.some((id) => id.includes(part) && id.includes(name))).toBe(true)
  return ids
}

/**
 * One licence everywhere: the repository root's LICENSE is the Apache License 2.0, every
 * published npm package has a byte-identical copy that its `files` ships and declares
 * `Apache-2.0` with real repository/bugs/homepage fields, and the Go module and the Rust crate
 * (published from their own directories) carry the same file. The packed-install test checks
 * that the tarballs really contain it.
 */
import { createHash } from "node:crypto"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { describe, expect, it } from "vitest"

const ROOT = Path.resolve(import.meta.dirname, "../../..")
const manifestOf = (dir: string) =>
  JSON.parse(Fs.readFileSync(Path.join(ROOT, "packages", dir, "package.json"), "utf8"))
// The published packages: every workspace but the private ones (the test kit).
const PACKAGES = Fs.readdirSync(Path.join(ROOT, "packages")).filter(
  (d) => Fs.existsSync(Path.join(ROOT, "packages", d, "package.json")) && manifestOf(d).private !== true
)
const HOST = "https://github.com/txlane/txlane"
const license = Fs.readFileSync(Path.join(ROOT, "LICENSE"), "utf8")

describe("LICENSE", () => {
  it("the root LICENSE is the Apache License 2.0, unmodified", () => {
    expect(license).toContain("Apache License\n                           Version 2.0, January 2004")
    expect(license).toContain("END OF TERMS AND CONDITIONS")
    // The text as published at https://www.apache.org/licenses/LICENSE-2.0.txt.
    expect(createHash("md5").update(license).digest("hex")).toBe("3b83ef96387f14655fc854ddc3c6bd57")
  })

  it("covers every published npm package, and only the test kit is private", () => {
    expect(PACKAGES.sort()).toEqual(["cli", "conformance", "protocol", "receiver", "sender"])
    expect(manifestOf("testkit").private).toBe(true)
  })

  it.each(PACKAGES)("packages/%s: a LICENSE copy that `files` ships, Apache-2.0, real links", (name) => {
    const dir = Path.join(ROOT, "packages", name)
    expect(Fs.readFileSync(Path.join(dir, "LICENSE"), "utf8")).toBe(license)
    const manifest = manifestOf(name)
    expect(manifest.license).toBe("Apache-2.0")
    expect(manifest.files).toContain("LICENSE")
    expect(manifest.repository).toEqual({ type: "git", url: `git+${HOST}.git`, directory: `packages/${name}` })
    expect(manifest.bugs).toEqual({ url: `${HOST}/issues` })
    expect(manifest.homepage).toBe(`${HOST}/tree/main/packages/${name}#readme`)
  })

  it.each(["go", "rust"])("the %s reference peer carries the same LICENSE", (peer) => {
    const dir = Path.join(ROOT, "packages", "conformance", "peers", peer)
    expect(Fs.readFileSync(Path.join(dir, "LICENSE"), "utf8")).toBe(license)
  })

  it("the Rust crate declares Apache-2.0 too (the Go module has no licence field: its LICENSE file is it)", () => {
    const cargo = Fs.readFileSync(Path.join(ROOT, "packages", "conformance", "peers", "rust", "Cargo.toml"), "utf8")
    expect(cargo).toMatch(/^license = "Apache-2.0"$/m)
  })
})

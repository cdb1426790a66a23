// Shared by the checked-in bins: they are not built, so that `npm install` / `npm ci` can link
// them before the first build (npm skips a bin whose target is missing). Each runs its
// compiled command, or says how to build it instead of a module-resolution stack trace.
import { existsSync } from "node:fs"

/** Runs `dist/bin/NAME.js` of this package. */
export const launch = async (name) => {
  const entry = new URL(`../dist/bin/${name}.js`, import.meta.url)
  if (!existsSync(entry)) {
    process.stderr.write(
      `${name}: @txlane/cli is not built (${entry.pathname} is missing): run \`npm run build\` first, or run the source with \`npm run ${name.replace("txlane-", "")} -w @txlane/cli -- …\`\n`
    )
    process.exit(1)
  }
  await import(entry.href)
}

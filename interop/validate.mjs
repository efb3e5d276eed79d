// The W3C WoT TD playground validator checks Thing Descriptions the hub
// serves.
//
//   [WOTMQ_AUTHORIZATION="Bearer TOKEN"] node validate.mjs URL...
//
// For each TD: the JSON and JSON Schema validation of
// @thing-description-playground/core (without JSON-LD processing, which
// would fetch contexts from the network), its additional checks, and the
// assertion tests of @thing-description-playground/assertions. A TD passes
// when JSON, schema and additional checks did not fail and no assertion
// failed. One line per TD; exit status 0 only when all pass.
import { createRequire } from "node:module";
import fs from "node:fs/promises";
import path from "node:path";

const require = createRequire(import.meta.url);
const { tdValidator } = require("@thing-description-playground/core");
const { tdAssertions } = require("@thing-description-playground/assertions");

// The assertions package loads its schemas through this function, and
// looks for the core package's TD schema in its own node_modules; npm
// installs core beside it, so that path is mapped onto the real one.
const coreDir = path.dirname(require.resolve("@thing-description-playground/core/package.json"));
async function fileLoad(p) {
  try {
    return await fs.readFile(p, "utf8");
  } catch (e) {
    const nested = p.split(path.join("node_modules", "@thing-description-playground", "core") + path.sep);
    if (nested.length === 2) return fs.readFile(path.join(coreDir, nested[1]), "utf8");
    throw e;
  }
}

const urls = process.argv.slice(2);
if (urls.length === 0) {
  console.error("usage: node validate.mjs URL...");
  process.exit(2);
}
let failed = false;
for (const url of urls) {
  const auth = process.env.WOTMQ_AUTHORIZATION; // e.g. "Bearer <token>" for a hub with accounts
  const res = await fetch(url, { headers: auth ? { Authorization: auth } : {} });
  if (!res.ok) {
    console.log(`FAIL ${url}: GET ${res.status}`);
    failed = true;
    continue;
  }
  const text = await res.text();
  const logs = [];
  const { report, details } = await tdValidator(text, (m) => logs.push(String(m)), {
    checkDefaults: true,
    checkJsonLd: false,
    checkTmConformance: false,
  });
  const results = await tdAssertions([text], fileLoad, () => {});
  const assertions = Array.isArray(results) ? results : results.merged ?? [];
  const fails = assertions.filter((a) => a.Status === "fail").map((a) => `${a.ID}${a.Comment ? ` (${a.Comment})` : ""}`);
  const counts = {};
  for (const a of assertions) counts[a.Status] = (counts[a.Status] ?? 0) + 1;
  const bad = report.json !== "passed" || report.schema !== "passed" || report.additional === "failed" || fails.length > 0;
  failed ||= bad;
  const badDetails = Object.entries(details).filter(([, v]) => v === "failed" || v === "warning");
  console.log(
    `${bad ? "FAIL" : "ok"} ${url}: json ${report.json}, schema ${report.schema}, defaults ${report.defaults}, ` +
      `additional ${report.additional}${badDetails.length ? ` ${JSON.stringify(Object.fromEntries(badDetails))}` : ""}; ` +
      `assertions ${JSON.stringify(counts)}${fails.length ? `; failed: ${fails.join(", ")}` : ""}`,
  );
  if (bad || process.env.WOTMQ_VERBOSE) for (const l of logs) console.log(`  ${l}`);
}
process.exit(failed ? 1 : 0);

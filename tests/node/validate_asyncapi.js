// Validate AsyncAPI documents with the official parser (@asyncapi/parser).
//
//   node validate_asyncapi.js FILE [OTHER_FILE]
//
// Prints one JSON object: {"diagnostics": [{"severity", "code", "message",
// "path"}] (severity 0 is an error, 1 a warning), "valid": whether a document
// came out, "channels": the address of each channel, and, with OTHER_FILE
// (e.g. the YAML of the same document), "same": whether both parse to the
// same document}.
const fs = require("fs");
const util = require("util");
const { Parser } = require("@asyncapi/parser");

async function main() {
  const [file, other] = process.argv.slice(2);
  const parser = new Parser();
  const parsed = await parser.parse(fs.readFileSync(file, "utf8"));
  const result = {
    diagnostics: parsed.diagnostics.map((d) => ({
      severity: d.severity,
      code: d.code,
      message: d.message,
      path: d.path.join("."),
    })),
    valid: Boolean(parsed.document),
    channels: parsed.document ? parsed.document.channels().all().map((c) => c.address()) : [],
  };
  if (other) {
    const second = await parser.parse(fs.readFileSync(other, "utf8"));
    result.same = Boolean(parsed.document && second.document) && util.isDeepStrictEqual(parsed.document.json(), second.document.json());
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error.stack || error) + "\n");
  process.exit(2);
});

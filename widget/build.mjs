// Builds dist/widget.js: one minified script with its styles inside (no other files to load).
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { readFileSync } from "node:fs";

await build({
  entryPoints: ["src/widget.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  loader: { ".css": "text" },
  legalComments: "none",
  outfile: "dist/widget.js",
});
const bytes = readFileSync("dist/widget.js");
console.log(`dist/widget.js: ${bytes.length} bytes, ${gzipSync(bytes, { level: 9 }).length} bytes gzip`);

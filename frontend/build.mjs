// Builds the web UI's assets into bridge/web/static/assets (not committed):
// app.css (GOV.UK Frontend + MoJ Frontend, compiled with Arial), the GOV.UK Frontend
// JavaScript module, our app.js, and GOV.UK Frontend's images and manifest.
// Run by `make assets` (which `make run` and `make test` call when the output is missing).
import { cpSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as sass from "sass";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bridge", "web", "static", "assets");
const govuk = join(root, "node_modules", "govuk-frontend", "dist", "govuk");

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const started = Date.now();
const result = sass.compile(join(root, "frontend", "app.scss"), {
  loadPaths: [root],
  style: "compressed",
  quietDeps: true,
  // MoJ Frontend still calls a GOV.UK mixin that 6.x deprecates; the warning is theirs.
  logger: sass.Logger.silent,
});
if (/@font-face|GDS Transport/.test(result.css)) {
  throw new Error("app.css would load the GDS Transport font, which is only for GOV.UK services");
}
writeFileSync(join(out, "app.css"), result.css);

// Images (crest, favicon, icons) and the web manifest; the fonts are not used (Arial).
cpSync(join(govuk, "assets", "images"), join(out, "images"), { recursive: true });
cpSync(join(govuk, "assets", "manifest.json"), join(out, "manifest.json"));
cpSync(
  join(root, "node_modules", "@ministryofjustice", "frontend", "moj", "assets", "images"),
  join(out, "images"),
  { recursive: true },
);
cpSync(join(govuk, "govuk-frontend.min.js"), join(out, "govuk-frontend.min.js"));
cpSync(join(root, "frontend", "app.js"), join(out, "app.js"));
console.log(`assets built in ${Date.now() - started} ms -> ${out}`);

// The only script the pages load (CSP: scripts from this service only).
import { initAll } from "/assets/govuk-frontend.min.js";

initAll();

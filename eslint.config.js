// Lint of the web app's own scripts (make test runs it through tests/test_explorer_js.py).
import js from "@eslint/js";
import globals from "globals";

export default [
  { ignores: ["node_modules/", "webapp/static/vendor/", ".venv/", "build/", "var/"] },
  js.configs.recommended,
  {
    files: ["webapp/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, L: "readonly", uPlot: "readonly" },
    },
  },
  {
    files: ["webapp/static/tables.js"],
    languageOptions: { sourceType: "script" },
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.node },
  },
];

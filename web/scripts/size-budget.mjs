// Prints the widget's size and fails the build when it is over budget: the
// widget loads on every page of a customer's site, so it must stay small.
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'

const BUDGET = 20 * 1024 // bytes, gzipped
const file = new URL('../dist/widget/widget.js', import.meta.url)
const raw = readFileSync(file)
const gz = gzipSync(raw, { level: 9 }).length
const kb = (n) => (n / 1024).toFixed(1) + ' KB'
console.log(`widget.js: ${kb(raw.length)} raw, ${kb(gz)} gzipped (budget ${kb(BUDGET)})`)
if (gz > BUDGET) {
  console.error(`error: widget.js is ${kb(gz - BUDGET)} over its gzipped size budget`)
  process.exit(1)
}

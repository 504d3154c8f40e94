// "Try the bot" with the optional plugins on, in a real browser: kefu runs
// the in-process embedding model (all-MiniLM-L6-v2 from the PyPI package
// scripts/py-venv.sh installs) and asks scripts/openai_format_server.py, a
// stand-in that speaks the chat completions format and answers from the
// entries it is given, citing their ids. The panel shows each plugin's score,
// each plugin's run, and the LLM's answer with the questions it cited.
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browser, consoleLogin, Kefu, until } from './harness'

const ROOT = resolve(__dirname, '../..')
const MODEL = resolve(ROOT, 'target/models/all-MiniLM-L6-v2')
const PYTHON = resolve(process.env.KEFU_PY_VENV ?? resolve(ROOT, 'target/py-venv'), 'bin/python')

let llm: ChildProcess
let kefu: Kefu
let page: Page
let close: () => Promise<void>
const tid = (id: string) => page.locator(`[data-test="${id}"]`)

/** Starts the format server; resolves to its base URL (its first stdout line). */
function formatServer(): Promise<string> {
  llm = spawn(PYTHON, [resolve(ROOT, 'scripts/openai_format_server.py')], { stdio: ['pipe', 'pipe', 'inherit'] })
  return new Promise((ok, fail) => {
    llm.on('error', fail)
    createInterface({ input: llm.stdout! }).once('line', ok)
  })
}

beforeAll(async () => {
  if (!existsSync(resolve(MODEL, 'model.safetensors')) || !existsSync(PYTHON)) {
    throw new Error(`the bot's models are missing (${MODEL}, ${PYTHON}): run scripts/py-venv.sh`)
  }
  const base = await formatServer()
  kefu = new Kefu({
    KEFU_BOT__MODEL_DIR: MODEL,
    KEFU_BOT__SEMANTIC_TIMEOUT_MS: '60000',
    KEFU_BOT__LLM__BASE_URL: base,
    KEFU_BOT__LLM__MODEL: 'format-server',
  })
  await kefu.start()
  const b = await browser()
  close = b.close
  page = await b.context.newPage()
  await consoleLogin(page, kefu.base, kefu.adminEmail, kefu.adminPassword)
}, 60_000)

afterAll(async () => {
  await close?.()
  await kefu?.dispose()
  llm?.kill()
})

describe('try the bot with the semantic and LLM plugins', () => {
  it('shows each plugin, its run, and the answer the LLM cites', async () => {
    await page.goto(`${kefu.base}/console/#/admin/bot`)
    await tid('kb-empty').waitFor()
    await tid('kb-import').setInputFiles(resolve(ROOT, 'bot/samples/shop-faq.json'))
    await until(async () => (await tid('kb-row').count()) === 60, 'the 60 entries listed')
    const message = 'how long does a refund take to reach my card'
    await tid('kb-try-message').fill(message)
    await tid('kb-try-run').click()
    await page.locator(`[data-test="kb-try-verdict"][data-message="${message}"]`).waitFor({ timeout: 60_000 })
    const outcome = (plugin: string) =>
      page.locator(`[data-test="kb-try-run-row"][data-plugin="${plugin}"]`).getAttribute('data-outcome')
    expect(await outcome('lexical')).toBe('ok')
    expect(await outcome('semantic')).toBe('ok')
    expect(await outcome('llm')).toBe('ok')
    expect(await tid('kb-try-candidates').locator('th').allTextContents()).toEqual(
      expect.arrayContaining(['Words (BM25)', 'Meaning (embeddings)']),
    )
    expect(await tid('kb-try-candidate').first().getAttribute('data-external-id')).toBe('refund-time.en')
    await tid('kb-try-llm').waitFor()
    expect(await tid('kb-try-llm-cited').textContent()).toContain('How long does a refund take?')
    if (process.env.E2E_SCREENSHOT) await tid('kb-try').screenshot({ path: process.env.E2E_SCREENSHOT })
  }, 90_000)
})

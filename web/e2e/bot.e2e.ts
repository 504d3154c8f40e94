// The bot's knowledge-base page in a real browser against a fresh kefu:
// import the repository's sample FAQ, search it, edit an entry, export it,
// and "try the bot" in Chinese and English, with a request for a person.
import { resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, until } from './harness'

const kefu = new Kefu()
let admin: Agent
let page: Page
let close: () => Promise<void>
const tid = (id: string) => page.locator(`[data-test="${id}"]`)

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  const b = await browser()
  close = b.close
  page = await b.context.newPage()
  await consoleLogin(page, kefu.base, kefu.adminEmail, kefu.adminPassword)
})

afterAll(async () => {
  await close?.()
  await kefu.dispose()
})

async function tryBot(message: string) {
  await tid('kb-try-message').fill(message)
  await tid('kb-try-run').click()
  await page.locator(`[data-test="kb-try-verdict"][data-message="${message}"]`).waitFor()
}

describe('the knowledge base page', () => {
  it('imports the sample FAQ, and importing it again changes nothing', async () => {
    await page.goto(`${kefu.base}/console/#/admin/bot`)
    await tid('kb-empty').waitFor()
    const file = resolve(__dirname, '../../bot/samples/shop-faq.json')
    await tid('kb-import').setInputFiles(file)
    await tid('kb-notice').filter({ hasText: '60 added' }).waitFor()
    // The notice comes first, then the list reloads.
    await until(async () => (await tid('kb-row').count()) === 60, 'the 60 entries listed')
    await tid('kb-import').setInputFiles(file)
    await tid('kb-notice').filter({ hasText: '60 unchanged' }).waitFor()
  })

  it('searches and filters', async () => {
    await tid('kb-search').fill('退货')
    await tid('kb-search').press('Enter')
    await until(async () => (await tid('kb-row').count()) < 60, 'the search narrows the list')
    expect(await tid('kb-row').first().textContent()).toMatch(/退/)
    await tid('kb-search').fill('')
    await tid('kb-search').press('Enter')
    await tid('kb-enabled').selectOption('false')
    await until(async () => (await tid('kb-row').count()) === 2, 'the two disabled entries')
    await tid('kb-enabled').selectOption('')
    await until(async () => (await tid('kb-row').count()) === 60, 'all again')
  })

  it('tries the bot in Chinese and English, and hands off on request', async () => {
    await tryBot('衣服收到了不喜欢，七天内还能退吗')
    expect(await tid('kb-try-candidate').first().getAttribute('data-external-id')).toBe('returns-7day.zh')
    expect(await tid('kb-try-verdict').textContent()).toMatch(/would (answer|ask)/)
    await tryBot('how long does a refund take to reach my card')
    expect(await tid('kb-try-candidate').first().getAttribute('data-external-id')).toBe('refund-time.en')
    expect(await tid('kb-try-verdict').getAttribute('data-action')).toBe('answer')
    await tid('kb-try-answer').waitFor()
    // This server has no embedding model or LLM: those plugins say they did not run.
    const outcome = (plugin: string) =>
      page.locator(`[data-test="kb-try-run-row"][data-plugin="${plugin}"]`).getAttribute('data-outcome')
    expect(await outcome('lexical')).toBe('ok')
    expect(await outcome('semantic')).toBe('off')
    expect(await outcome('llm')).toBe('off')
    await tryBot('我要转人工')
    expect(await tid('kb-try-verdict').getAttribute('data-action')).toBe('hand_off')
    expect(await tid('kb-try-verdict').textContent()).toContain('asked for a person')
  })

  it('adds an entry the bot answers from at once, edits it, and exports', async () => {
    await tid('kb-add').click()
    await tid('kb-question').fill('有实体店吗')
    await tid('kb-alternatives').fill('线下门店在哪\n可以去店里看吗')
    await tid('kb-answer').fill('有，在杭州西湖区文三路 1 号，每天 10:00–21:00。')
    await tid('kb-entry-language').selectOption('zh')
    await tid('kb-external-id').fill('store.zh')
    await tid('kb-save').click()
    await tid('kb-row').filter({ hasText: '有实体店吗' }).waitFor()
    await tryBot('你们线下门店在哪里')
    expect(await tid('kb-try-candidate').first().textContent()).toContain('有实体店吗')
    const row = tid('kb-row').filter({ hasText: '有实体店吗' })
    await row.locator('[data-test="kb-edit"]').click()
    await tid('kb-entry-enabled').uncheck()
    await tid('kb-save').click()
    await until(async () => (await admin.call('GET', '/api/v1/kb/entries?q=store.zh')).items[0]?.enabled === false, 'disabled')
    const download = page.waitForEvent('download')
    await tid('kb-export-csv').click()
    const d = await download
    expect(d.suggestedFilename()).toBe('knowledge-base.csv')
  })
})

// Sensitive words in a real browser against a fresh kefu: an admin adds
// words on the settings page, a visitor writes in the widget on a shop page,
// and the agent's console shows the message masked; the flagged one waits
// in the review tab until the admin marks it reviewed.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, Site, until } from './harness'

const kefu = new Kefu()
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let consoleCtx: BrowserContext
let visitorCtx: BrowserContext
const closers: (() => Promise<void>)[] = []
let page: Page
const tid = (id: string) => page.locator(`[data-test="${id}"]`)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  for (const set of [(c: BrowserContext) => (consoleCtx = c), (c: BrowserContext) => (visitorCtx = c)]) {
    const b = await browser()
    set(b.context)
    closers.push(b.close)
  }
  page = await consoleCtx.newPage()
  await consoleLogin(page, kefu.base, kefu.adminEmail, kefu.adminPassword)
})

afterAll(async () => {
  for (const c of closers) await c()
  await site.stop()
  await kefu.dispose()
})

async function addWord(word: string, action: 'mask' | 'block' | 'flag') {
  await tid('sw-word').fill(word)
  await tid('sw-action').selectOption(action)
  await tid('sw-add').click()
  await page.locator(`[data-test="sw-row"][data-word="${word.toLowerCase()}"]`).waitFor()
}

describe('sensitive words', () => {
  it('an admin adds words on the page; a visitor’s message reaches the console masked', async () => {
    await page.goto(`${kefu.base}/console/#/admin/sensitive`)
    await tid('sw-empty').waitFor()
    await addWord('Damn', 'mask')
    await addWord('退款骗局', 'flag')
    await addWord('赌博', 'block')
    await expect(tid('sw-count').textContent()).resolves.toContain('3')
    // Changing a word's action in the list saves it.
    await page.locator('[data-test="sw-row"][data-word="赌博"] [data-test="sw-row-action"]').selectOption('block')

    const visitor = await visitorCtx.newPage()
    await visitor.goto(site.embed('/shop', kefu.base, inbox.public_key))
    const w = (sel: string) => visitor.locator(`#kefu-widget ${sel}`)
    await w('.launcher').click()
    await w('textarea').fill('damn, 这是退款骗局吗?')
    await w('textarea').press('Enter')
    // A blocked message is not sent: the widget says so, the console never gets it.
    await w('textarea').fill('网上赌博')
    await w('textarea').press('Enter')
    await w('.bad').first().waitFor()

    await page.goto(`${kefu.base}/console/#/inbox`)
    await tid('view-all').click()
    const row = tid('conversation-row').first()
    await row.waitFor()
    await row.click()
    await tid('message').filter({ hasText: '****, 这是退款骗局吗?' }).waitFor()
    expect(await tid('message').filter({ hasText: 'damn' }).count()).toBe(0)
    expect(await tid('message').filter({ hasText: '赌博' }).count()).toBe(0)
  })

  it('lists the flagged message for review until it is marked reviewed', async () => {
    await page.goto(`${kefu.base}/console/#/admin/sensitive`)
    await tid('sw-tab-flags').click()
    const flag = tid('sw-flag').filter({ hasText: '退款骗局' })
    await flag.waitFor()
    await expect(flag.textContent()).resolves.toContain('****, 这是退款骗局吗?')
    await flag.locator('[data-test="sw-review"]').click()
    await tid('sw-no-flags').waitFor()
    await tid('sw-flag-status').selectOption('reviewed')
    await tid('sw-flag').filter({ hasText: '退款骗局' }).waitFor()
    await until(async () => (await admin.call('GET', '/api/v1/sensitive/flags?status=reviewed')).items.length === 1, 'reviewed through the API too')
  })
})

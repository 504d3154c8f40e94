// Full-text search in a real browser against a real kefu: an agent presses
// S, finds a Chinese phrase and an English one said early in a long
// conversation (older than the 50 messages a conversation opens with),
// sees the match highlighted in the snippet, and a click opens the
// conversation scrolled to that message, highlighted, with a window of the
// messages around it (later ones load on scrolling down). The command bar's
// "Search for …" runs the same search.
import type { BrowserContext, Page } from 'playwright-core'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, outDir, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__VISITOR_MESSAGES_PER_MINUTE: '1000' })
let admin: Agent
let inbox: Record<string, any>
let ctx: BrowserContext
let closeBrowser: () => Promise<void>
let conv = ''

const CHINESE = '我的快递三天了还没到，单号 SF1234567'
const ENGLISH = 'The blender arrived broken, can I get a replacement?'
const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)

async function visitorWrites(token: string, text: string, i: number) {
  const r = await fetch(`${kefu.base}/api/v1/widget/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ client_msg_id: `s-${i}`, content: text }),
  })
  expect(r.status).toBe(201)
  return (await r.json()).message
}

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
  const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inbox.public_key }),
  }).then((r) => r.json())
  await fetch(`${kefu.base}/api/v1/widget/identify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
    body: JSON.stringify({ name: '李娜' }),
  })
  // Two messages to find, then 70 more: both are older than the first page.
  conv = (await visitorWrites(s.visitor_token, '你好', 0)).conversation_id
  await visitorWrites(s.visitor_token, CHINESE, 1)
  await visitorWrites(s.visitor_token, ENGLISH, 2)
  for (let i = 3; i < 73; i++) await visitorWrites(s.visitor_token, `第 ${i} 条补充说明 / follow-up number ${i}`, i)
  const b = await browser()
  ctx = b.context
  closeBrowser = b.close
})

afterAll(async () => {
  await closeBrowser?.()
  await kefu.dispose()
})

/** Whether the message `seq` is on screen, highlighted, inside the message list's visible part. */
async function shownAndMarked(page: Page, seq: number): Promise<boolean> {
  const m = page.locator(`[data-test="message"][data-seq="${seq}"]`)
  if (!(await m.count()) || !(await m.evaluate((el) => el.classList.contains('found')))) return false
  return m.evaluate((el) => {
    const box = el.getBoundingClientRect()
    const list = el.closest('[data-test="messages"]')!.getBoundingClientRect()
    return box.top >= list.top - 1 && box.bottom <= list.bottom + 1
  })
}

describe('search', () => {
  it('finds a Chinese and an English phrase and opens the conversation at each message', async () => {
    const page = await ctx.newPage()
    await consoleLogin(page, kefu.base, kefu.adminEmail, kefu.adminPassword)
    await tid(page, 'conversation-row').first().waitFor()

    // S opens the search page with the box focused.
    await page.locator('body').press('s')
    await tid(page, 'search-page').waitFor()
    await until(async () => (await page.evaluate(() => document.activeElement?.getAttribute('data-test'))) === 'search-input', 'the search box focused')
    await page.keyboard.type('快递三天')
    await page.keyboard.press('Enter')
    const hit = tid(page, 'search-hit').first()
    await hit.waitFor()
    expect(await tid(page, 'search-hit').count()).toBe(1)
    expect(await hit.locator('mark').allTextContents()).toEqual(['快递三天'])
    expect(await hit.textContent()).toContain('李娜')
    await page.screenshot({ path: join(outDir(), 'search-results.png') })
    await hit.click()
    await until(() => page.url().endsWith(`#/inbox/${conv}`), 'the conversation opened')
    await until(() => shownAndMarked(page, 2), 'the Chinese message shown and highlighted')
    // A window around it (30 after it), not every later message…
    const said = (n: number) => tid(page, 'message').filter({ hasText: `follow-up number ${n}` })
    await said(31).waitFor({ state: 'attached' })
    expect(await said(72).count()).toBe(0)
    await page.screenshot({ path: join(outDir(), 'search-opened.png') })
    // …the later ones come as the agent scrolls down.
    await until(async () => {
      await tid(page, 'messages').evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
      return (await said(72).count()) > 0
    }, 'the later messages, scrolling down')

    // English, from the command bar's "Search for …" (last item).
    await page.keyboard.press('Control+k')
    await tid(page, 'command-bar').waitFor()
    await page.keyboard.type('blender broken')
    const last = tid(page, 'command-item').last()
    await until(async () => (await last.textContent())?.includes('blender broken'), 'the search item')
    await last.click()
    await tid(page, 'search-page').waitFor()
    const en = tid(page, 'search-hit').first()
    await until(async () => (await en.locator('mark').allTextContents()).join('|') === 'blender|broken', 'the English hit marked')
    expect(await tid(page, 'search-hit').count()).toBe(1)
    await en.click()
    await until(() => shownAndMarked(page, 3), 'the English message shown and highlighted')

    // A filter that excludes it, and a query with no match, say so.
    await tid(page, 'nav-search').click()
    await tid(page, 'search-status').selectOption('resolved')
    await tid(page, 'search-none').waitFor()
    await tid(page, 'search-clear').click()
    await tid(page, 'search-hit').first().waitFor()
    await tid(page, 'search-input').fill('不存在的词语')
    await page.keyboard.press('Enter')
    await tid(page, 'search-none').waitFor()
  })
})

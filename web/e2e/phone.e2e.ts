// The console on a 390×844 phone in a real browser against a real kefu:
// one column at a time (list → conversation → details and back), nothing
// wider than the screen, and a reply sent from the phone.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Agent, browser, Kefu, outDir, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
let admin: Agent
let close: () => Promise<void>
let page: Page
let conv: string

const tid = (p: Page, id: string) => p.locator(`[data-test="${id}"]`)
const visible = (p: Page, id: string) => tid(p, id).first().isVisible()
/** Nothing on the page is wider than the screen. */
const fits = (p: Page) => p.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  const inbox = await admin.firstInbox()
  const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inbox.public_key }),
  }).then((r) => r.json())
  await admin.call('PATCH', `/api/v1/contacts/${s.contact_id}`, { name: '王小明' })
  const sent = await fetch(`${kefu.base}/api/v1/widget/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
    body: JSON.stringify({ client_msg_id: 'p1', content: '手机上能看到吗？Can you see this on a phone?' }),
  }).then((r) => r.json())
  conv = sent.message.conversation_id
  const b = await browser()
  close = b.close
  page = await b.context.newPage()
  await page.setViewportSize({ width: 390, height: 844 })
  page.on('pageerror', (e) => console.error('console page error:', e))
})

afterAll(async () => {
  await close()
  await kefu.dispose()
})

describe('the console on a phone', () => {
  it('shows the list alone, then the conversation alone, then its details, and back', async () => {
    await page.goto(`${kefu.base}/console/`)
    await page.locator('input[name=email]').fill(kefu.adminEmail)
    await page.locator('input[name=password]').fill(kefu.adminPassword)
    await page.locator('button[type=submit]').click()
    await tid(page, 'view-all').click()
    await tid(page, 'conversation-row').first().waitFor()
    expect(await fits(page)).toBe(true)
    await page.screenshot({ path: join(outDir(), 'phone-list.png') })

    await tid(page, 'conversation-row').first().click()
    await tid(page, 'composer').waitFor()
    expect(await visible(page, 'conversation-row')).toBe(false)
    expect(await visible(page, 'contact-panel')).toBe(false)
    expect(await fits(page)).toBe(true)
    await tid(page, 'composer').fill('能看到，请问有什么可以帮您？')
    await tid(page, 'send').click()
    await tid(page, 'message').filter({ hasText: '请问有什么可以帮您' }).waitFor()
    await page.screenshot({ path: join(outDir(), 'phone-conversation.png') })

    await tid(page, 'phone-details').click()
    await tid(page, 'contact-panel').waitFor()
    expect(await visible(page, 'composer')).toBe(false)
    expect(await tid(page, 'contact-detail-name').textContent()).toBe('王小明')
    expect(await fits(page)).toBe(true)
    await tid(page, 'phone-details-back').click()
    await tid(page, 'composer').waitFor()

    await tid(page, 'phone-back').click()
    await tid(page, 'conversation-row').first().waitFor()
    expect(await visible(page, 'composer')).toBe(false)
    await until(async () => (await admin.call('GET', `/api/v1/conversations/${conv}/messages?limit=10`)).items.length >= 2, 'the reply stored')
  })

  it('keeps the README screenshot in docs/img (make docs-img)', () => {
    if (!process.env.E2E_UPDATE_DOCS) return
    const img = resolve(__dirname, '../../docs/img')
    mkdirSync(img, { recursive: true })
    copyFileSync(join(outDir(), 'phone-conversation.png'), join(img, 'console-phone.png'))
  })
})

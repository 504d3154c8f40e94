// Incoming business events in a real browser against a real kefu: an admin
// makes an API key with the events:write scope in Settings → API keys, an
// "ERP" (this test, with fetch) posts "order 6610 refunded" about a customer
// who is chatting, and the console shows it live in the contact panel and as
// a line in the conversation; then a signed event with the inbound secret
// made on the same page.
import { createHmac } from 'node:crypto'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, Kefu, outDir, until } from './harness'

const kefu = new Kefu()
let admin: Agent
let inbox: Record<string, any>
let page: Page
let closeBrowser: () => Promise<void>

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  // These tests assign by hand and by rules: without the fresh install's "everyone" group
  // (which also clears the default group; lifecycle.e2e.ts tests that one).
  for (const g of (await admin.call('GET', '/api/v1/groups')).items) await admin.call('DELETE', `/api/v1/groups/${g.id}`)
  inbox = await admin.firstInbox()
  const b = await browser()
  closeBrowser = b.close
  page = await b.context.newPage()
  page.on('pageerror', (e) => console.error('console page error:', e))
})

afterAll(async () => {
  await closeBrowser?.()
  await kefu.dispose()
})

const tid = (p: Page, id: string) => p.locator(`[data-test="${id}"]`)

/** A customer who told their e-mail and wrote; returns the conversation's id. */
async function customerWrites(email: string, text: string): Promise<string> {
  const post = (path: string, body: unknown, token?: string) =>
    fetch(kefu.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
  const s = await (await post('/api/v1/widget/session', { inbox_key: inbox.public_key })).json()
  expect((await post('/api/v1/widget/identify', { name: '王芳', email }, s.visitor_token)).status).toBe(200)
  const r = await post('/api/v1/widget/messages', { client_msg_id: 'first', content: text }, s.visitor_token)
  expect(r.status).toBe(201)
  return (await r.json()).message.conversation_id
}

/** What the ERP sends: a POST with the API key, like the curl line in docs/integrations.md. */
async function erpPosts(key: string, body: unknown): Promise<Response> {
  return fetch(`${kefu.base}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
}

describe('incoming events', () => {
  let key = ''
  let conv = ''

  it('makes an API key with the events:write scope in the console', async () => {
    await page.goto(`${kefu.base}/console/`)
    await page.locator('input[name=email]').fill(kefu.adminEmail)
    await page.locator('input[name=password]').fill(kefu.adminPassword)
    await page.locator('button[type=submit]').click()
    await tid(page, 'nav-inbox').waitFor()
    await page.goto(`${kefu.base}/console/#/admin/apiKeys`)
    const form = tid(page, 'add-api-key')
    await form.locator('input[name=name]').fill('ERP')
    await form.locator('input[name="scope-events:write"]').check()
    await form.locator('button[type=submit]').click()
    key = (await tid(page, 'fresh-secret-value').textContent())?.trim() ?? ''
    expect(key).toMatch(/^kefu_sk_/)
    const row = tid(page, 'api-key-row').filter({ hasText: 'ERP' })
    await row.waitFor()
    expect(await row.locator('[data-test="api-key-scope"]').allTextContents()).toEqual(['events:write'])
    // The key's scope holds: it cannot read conversations.
    const r = await fetch(`${kefu.base}/api/v1/conversations`, { headers: { authorization: `Bearer ${key}` } })
    expect(r.status).toBe(403)
    expect((await r.json()).error.code).toBe('missing_scope')
  })

  it('shows an event posted by the ERP live in the visitor panel and the conversation', async () => {
    conv = await customerWrites('wang.fang@example.com', '我的退款到了吗？ Has my refund arrived?')
    await page.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(page, 'message').filter({ hasText: 'Has my refund arrived?' }).waitFor()
    await tid(page, 'no-business-events').waitFor()

    const r = await erpPosts(key, {
      contact: { email: 'wang.fang@example.com' },
      type: 'order.refunded',
      title: 'Order 6610 refunded',
      data: { order_id: '6610', amount: '299.00', currency: 'CNY' },
      id: 'erp-6610-refund',
      set_attributes: { last_order: '6610' },
    })
    expect(r.status).toBe(201)
    expect((await r.json()).conversation_ids).toEqual([conv])

    // Live, without a reload: the panel's list, the line among the messages, the attribute.
    const ev = tid(page, 'business-event').first()
    await ev.waitFor()
    await expect(tid(page, 'business-event-title').first().textContent()).resolves.toBe('Order 6610 refunded')
    await expect(tid(page, 'business-event-type').first().textContent()).resolves.toBe('order.refunded')
    const data = ev.locator('[data-test="business-event-data"]')
    expect(await data.locator('pre').isVisible()).toBe(false)
    await data.locator('summary').click()
    await expect(data.locator('pre').textContent()).resolves.toContain('"amount": "299.00"')
    await tid(page, 'message').filter({ hasText: '📦 Order 6610 refunded' }).waitFor()
    await tid(page, 'contact-panel').locator('.attr').filter({ hasText: 'last_order' }).waitFor()

    // A retry of the same event changes nothing on screen.
    expect((await erpPosts(key, { contact: { email: 'wang.fang@example.com' }, type: 'order.refunded', title: 'Order 6610 refunded', id: 'erp-6610-refund' })).status).toBe(200)

    // A later event goes on top.
    expect((await erpPosts(key, { contact: { email: 'wang.fang@example.com' }, type: 'coupon.issued', title: 'Coupon ¥20 issued', data: {} })).status).toBe(201)
    await until(async () => (await tid(page, 'business-event').count()) === 2, 'the second event in the panel')
    expect(await tid(page, 'business-event-title').allTextContents()).toEqual(['Coupon ¥20 issued', 'Order 6610 refunded'])
    expect(await tid(page, 'message').filter({ hasText: '📦 Order 6610 refunded' }).count()).toBe(1)

    mkdirSync(outDir(), { recursive: true })
    await page.screenshot({ path: join(outDir(), 'console-business-events.png') })
    if (process.env.E2E_UPDATE_DOCS) {
      copyFileSync(join(outDir(), 'console-business-events.png'), resolve(__dirname, '../../docs/img/console-business-events.png'))
    }
  })

  it('takes a signed event with the inbound secret made in Settings', async () => {
    await page.goto(`${kefu.base}/console/#/admin/apiKeys`)
    await tid(page, 'no-signing-secret').waitFor()
    await tid(page, 'rotate-signing-secret').click()
    const secret = (await tid(page, 'fresh-secret-value').textContent())?.trim() ?? ''
    expect(secret).toMatch(/^whsec_/)
    await tid(page, 'signing-secret').waitFor()
    const url = (await tid(page, 'signed-post-url').textContent())?.trim() ?? ''
    expect(url).toContain('/api/v1/events?workspace_id=')

    // Signed as a Standard Webhooks sender signs.
    const body = JSON.stringify({ contact: { email: 'wang.fang@example.com' }, type: 'parcel.delivered', title: 'Parcel SF1234 delivered' })
    const id = `msg_${Date.now()}`
    const ts = Math.floor(Date.now() / 1000)
    const sig = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64')).update(`${id}.${ts}.${body}`).digest('base64')
    const r = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}` },
      body,
    })
    expect(r.status).toBe(201)

    await page.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(page, 'business-event-title').filter({ hasText: 'Parcel SF1234 delivered' }).waitFor()
    await tid(page, 'message').filter({ hasText: '📦 Parcel SF1234 delivered' }).waitFor()
  })
})

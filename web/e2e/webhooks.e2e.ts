// Webhooks in the console, in a real browser against a real kefu: an admin
// creates a subscription to a receiver this test runs (picking one event
// type), copies the secret shown once, and sees deliveries in the log; a
// receiver that keeps failing gets the subscription paused, the page says
// so, and Resume sends what waited.
import type { BrowserContext, Page } from 'playwright-core'
import { createHmac } from 'node:crypto'
import { createServer, type Server } from 'node:http'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, freePort, Kefu, outDir, until } from './harness'

const kefu = new Kefu({
  // The receiver is on 127.0.0.1: allowed for this server only.
  KEFU_WEBHOOKS__ALLOW_PRIVATE_NETWORKS: 'true',
  KEFU_WEBHOOKS__POLL_MS: '200',
  KEFU_WEBHOOKS__RETRY_SCHEDULE_MS: '[300, 300, 300, 300]',
  KEFU_WEBHOOKS__RETRY_JITTER_PERCENT: '0',
  KEFU_WEBHOOKS__PAUSE_AFTER_FAILURES: '2',
  KEFU_OUTBOX__POLL_MS: '200',
})
let admin: Agent
let inbox: Record<string, any>
let ctx: BrowserContext
let page: Page
let closeBrowser: () => Promise<void>

interface Got {
  headers: Record<string, string>
  body: string
}
const got: Got[] = []
let answer = 200
let receiver: Server
let receiverUrl = ''

beforeAll(async () => {
  const port = await freePort()
  receiver = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => (body += c))
    req.on('end', () => {
      got.push({ headers: req.headers as Record<string, string>, body })
      res.writeHead(answer, { 'content-type': 'text/plain' }).end(`receiver answered ${answer}`)
    })
  })
  await new Promise<void>((r) => receiver.listen(port, '127.0.0.1', r))
  receiverUrl = `http://127.0.0.1:${port}/kefu-events`
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  // These tests assign by hand and by rules: without the fresh install's "everyone" group
  // (which also clears the default group; lifecycle.e2e.ts tests that one).
  for (const g of (await admin.call('GET', '/api/v1/groups')).items) await admin.call('DELETE', `/api/v1/groups/${g.id}`)
  inbox = await admin.firstInbox()
  const b = await browser()
  ctx = b.context
  closeBrowser = b.close
  page = await ctx.newPage()
  page.on('pageerror', (e) => console.error('console page error:', e))
})

afterAll(async () => {
  await closeBrowser?.()
  receiver?.closeAllConnections()
  await new Promise((r) => receiver?.close(r))
  await kefu.dispose()
})

const tid = (id: string) => page.locator(`[data-test="${id}"]`)

/** Standard Webhooks verification with node:crypto (not kefu's code). */
function verifies(secret: string, g: Got): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const signed = `${g.headers['webhook-id']}.${g.headers['webhook-timestamp']}.${g.body}`
  const expected = createHmac('sha256', key).update(signed).digest('base64')
  return g.headers['webhook-signature'].split(' ').some((s) => s === `v1,${expected}`)
}

async function visitorWrites(text: string) {
  const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inbox.public_key }),
  }).then((r) => r.json())
  const r = await fetch(`${kefu.base}/api/v1/widget/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
    body: JSON.stringify({ client_msg_id: `v-${Date.now()}`, content: text }),
  })
  expect(r.status).toBe(201)
}

describe('webhooks page', () => {
  it('creates a subscription, shows its secret once and its deliveries', async () => {
    await page.goto(`${kefu.base}/console/`)
    await page.locator('input[name=email]').fill(kefu.adminEmail)
    await page.locator('input[name=password]').fill(kefu.adminPassword)
    await page.locator('button[type=submit]').click()
    await tid('nav-inbox').waitFor()
    await page.goto(`${kefu.base}/console/#/admin/webhooks`)
    await tid('admin-webhooks').waitFor()
    await tid('webhooks-admin').waitFor()

    const form = tid('add-webhook')
    await form.locator('input[name=url]').fill(receiverUrl)
    await form.locator('input[name=description]').fill('Order system')
    await form.locator('input[name=all-events]').uncheck()
    await form.locator('input[name=event-message_created]').check()
    await form.locator('button[type=submit]').click()
    const secret = (await tid('webhook-secret').textContent())!.trim()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/=]{40,}$/)
    await page.screenshot({ path: join(outDir(), 'webhooks-secret.png') })
    await tid('webhook-secret-done').click()
    await expect(tid('webhook-secret-box').count()).resolves.toBe(0)
    const list = await admin.call('GET', '/api/v1/webhooks')
    expect(list.items).toHaveLength(1)
    expect(list.items[0].event_types).toEqual(['message_created'])
    expect(JSON.stringify(list)).not.toContain(secret)

    await visitorWrites('我想查一下订单 #1234')
    const first = (await until(() => got.find((g) => JSON.parse(g.body).type === 'message_created'), 'the message event at the receiver')) as Got
    expect(JSON.parse(first.body).data.message.content).toBe('我想查一下订单 #1234')
    expect(verifies(secret, first)).toBe(true)

    // The log, refreshed by the page while it is open.
    await tid('webhooks-table').locator('[data-test=webhook-log]').first().click()
    await tid('deliveries-table').locator('[data-test=delivery-delivered]').first().waitFor({ timeout: 10_000 })
    await expect(tid('deliveries-table').textContent()).resolves.toContain('receiver answered 200')

    await tid('webhook-test').first().click()
    await until(() => got.find((g) => JSON.parse(g.body).type === 'webhook_test'), 'the test event at the receiver')
    await until(async () => (await tid('deliveries-table').locator('[data-test=delivery-delivered]').count()) === 2, 'two delivered rows')
    await page.screenshot({ path: join(outDir(), 'webhooks-log.png'), fullPage: true })
  })

  it('shows a paused subscription and resumes it', async () => {
    answer = 500
    const before = got.length
    await tid('webhook-test').first().click()
    // Two failed attempts in a row pause it (PAUSE_AFTER_FAILURES=2).
    await tid('webhooks-paused-banner').waitFor({ timeout: 15_000 })
    await expect(tid('webhook-status').first().textContent()).resolves.toContain('Paused')
    expect(got.length - before).toBe(2)
    await page.screenshot({ path: join(outDir(), 'webhooks-paused.png'), fullPage: true })

    answer = 200
    await tid('webhook-resume').first().click()
    await until(() => got.length > before + 2 && got[got.length - 1].headers['webhook-id'] === got[before].headers['webhook-id'], 'the held delivery sent after resume')
    await until(async () => (await tid('webhooks-paused-banner').count()) === 0, 'the banner to go')
    await expect(tid('webhook-status').first().textContent()).resolves.toContain('Active')
  })
})

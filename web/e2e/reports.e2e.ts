// The reports page in a real browser against a fresh kefu: a few seeded
// conversations (answered, resolved, one unanswered) show in the overview
// cards, the two trend charts, the weekday × hour heatmap and the
// per-agent table; switching to business hours and the CSV download work.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, outDir, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
let admin: Agent
let adminId: string
let inboxKey: string
let page: Page
let close: () => Promise<void>
const tid = (p: Page, id: string) => p.locator(`[data-test="${id}"]`)

async function visitorSays(inboxKey: string, text: string): Promise<{ token: string; conv: string }> {
  const session = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inboxKey }),
  }).then((r) => r.json())
  const sent = await fetch(`${kefu.base}/api/v1/widget/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${session.visitor_token}` },
    body: JSON.stringify({ client_msg_id: `m-${text}`, content: text }),
  }).then((r) => r.json())
  return { token: session.visitor_token, conv: sent.message.conversation_id }
}

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  adminId = (await admin.call('GET', '/api/v1/me')).user.id
  const inbox = await admin.firstInbox()
  inboxKey = inbox.public_key
  // Three conversations: two answered and resolved by the admin, one nobody answers.
  for (const text of ['Where is my order?', '发票怎么开？']) {
    const { conv } = await visitorSays(inbox.public_key, text)
    await admin.call('POST', `/api/v1/conversations/${conv}/assign`, { assignee_id: adminId })
    await admin.call('POST', `/api/v1/conversations/${conv}/messages`, { content: 'On it.' })
    await admin.call('POST', `/api/v1/conversations/${conv}/status`, { status: 'resolved' })
  }
  await visitorSays(inbox.public_key, 'Hello?')
  const b = await browser()
  close = b.close
  page = await b.context.newPage()
  page.on('pageerror', (e) => console.error('console page error:', e))
  await consoleLogin(page, kefu.base, kefu.adminEmail, kefu.adminPassword)
})

afterAll(async () => {
  await close?.()
  await kefu.dispose()
})

describe('the reports page', () => {
  it('shows the figures, charts, heatmap and tables for seeded data', async () => {
    await page.goto(`${kefu.base}/console/#/admin/reports`)
    await tid(page, 'reports').waitFor()
    await until(async () => (await tid(page, 'card-opened').locator('strong').textContent()) === '3', 'three conversations')
    expect(await tid(page, 'card-resolved').locator('strong').textContent()).toBe('2')
    expect(await tid(page, 'card-first-response').locator('strong').textContent()).toMatch(/^\d+s$|^\d+m/)
    // The charts are drawn (uPlot draws on a canvas, with a legend naming the series).
    for (const chart of ['chart-volume', 'chart-times']) {
      await tid(page, chart).locator('canvas').waitFor()
      const box = await tid(page, chart).locator('canvas').boundingBox()
      expect(box!.width).toBeGreaterThan(200)
      expect(box!.height).toBeGreaterThan(100)
    }
    expect(await tid(page, 'chart-volume').textContent()).toMatch(/Conversations|会话数/)
    // The heatmap: 7 × 24 cells; the three openings are in the current hour's cell.
    expect(await tid(page, 'heatmap').locator('tbody td').count()).toBe(168)
    const busy = await tid(page, 'heatmap').locator('tbody td[data-n="3"]').count()
    const spread = await tid(page, 'heatmap').locator('tbody td:not([data-n="0"])').count()
    expect(busy === 1 || spread >= 2).toBe(true)
    // The admin's row in the per-agent table.
    const row = tid(page, 'agent-row').first()
    await row.waitFor()
    expect(await row.locator('td').first().textContent()).not.toBe(adminId)
    expect(await row.locator('td').nth(1).textContent()).toBe('2')
    await page.screenshot({ path: `${outDir()}/console-reports.png`, fullPage: true })
  })

  it('switches to business hours and downloads the CSV', async () => {
    const reply = page.waitForResponse((r) => r.url().includes('business_hours=true') && r.url().includes('group_by=day'))
    await tid(page, 'report-business').check()
    expect((await reply).status()).toBe(200)
    const download = page.waitForEvent('download')
    await tid(page, 'report-csv').click()
    const file = await download
    const text = await (await file.createReadStream()).toArray()
    const csv = Buffer.concat(text as Buffer[]).toString('utf8')
    expect(csv.split('\n')[0]).toMatch(/^key,conversations_opened,/)
    expect(csv).toMatch(/\ntotal,3,0,2,/)
  })

  it('updates the live figures when a visitor starts waiting and when an agent takes the conversation', async () => {
    const num = async (id: string) => Number(await tid(page, id).locator('strong').textContent())
    const load = () => page.locator(`[data-test="live-agent"][data-id="${adminId}"] [data-test="live-load"]`).textContent()
    await tid(page, 'live').waitFor()
    // Away: nobody can take a new conversation, so it waits in the "everyone" line.
    await tid(page, 'presence').selectOption('away')
    await until(async () => (await admin.call('GET', '/api/v1/me')).user.status === 'away', 'away')
    const before = { waiting: await num('live-waiting'), queued: await num('live-queued'), load: await load() }
    const { conv } = await visitorSays(inboxKey, 'Anyone there? 有人吗？')
    await until(async () => (await num('live-queued')) === before.queued + 1, 'the new conversation in line, live')
    expect(await num('live-waiting')).toBe(before.waiting + 1)
    expect((await tid(page, 'live-queue').filter({ hasText: 'everyone' }).locator('td').nth(1).textContent())?.trim()).toBe('1')
    await until(async () => (await tid(page, 'live-longest').locator('strong').textContent()) !== '—', 'the longest wait')
    // The admin takes it: out of the line, onto their load, without a reload.
    await admin.call('POST', `/api/v1/conversations/${conv}/assign`, { assignee_id: adminId })
    await until(async () => (await num('live-queued')) === before.queued, 'out of the line, live')
    const [active, capacity] = before.load!.split(' / ').map(Number)
    await until(async () => (await load()) === `${active + 1} / ${capacity}`, "on the admin's load, live")
  })
})

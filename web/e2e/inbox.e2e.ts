// The inbox list in a real browser at 1366×768 against a real kefu: at
// least 12 rows visible, counts on the tabs, filters kept in the URL across a
// reload, the longest-waiting order with each row's waiting time.
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Agent, browser, Kefu, outDir, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
let admin: Agent
let inbox: Record<string, any>
let close: () => Promise<void>
let page: Page
const convs: string[] = []

const tid = (p: Page, id: string) => p.locator(`[data-test="${id}"]`)

async function visitorWrites(i: number): Promise<string> {
  const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inbox.public_key }),
  }).then((r) => r.json())
  const r = await fetch(`${kefu.base}/api/v1/widget/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
    body: JSON.stringify({ client_msg_id: `v-${i}`, content: `question ${i}` }),
  })
  expect(r.status).toBe(201)
  await admin.call('PATCH', `/api/v1/contacts/${s.contact_id}`, { name: `Visitor ${String(i).padStart(2, '0')}` })
  return (await r.json()).message.conversation_id
}

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  await admin.call('PATCH', '/api/v1/workspace', { default_group: null })
  inbox = await admin.firstInbox()
  for (let i = 0; i < 15; i++) convs.push(await visitorWrites(i))
  // Visitor 03 is a VIP; visitor 00 was answered (nobody waits there).
  await admin.call('PATCH', `/api/v1/conversations/${convs[3]}`, { add_tags: ['vip'], priority: 'urgent' })
  await admin.call('POST', `/api/v1/conversations/${convs[0]}/messages`, { client_msg_id: 'a0', content: 'Answered.' })
  const b = await browser()
  close = b.close
  page = await b.context.newPage()
  await page.setViewportSize({ width: 1366, height: 768 })
  page.on('pageerror', (e) => console.error('console page error:', e))
})

afterAll(async () => {
  await close()
  await kefu.dispose()
})

describe('the inbox list', () => {
  it('shows at least 12 rows at 1366×768, with counts on the tabs', async () => {
    await page.goto(`${kefu.base}/console/`)
    await page.locator('input[name=email]').fill(kefu.adminEmail)
    await page.locator('input[name=password]').fill(kefu.adminPassword)
    await page.locator('button[type=submit]').click()
    await tid(page, 'view-all').click()
    await until(async () => (await tid(page, 'count-all').textContent()) === '15', 'the count of all')
    // The answered one became the admin's (reply-to-take).
    expect(await tid(page, 'count-unassigned').textContent()).toBe('14')
    expect(await tid(page, 'count-mine').textContent()).toBe('1')
    const box = await page.locator('.rows').boundingBox()
    const rows = await tid(page, 'conversation-row').evaluateAll((els) => els.map((e) => e.getBoundingClientRect()).map((r) => ({ top: r.top, bottom: r.bottom })))
    const inside = rows.filter((r) => box && r.top >= box.y - 1 && r.bottom <= box.y + box.height + 1)
    expect(inside.length).toBeGreaterThanOrEqual(12)
    await page.screenshot({ path: join(outDir(), 'inbox-1366x768.png') })
  })

  it('filters by label and priority, kept in the URL across a reload', async () => {
    await tid(page, 'filter-label').fill('vip')
    await tid(page, 'filter-label').press('Enter')
    await tid(page, 'filter-label').blur()
    await until(async () => (await tid(page, 'conversation-row').count()) === 1, 'one vip row')
    await tid(page, 'filter-priority').selectOption('urgent')
    expect(page.url()).toContain('label=vip')
    expect(page.url()).toContain('priority=urgent')
    await until(async () => (await tid(page, 'count-all').textContent()) === '1', 'the count follows the filters')
    await page.reload()
    await tid(page, 'conversation-row').first().waitFor()
    expect(await tid(page, 'filter-label').inputValue()).toBe('vip')
    expect(await tid(page, 'filter-priority').inputValue()).toBe('urgent')
    expect(await tid(page, 'conversation-row').count()).toBe(1)
    expect(await tid(page, 'conversation-row').first().textContent()).toContain('Visitor 03')
    await tid(page, 'clear-filters').click()
    await until(async () => (await tid(page, 'conversation-row').count()) > 1, 'all rows back')
    expect(page.url()).not.toContain('label=')
  })

  it('sorts by who has waited longest, showing how long on each row; the answered one comes last', async () => {
    await tid(page, 'sort').selectOption('waiting')
    await until(async () => (await tid(page, 'conversation-row').first().textContent())?.includes('Visitor 01'), 'the longest-waiting first')
    expect(await tid(page, 'conversation-row').first().locator('[data-test="row-waiting"]').textContent()).toMatch(/Waiting \d+(s|m)/)
    // The answered conversation has no waiting time and sorts last.
    const names = await tid(page, 'conversation-row').locator('.name').allTextContents()
    expect(names.at(-1)).toBe('Visitor 00')
    expect(page.url()).toContain('sort=waiting')
  })
})

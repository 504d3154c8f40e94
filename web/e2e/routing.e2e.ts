// Routing in the console and the widget, in real browsers against a real
// kefu: a transfer between two agents' consoles, priority and tags, a
// visitor waiting in a group's line until the agent frees up, a group's
// business hours and offline message, and an inbox's older UTC-offset hours.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Agent, browser, Kefu, outDir, Site, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let adminId: string
/** The second agent: 韩梅梅, in her own browser. */
const HAN = { email: 'han.meimei@example.com', password: 'agent-pass-1', name: 'Han Meimei' }
let hanId: string
let ctxA: BrowserContext
let ctxB: BrowserContext
let ctxVisitor: BrowserContext
let pageA: Page
let pageB: Page
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  // These tests assign by hand and by rules: without the fresh install's "everyone" group
  // (which also clears the default group; lifecycle.e2e.ts tests that one).
  for (const g of (await admin.call('GET', '/api/v1/groups')).items) await admin.call('DELETE', `/api/v1/groups/${g.id}`)
  adminId = (await admin.call('GET', '/api/v1/me')).user.id
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  hanId = (await admin.call('POST', '/api/v1/users', { ...HAN, role: 'agent' })).id
  for (const set of [(c: BrowserContext) => (ctxA = c), (c: BrowserContext) => (ctxB = c), (c: BrowserContext) => (ctxVisitor = c)]) {
    const b = await browser()
    set(b.context)
    closers.push(b.close)
  }
})

afterAll(async () => {
  for (const c of closers) await c()
  await site.stop()
  await kefu.dispose()
})

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

async function consoleLogin(page: Page, email: string, password: string) {
  page.on('pageerror', (e) => console.error(`console page error (${email}):`, e))
  await page.goto(`${kefu.base}/console/`)
  await page.locator('input[name=email]').fill(email)
  await page.locator('input[name=password]').fill(password)
  await page.locator('button[type=submit]').click()
  await tid(page, 'nav-inbox').waitFor()
}

/** A visitor writing over the REST API (no browser): returns the conversation's id. */
async function visitorWrites(text: string): Promise<string> {
  const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inbox.public_key }),
  }).then((r) => r.json())
  const r = await fetch(`${kefu.base}/api/v1/widget/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
    body: JSON.stringify({ client_msg_id: `v-${Date.now()}-${Math.random()}`, content: text }),
  })
  expect(r.status).toBe(201)
  return (await r.json()).message.conversation_id
}

/** The conversation whose newest message is `text`, as the API lists it. */
async function conversationWith(text: string): Promise<Record<string, any>> {
  return until(async () => {
    const list = await admin.call('GET', '/api/v1/conversations?limit=50')
    return list.items.find((c: any) => c.last_message?.excerpt === text)
  }, `the conversation with "${text}"`)
}

/** Opens conversation `id` from the list (its row may show a newer message than `text`). */
async function openRow(page: Page, id: string, text: string) {
  const row = page.locator(`[data-test="conversation-row"][href="#/inbox/${id}"]`)
  await row.waitFor()
  await row.click()
  await tid(page, 'message').filter({ hasText: text }).first().waitFor()
}

describe('routing in the console', () => {
  let convX: string

  it('transfers a conversation to another agent with a note; her console shows it and the timeline says so', async () => {
    pageA = await ctxA.newPage()
    await consoleLogin(pageA, kefu.adminEmail, kefu.adminPassword)
    pageB = await ctxB.newPage()
    await consoleLogin(pageB, HAN.email, HAN.password)
    await tid(pageB, 'view-mine').click()

    convX = await visitorWrites('my order 77 never arrived')
    await tid(pageA, 'view-all').click()
    await openRow(pageA, convX, 'my order 77 never arrived')
    await tid(pageA, 'assign-me').click()
    await until(async () => (await tid(pageA, 'assignee').inputValue()) === adminId, 'assigned to the admin')
    await tid(pageA, 'event').filter({ hasText: 'Assigned to Admin' }).waitFor()

    await tid(pageA, 'transfer-to').selectOption(`a:${hanId}`)
    await tid(pageA, 'transfer-note').fill('VIP customer, wants a refund')
    await tid(pageA, 'transfer').click()
    await tid(pageA, 'event').filter({ hasText: `Transferred from Admin to ${HAN.name}` }).waitFor()
    await until(async () => (await tid(pageA, 'assignee').inputValue()) === hanId, "the admin's console to show the new assignee")

    // Her console: the conversation arrives in "Mine", assigned to her, with the transfer and its note.
    await openRow(pageB, convX, 'my order 77 never arrived')
    await until(async () => (await tid(pageB, 'assignee').inputValue()) === hanId, 'assigned to her')
    expect(await tid(pageB, 'assign-me').count()).toBe(0)
    await tid(pageB, 'event').filter({ hasText: `Transferred from Admin to ${HAN.name}` }).waitFor()
    await tid(pageB, 'message').filter({ hasText: `→ ${HAN.name}: VIP customer, wants a refund` }).waitFor()
    const c = await admin.call('GET', `/api/v1/conversations/${convX}`)
    expect(c.assignee_id).toBe(hanId)
  })

  it('sets priority and tags; the list row shows them after a reload', async () => {
    await tid(pageA, 'priority').selectOption('high')
    await tid(pageA, 'conv-priority').filter({ hasText: 'High' }).waitFor()
    await tid(pageA, 'tag-input').fill('vip')
    await tid(pageA, 'tag-input').press('Enter')
    await tid(pageA, 'tag-input').fill('退款, wrong-tag')
    await tid(pageA, 'tag-input').press('Enter')
    await tid(pageA, 'tag').filter({ hasText: 'wrong-tag' }).waitFor()
    await tid(pageA, 'tag').filter({ hasText: 'wrong-tag' }).locator('[data-test="tag-remove"]').click()
    await until(async () => (await tid(pageA, 'tag').allTextContents()).map((s) => s.replace('×', '').trim()).join(',') === 'vip,退款', 'the tags vip and 退款')
    // A tag the server would refuse is refused before it is sent.
    await tid(pageA, 'tag-input').fill('x'.repeat(40))
    await tid(pageA, 'tag-input').press('Enter')
    await tid(pageA, 'labels-error').waitFor()
    await tid(pageA, 'tag-input').fill('')
    // A change the server refuses: the typed tag comes back to the input with
    // the server's message, and the priority shows what is saved.
    const patches = '**/api/v1/conversations/*'
    await pageA.route(patches, (route) =>
      route.request().method() === 'PATCH'
        ? route.fulfill({ status: 422, contentType: 'application/json', body: JSON.stringify({ error: { code: 'validation', message: 'refused for the test' } }) })
        : route.fallback(),
    )
    await tid(pageA, 'tag-input').fill('refused-tag')
    await tid(pageA, 'tag-input').press('Enter')
    await tid(pageA, 'labels-error').filter({ hasText: 'refused for the test' }).waitFor()
    expect(await tid(pageA, 'tag-input').inputValue()).toBe('refused-tag')
    await tid(pageA, 'priority').selectOption('urgent')
    await until(async () => (await tid(pageA, 'priority').inputValue()) === 'high', 'the priority select back to High')
    await pageA.unroute(patches)
    await tid(pageA, 'tag-input').fill('')
    // The audit trail tells it, in words.
    await tid(pageA, 'event').filter({ hasText: 'Priority Normal → High' }).waitFor()
    await tid(pageA, 'event').filter({ hasText: 'Tags: +vip' }).first().waitFor()
    // Her console got it live.
    await tid(pageB, 'conv-priority').filter({ hasText: 'High' }).waitFor()
    await tid(pageB, 'tag').filter({ hasText: 'vip' }).waitFor()

    const c = await admin.call('GET', `/api/v1/conversations/${convX}`)
    expect(c.priority).toBe('high')
    expect(c.tags).toEqual(['vip', '退款'])

    await pageA.reload()
    const row = pageA.locator(`[data-test="conversation-row"][href="#/inbox/${convX}"]`)
    await row.waitFor()
    await expect(row.locator('[data-test="row-priority"]').textContent()).resolves.toBe('High')
    await expect(row.locator('[data-test="row-tag"]').allTextContents()).resolves.toEqual(['vip', '退款'])
    await pageA.screenshot({ path: join(outDir(), 'console-labels.png') })
  })

  it("shows the widget's place in a group's line, and takes it out when the agent frees up", async () => {
    // Han, the group's only member, can hold one conversation and holds one already (X).
    await admin.call('PATCH', `/api/v1/users/${hanId}`, { capacity: 1 })
    await admin.call('POST', '/api/v1/groups', { name: 'billing', strategy: 'least_loaded', members: [hanId] })
    await admin.call('PUT', '/api/v1/routing/rules', {
      source: 'rule "invoices"\nwhen conversation.first_message contains "invoice"\nthen route_to("billing")\nend',
    })

    const visitor = await ctxVisitor.newPage()
    visitor.on('pageerror', (e) => console.error('widget page error:', e))
    await visitor.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await w(visitor, '.launcher').click()
    await w(visitor, 'textarea').fill('I need an invoice for order 88')
    await w(visitor, 'textarea').press('Enter')
    await until(async () => (await w(visitor, '.queue').textContent({ timeout: 1000 }))?.includes('number 1 in line'), 'the queue line in the widget', 15_000)
    expect(await w(visitor, '.queue').isVisible()).toBe(true)
    const waiting = await conversationWith('I need an invoice for order 88')
    expect(waiting.status).toBe('queued')
    expect(waiting.assignee_id).toBeNull()

    // The admin sees it waiting among the unassigned ones, marked as queued.
    await tid(pageA, 'view-unassigned').click()
    const row = pageA.locator(`[data-test="conversation-row"][href="#/inbox/${waiting.id}"]`)
    await row.waitFor()
    await expect(row.locator('[data-test="row-status"]').textContent()).resolves.toBe('Queued')
    await row.click()
    await tid(pageA, 'event').filter({ hasText: 'Queued in billing' }).waitFor()
    await expect(tid(pageA, 'conv-status').textContent()).resolves.toBe('Queued')
    await tid(pageA, 'conv-line').filter({ hasText: 'billing · #1 in line' }).waitFor()

    // Han resolves X: the one waiting is hers at once, and the widget's line goes away.
    await tid(pageB, 'view-mine').click()
    await openRow(pageB, convX, 'my order 77 never arrived')
    await tid(pageB, 'resolve').click()
    await until(async () => (await tid(pageB, 'conv-status').textContent())?.includes('Resolved'), 'resolved')
    // The line shown above goes away: hidden, its text gone.
    await w(visitor, '.queue').waitFor({ state: 'hidden', timeout: 15_000 })
    expect(await w(visitor, '.queue').textContent()).toBe('')
    const taken = await admin.call('GET', `/api/v1/conversations/${waiting.id}`)
    expect(taken.status).toBe('open')
    expect(taken.assignee_id).toBe(hanId)
    await openRow(pageB, waiting.id, 'I need an invoice for order 88')
    await tid(pageB, 'event').filter({ hasText: `Assigned to ${HAN.name} by routing (billing)` }).waitFor()
    // The admin's view followed live: the place in line it showed (above) goes, and it is open.
    await tid(pageA, 'conv-line').waitFor({ state: 'detached' })
    await until(async () => (await tid(pageA, 'conv-status').textContent()) === 'Open', "the admin's console to show it open")
    // …and billing's line is empty.
    expect(await admin.call('GET', '/api/v1/routing/queues')).toEqual({ items: [{ group: 'billing', waiting: 0, conversation_ids: [] }], next_cursor: null })
    await visitor.close()
  })

  it("edits a group's business hours and offline message, with the server's errors; outside them a visitor gets the message", async () => {
    await pageA.goto(`${kefu.base}/console/#/admin/groups`)
    const more = tid(pageA, 'group-more-billing')
    await more.locator('[data-test="group-hours-toggle"]').click()
    await more.locator('[data-test="hours-enabled"]').check()
    await expect(more.locator('[data-test="group-hours-summary"]').textContent()).resolves.toBe('Mon–Fri 09:00–18:00')
    // A time zone the server does not know: its 422 message is shown.
    await more.locator('[data-test="hours-timezone"]').fill('Mars/Olympus_Mons')
    await more.locator('[data-test="hours-timezone-error"]').waitFor()
    await pageA.locator('[data-test="group-row"][data-group="billing"] [data-test="group-save"]').click()
    const error = tid(pageA, 'group-error')
    await error.waitFor()
    expect(await error.textContent()).toContain('Mars/Olympus_Mons')
    // A real one, and closed every day: every conversation routed here goes to offline follow-up.
    await more.locator('[data-test="hours-timezone"]').fill('Asia/Shanghai')
    while ((await more.locator('[data-test="hours-period"]').count()) > 0) await more.locator('[data-test="hours-period"] button').first().click()
    await expect(more.locator('[data-test="group-hours-summary"]').textContent()).resolves.toBe('Closed')
    await more.locator('[data-test="hours-now"]').filter({ hasText: 'Closed now' }).waitFor()
    await more.locator('[data-test="group-offline-message"]').fill('Billing is closed; we reply tomorrow. 财务已下班，明天回复您。')
    await pageA.screenshot({ path: join(outDir(), 'console-group-hours.png') })
    await pageA.locator('[data-test="group-row"][data-group="billing"] [data-test="group-save"]').click()
    await tid(pageA, 'group-saved').waitFor()
    const billing = (await admin.call('GET', '/api/v1/groups')).items.find((g: any) => g.name === 'billing')
    expect(billing.business_hours).toEqual({ timezone: 'Asia/Shanghai', periods: [] })
    expect(billing.offline_message).toBe('Billing is closed; we reply tomorrow. 财务已下班，明天回复您。')
    expect(billing.members).toEqual([hanId])

    // A new visitor (another site, so another identity) asks about an invoice.
    const other = new Site()
    await other.start()
    try {
      const visitor = await ctxVisitor.newPage()
      await visitor.goto(other.embed('/after-hours', kefu.base, inbox.public_key))
      await w(visitor, '.launcher').click()
      await w(visitor, 'textarea').fill('invoice please, it is late')
      await w(visitor, 'textarea').press('Enter')
      await w(visitor, '.msg .bubble').filter({ hasText: 'Billing is closed; we reply tomorrow.' }).waitFor({ timeout: 15_000 })
      const c = await until(async () => {
        const list = await admin.call('GET', '/api/v1/conversations?limit=50')
        return list.items.find((x: any) => x.tags?.includes('offline'))
      }, 'the conversation left for offline follow-up')
      expect(c.status).toBe('open')
      expect(c.assignee_id).toBeNull()
      // Straight to follow-up, never into billing's line: its audit trail has
      // no queueing, and the widget (its line element there) shows no place.
      const trail = (await admin.call('GET', `/api/v1/conversations/${c.id}/events?limit=200`)).items
      expect(trail.map((e: any) => e.kind)).toContain('conversation_offline')
      expect(trail.filter((e: any) => e.kind === 'conversation_queued' || (e.kind === 'conversation_status_changed' && e.data?.to === 'queued'))).toEqual([])
      expect(await w(visitor, '.queue').count()).toBe(1)
      expect(await w(visitor, '.queue').isHidden()).toBe(true)
      expect(await w(visitor, '.queue').textContent()).toBe('')
      await pageA.goto(`${kefu.base}/console/#/inbox/${c.id}`)
      await tid(pageA, 'event').filter({ hasText: 'Left for offline follow-up' }).waitFor()
      await expect(tid(pageA, 'event').filter({ hasText: 'Left for offline follow-up' }).textContent()).resolves.toContain('outside business hours')
      await tid(pageA, 'tag').filter({ hasText: 'offline' }).waitFor()
      // Transferring there is still possible, but the agent sees it is closed.
      await until(async () => ((await tid(pageA, 'transfer-to').locator('option[value="g:billing"]').textContent()) ?? '').includes('outside business hours'), 'billing marked closed in the transfer list')
      await visitor.close()
    } finally {
      await other.stop()
    }
  })

  it("keeps an inbox's older UTC-offset hours until the admin picks a time zone", async () => {
    const old = await admin.call('POST', '/api/v1/inboxes', {
      name: 'Legacy hours',
      display_name: 'Legacy hours',
      welcome_text: 'Hello',
      allowed_origins: [],
      widget: { business_hours: { utc_offset_minutes: 480, periods: [{ day: 1, open: '09:00', close: '18:00' }] } },
    })
    await pageA.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(pageA, 'inbox-card').filter({ hasText: 'Legacy hours' }).click()
    const form = tid(pageA, 'inbox-form')
    await expect(form.locator('[data-test="hours-legacy"]').textContent()).resolves.toContain('UTC+08:00')
    await tid(pageA, 'save-inbox').click()
    await tid(pageA, 'inbox-saved').waitFor()
    // Saved unchanged, it stays in the older form.
    const kept = (await admin.call('GET', '/api/v1/inboxes')).items.find((i: any) => i.id === old.id).widget.business_hours
    expect(kept).toEqual({ utc_offset_minutes: 480, periods: [{ day: 1, open: '09:00', close: '18:00' }] })

    await form.locator('[data-test="hours-timezone"]').fill('Europe/Berlin')
    expect(await form.locator('[data-test="hours-legacy"]').count()).toBe(0)
    await form.locator('[data-test="hours-add-6"]').click()
    // Saturday until midnight (24:00, which a time input cannot hold): nothing more fits that day.
    const saturday = form.locator('[data-test="hours-day-6"]')
    expect(await saturday.locator('[data-test="hours-open"]').getAttribute('aria-label')).toBe('Sat opens')
    await saturday.locator('[data-test="hours-midnight"]').check()
    await expect(saturday.locator('[data-test="hours-close-midnight"]').textContent()).resolves.toBe('24:00')
    expect(await form.locator('[data-test="hours-add-6"]').isDisabled()).toBe(true)
    await tid(pageA, 'save-inbox').click()
    const zoned = await until(async () => {
      const bh = (await admin.call('GET', '/api/v1/inboxes')).items.find((i: any) => i.id === old.id).widget.business_hours
      return bh.timezone ? bh : null
    }, 'saved with the time zone')
    expect(zoned).toEqual({
      timezone: 'Europe/Berlin',
      periods: [
        { day: 1, open: '09:00', close: '18:00' },
        { day: 6, open: '09:00', close: '24:00' },
      ],
    })
    // Shown as saved: until midnight.
    await tid(pageA, 'inbox-saved').waitFor()
    await expect(saturday.locator('[data-test="hours-close-midnight"]').textContent()).resolves.toBe('24:00')
    expect(await saturday.locator('[data-test="hours-midnight"]').isChecked()).toBe(true)
  })

  it('keeps README screenshots in docs/img (make docs-img)', () => {
    if (!process.env.E2E_UPDATE_DOCS) return
    const img = resolve(__dirname, '../../docs/img')
    mkdirSync(img, { recursive: true })
    copyFileSync(join(outDir(), 'console-labels.png'), join(img, 'console-labels.png'))
  })
})

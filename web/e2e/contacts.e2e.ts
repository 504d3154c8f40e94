// Editing a contact in real browsers against a real kefu: an admin defines
// a custom attribute, edits a visitor's name, e-mail, phone and that
// attribute from the side panel, keeps a note; another agent's console shows
// the new name live in its list. The contacts page: finding contacts by
// words and attributes, a contact's page, merging a duplicate (whose
// visitor continues in the kept contact's chat), blocking a visitor.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Agent, browser, Kefu, outDir, Site, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
const HAN = { email: 'han.contacts@example.com', password: 'agent-pass-1', name: 'Han Meimei' }
let ctxA: BrowserContext
let ctxB: BrowserContext
const closers: (() => Promise<void>)[] = []

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
  await admin.call('POST', '/api/v1/users', { ...HAN, role: 'agent' })
  await admin.call('POST', '/api/v1/canned-replies', { shortcut: 'hi', content: '您好 {{contact.name}}，我是{{agent.name}}。{{contact.nickname}}' })
  for (const set of [(c: BrowserContext) => (ctxA = c), (c: BrowserContext) => (ctxB = c)]) {
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

async function consoleLogin(page: Page, email: string, password: string) {
  page.on('pageerror', (e) => console.error(`console page error (${email}):`, e))
  await page.goto(`${kefu.base}/console/`)
  await page.locator('input[name=email]').fill(email)
  await page.locator('input[name=password]').fill(password)
  await page.locator('button[type=submit]').click()
  await tid(page, 'nav-inbox').waitFor()
}

async function visitorWrites(text: string): Promise<{ conv: string; contact: string; token: string }> {
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
  return { conv: (await r.json()).message.conversation_id, contact: s.contact_id, token: s.visitor_token }
}

describe('contacts', () => {
  it('an admin defines an attribute, edits a contact from the panel and keeps a note; the other agent sees the name live', async () => {
    const pageA = await ctxA.newPage()
    await consoleLogin(pageA, kefu.adminEmail, kefu.adminPassword)
    await pageA.goto(`${kefu.base}/console/#/admin/attributes`)
    await tid(pageA, 'attribute-key').fill('plan')
    await tid(pageA, 'attribute-label').fill('Membership')
    await tid(pageA, 'attribute-add').click()
    await tid(pageA, 'attribute-row').filter({ hasText: 'plan' }).waitFor()

    const pageB = await ctxB.newPage()
    await consoleLogin(pageB, HAN.email, HAN.password)
    await tid(pageB, 'view-all').click()

    const { conv, contact } = await visitorWrites('Can I change my delivery address?')
    await tid(pageB, 'conversation-row').filter({ hasText: 'Can I change my delivery address?' }).waitFor()

    await pageA.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(pageA, 'contact-panel').waitFor()
    await tid(pageA, 'contact-edit').click()
    await tid(pageA, 'contact-name-input').fill('李雷 Li Lei')
    await tid(pageA, 'contact-email-input').fill('li.lei@example.com')
    await tid(pageA, 'contact-phone-input').fill('not a phone')
    await tid(pageA, 'attr-plan').fill('Gold')
    await tid(pageA, 'contact-save').click()
    // A bad phone is refused with a reason, and the form keeps what was typed.
    await tid(pageA, 'contact-problem').waitFor()
    expect(await tid(pageA, 'contact-name-input').inputValue()).toBe('李雷 Li Lei')
    await tid(pageA, 'contact-phone-input').fill('+86 138-0013-8000')
    await tid(pageA, 'contact-save').click()
    await until(async () => (await tid(pageA, 'contact-detail-name').textContent()) === '李雷 Li Lei', 'the saved name in the panel')
    expect(await tid(pageA, 'contact-detail-phone').textContent()).toBe('+86 138-0013-8000')
    expect(await tid(pageA, 'attr-value-plan').textContent()).toContain('Membership')
    expect(await tid(pageA, 'attr-value-plan').textContent()).toContain('Gold')
    // The header and the list show the name at once.
    await until(async () => (await tid(pageA, 'contact-name').textContent())?.includes('李雷 Li Lei'), 'the header')
    // The other agent's list too, without a reload.
    await tid(pageB, 'conversation-row').filter({ hasText: '李雷 Li Lei' }).waitFor()

    await tid(pageA, 'contact-note-input').fill('Prefers e-mail; VIP since 2024')
    await tid(pageA, 'contact-note-add').click()
    await tid(pageA, 'contact-note').filter({ hasText: 'Prefers e-mail' }).waitFor()
    const notes = await admin.call('GET', `/api/v1/contacts/${contact}/notes`)
    expect(notes.items[0].body).toBe('Prefers e-mail; VIP since 2024')
    const saved = await admin.call('GET', `/api/v1/contacts/${contact}`)
    expect(saved.attributes).toEqual({ plan: 'Gold' })
    expect(saved.email).toBe('li.lei@example.com')

    // A canned reply typed anywhere in the composer, with its variables filled (an unknown one stays as typed).
    await pageA.reload()
    await tid(pageA, 'composer').waitFor()
    await tid(pageA, 'composer').click()
    await pageA.keyboard.type('Sure! /hi')
    await tid(pageA, 'canned-suggestions').waitFor()
    await pageA.keyboard.press('Enter')
    expect(await tid(pageA, 'composer').inputValue()).toBe('Sure! 您好 李雷 Li Lei，我是Admin。{{contact.nickname}}')
  })
})

const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

/** A visitor in a real browser: opens the widget on the shop and writes `text`; returns the page and their contact id. */
async function widgetVisitor(path: string, text: string): Promise<{ page: Page; contact: string }> {
  const b = await browser()
  closers.push(b.close)
  const page = await b.context.newPage()
  await page.goto(site.embed(path, kefu.base, inbox.public_key))
  await w(page, '.launcher').click()
  await w(page, 'textarea').fill(text)
  await w(page, 'textarea').press('Enter')
  await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('Sent'), 'the message sent')
  const list = await admin.call('GET', '/api/v1/conversations?limit=200')
  const conv = list.items.find((c: any) => c.last_message?.excerpt === text)
  expect(conv, text).toBeTruthy()
  return { page, contact: conv.contact_id }
}

/** The admin's console in a browser of its own (each test starts logged out). */
async function adminConsole(): Promise<Page> {
  const b = await browser()
  closers.push(b.close)
  const page = await b.context.newPage()
  await consoleLogin(page, kefu.adminEmail, kefu.adminPassword)
  return page
}

async function named(contact: string, name: string, extra: Record<string, unknown> = {}) {
  await admin.call('PATCH', `/api/v1/contacts/${contact}`, { name, ...extra })
}

describe('the contacts page', () => {
  it('finds contacts by words and by attributes, and shows one contact with notes, business events and every conversation', async () => {
    await admin.call('PUT', '/api/v1/attributes/tier', { label: 'Tier', kind: 'text' })
    const a = await visitorWrites('我的订单还没发货')
    const b = await visitorWrites('Do you ship to Canada?')
    const c = await visitorWrites('Invoice please')
    await named(a.contact, '王小明', { email: 'xiaoming@example.com', attributes: { tier: 'Gold' } })
    await named(b.contact, 'Zhang Wei', { attributes: { tier: 'silver' } })
    await named(c.contact, 'Chen Jing', { attributes: { tier: 'gold' } })
    const key = await admin.call('POST', '/api/v1/api-keys', { name: 'ERP', scopes: ['events:write'] })
    const ev = await fetch(`${kefu.base}/api/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ contact: { email: 'xiaoming@example.com' }, type: 'order.shipped', title: 'Order 8801 shipped', data: { order_id: '8801' } }),
    })
    expect(ev.status).toBeLessThan(300)

    const page = await adminConsole()
    await tid(page, 'nav-contacts').click()
    await tid(page, 'contacts-page').waitFor()
    await tid(page, 'contact-row').filter({ hasText: 'Zhang Wei' }).waitFor()
    // Chinese words.
    await tid(page, 'contacts-search').fill('小明')
    await until(async () => (await tid(page, 'contact-row').allTextContents()).join('|').includes('王小明') && (await tid(page, 'contact-row').count()) === 1, 'only 王小明')
    // An attribute condition (case does not matter), then words on top of it.
    await tid(page, 'contacts-search').fill('')
    await tid(page, 'attr-filter-add').selectOption('tier')
    await tid(page, 'attr-filter-value').fill('GOLD')
    await tid(page, 'attr-filter-value').press('Enter')
    await until(async () => {
      const rows = (await tid(page, 'contact-row').allTextContents()).join('|')
      return rows.includes('王小明') && rows.includes('Chen Jing') && !rows.includes('Zhang Wei') && (await tid(page, 'contact-row').count()) === 2
    }, 'the two gold contacts')
    await tid(page, 'contacts-search').fill('chen')
    await until(async () => (await tid(page, 'contact-row').count()) === 1, 'gold and "chen"')
    await tid(page, 'contacts-clear').click()
    await tid(page, 'contact-row').filter({ hasText: 'Zhang Wei' }).waitFor()

    // A contact's page: details, the business event, a note kept, the conversation.
    await tid(page, 'contact-row').filter({ hasText: '王小明' }).click()
    await until(async () => (await tid(page, 'contact-title').textContent()) === '王小明', 'the contact page')
    await tid(page, 'business-event-title').filter({ hasText: 'Order 8801 shipped' }).waitFor()
    await tid(page, 'contact-note-input').fill('Called about the late parcel')
    await tid(page, 'contact-note-add').click()
    await tid(page, 'contact-note').filter({ hasText: 'late parcel' }).waitFor()
    expect(await tid(page, 'contact-conversation').count()).toBe(1)
    await tid(page, 'contact-conversation').click()
    await tid(page, 'message').filter({ hasText: '我的订单还没发货' }).waitFor()
    await page.close()
  })

  it("merges a duplicate into a contact; the duplicate's visitor goes on chatting as the kept contact", async () => {
    // The same customer twice: once by e-mail earlier (kept), once in the widget now (the duplicate).
    const kept = await visitorWrites('Earlier question about my invoice')
    await named(kept.contact, '李娜 Li Na', { email: 'li.na@example.com' })
    const dup = await widgetVisitor('/merge', 'hello from my phone')
    await named(dup.contact, 'Nana', { phone: '+86 139 0000 1111' })
    // One active conversation per inbox and contact: resolve the duplicate's first.
    const list = await admin.call('GET', `/api/v1/conversations?contact_id=${dup.contact}`)
    await admin.call('POST', `/api/v1/conversations/${list.items[0].id}/status`, { status: 'resolved' })

    const page = await adminConsole()
    page.on('dialog', (d) => void d.accept())
    await page.goto(`${kefu.base}/console/#/contacts/${kept.contact}`)
    await until(async () => (await tid(page, 'contact-title').textContent()) === '李娜 Li Na', 'the kept contact')
    await tid(page, 'contact-merge').click()
    await tid(page, 'merge-search').fill('nana')
    await tid(page, 'merge-candidate').filter({ hasText: 'Nana' }).click()
    await tid(page, 'merge-confirm').click()
    await tid(page, 'contact-notice').waitFor()
    // Both conversations are on the kept contact's page, the duplicate's phone filled in.
    await until(async () => (await tid(page, 'contact-conversation').count()) === 2, 'both conversations')
    expect(await tid(page, 'contact-detail-phone').textContent()).toBe('+86 139 0000 1111')
    expect(await tid(page, 'contact-detail-name').textContent()).toBe('李娜 Li Na')
    await page.setViewportSize({ width: 1280, height: 800 })
    await page.screenshot({ path: join(outDir(), 'contact-page.png') })
    // The duplicate is gone from the list.
    await tid(page, 'contacts-back').click()
    await tid(page, 'contact-row').filter({ hasText: '李娜 Li Na' }).waitFor()
    expect(await tid(page, 'contact-row').filter({ hasText: 'Nana' }).count()).toBe(0)

    // The visitor on the phone writes again: it lands with the kept contact.
    await w(dup.page, 'textarea').fill('still there?')
    await w(dup.page, 'textarea').press('Enter')
    await until(async () => {
      const convs = await admin.call('GET', `/api/v1/conversations?contact_id=${kept.contact}`)
      return convs.items.some((c: any) => c.last_message?.excerpt === 'still there?')
    }, 'the message in the kept contact\'s conversation')
    const old = await admin.call('GET', `/api/v1/contacts/${dup.contact}`)
    expect(old.merged_into).toBe(kept.contact)
    await page.close()
  })

  it('blocks a visitor: the widget closes their chat at once; unblocked, they can write again', async () => {
    const v = await widgetVisitor('/block', 'buy cheap followers!!!')
    const page = await adminConsole()
    await page.goto(`${kefu.base}/console/#/contacts/${v.contact}`)
    await tid(page, 'contact-block').click()
    await tid(page, 'block-ip').check()
    await tid(page, 'block-confirm').click()
    await tid(page, 'contact-blocked').waitFor()
    // The visitor is told, and has no message box.
    await until(async () => (await w(v.page, '.sub').textContent()) === 'This chat is not available to you', 'the refusal in the widget')
    expect(await w(v.page, 'textarea').isVisible()).toBe(false)
    // Listed as blocked; the address is on the admins' list.
    await tid(page, 'contacts-back').click()
    await tid(page, 'contacts-blocked-only').check()
    await until(async () => (await tid(page, 'contact-row').count()) === 1, 'one blocked contact')
    await tid(page, 'ip-blocks').locator('summary').click()
    await tid(page, 'ip-block').filter({ hasText: '127.0.0.1' }).waitFor()
    // Unblocked (the address with them), the visitor reloads and writes again.
    await page.goto(`${kefu.base}/console/#/contacts/${v.contact}`)
    await tid(page, 'contact-unblock').click()
    await until(async () => (await tid(page, 'contact-blocked').count()) === 0, 'unblocked')
    const blocks = await admin.call('GET', '/api/v1/ip-blocks')
    expect(blocks.items).toEqual([])
    await v.page.reload()
    await w(v.page, '.launcher').waitFor()
    if (!(await w(v.page, '.panel').isVisible())) await w(v.page, '.launcher').click()
    await w(v.page, 'textarea').waitFor()
    await w(v.page, 'textarea').fill('sorry about that')
    await w(v.page, 'textarea').press('Enter')
    await until(async () => (await w(v.page, '.msg.me .meta').last().textContent())?.includes('Sent'), 'sent again')
    await page.close()
  })
})

describe('docs', () => {
  it('keeps the README screenshot in docs/img (make docs-img)', () => {
    if (!process.env.E2E_UPDATE_DOCS) return
    const img = resolve(__dirname, '../../docs/img')
    mkdirSync(img, { recursive: true })
    copyFileSync(join(outDir(), 'contact-page.png'), join(img, 'console-contact.png'))
  })
})

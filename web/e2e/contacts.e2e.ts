// Editing a contact in real browsers against a real kefu: an admin defines
// a custom attribute, edits a visitor's name, e-mail, phone and that
// attribute from the side panel, keeps a note; another agent's console shows
// the new name live in its list.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, Kefu, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
let admin: Agent
let inbox: Record<string, any>
const HAN = { email: 'han.contacts@example.com', password: 'agent-pass-1', name: 'Han Meimei' }
let ctxA: BrowserContext
let ctxB: BrowserContext
const closers: (() => Promise<void>)[] = []

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)

beforeAll(async () => {
  await kefu.start()
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

async function visitorWrites(text: string): Promise<{ conv: string; contact: string }> {
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
  return { conv: (await r.json()).message.conversation_id, contact: s.contact_id }
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

// The pre-chat form and the contact panel share the workspace's attribute
// definitions (issue 12, item 2): an admin defines attributes in the console,
// the inbox's pre-chat form asks for them by key, the visitor's widget asks
// under the definition's label with an input of its type, and the agent sees
// the answers in the contact panel under the same labels, typed.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, Site, until } from './harness'

const kefu = new Kefu()
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let ctxA: BrowserContext
let ctxV: BrowserContext
const closers: (() => Promise<void>)[] = []

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
  for (const set of [(c: BrowserContext) => (ctxA = c), (c: BrowserContext) => (ctxV = c)]) {
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

describe('pre-chat fields that are attributes', () => {
  it("asks under the definition's label with a typed input; the agent sees the answers in the panel under that label", async () => {
    // The admin defines two attributes in the console.
    const pageA = await ctxA.newPage()
    await consoleLogin(pageA, kefu.base, kefu.adminEmail, kefu.adminPassword)
    await pageA.goto(`${kefu.base}/console/#/admin/attributes`)
    for (const [key, label, kind] of [
      ['order_count', 'Orders so far', 'number'],
      ['vip', 'VIP customer', 'boolean'],
    ]) {
      await tid(pageA, 'attribute-key').fill(key)
      await tid(pageA, 'attribute-label').fill(label)
      await tid(pageA, 'attribute-kind').selectOption(kind)
      await tid(pageA, 'attribute-add').click()
      await tid(pageA, 'attribute-row').filter({ hasText: key }).waitFor()
    }
    // The inbox's pre-chat form asks for them by key (its own labels are not what the visitor sees).
    const current = await admin.call('GET', `/api/v1/inboxes/${inbox.id}`)
    await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, {
      widget: {
        ...current.widget,
        offline: 'chat',
        prechat: {
          enabled: true,
          fields: [
            { key: 'name', label: 'Your name', kind: 'text', required: true },
            { key: 'order_count', label: 'orders?', kind: 'text', required: true },
            { key: 'vip', label: 'vip?', kind: 'text', required: false },
          ],
        },
      },
    })

    // The visitor: the definition's label, a number input, a checkbox.
    const visitor = await ctxV.newPage()
    await visitor.goto(site.embed('/prechat-attrs', kefu.base, inbox.public_key))
    await w(visitor, '.launcher').click()
    await w(visitor, '.form').waitFor()
    const text = (await w(visitor, '.form').textContent()) ?? ''
    expect(text).toContain('Orders so far *')
    expect(text).toContain('VIP customer')
    expect(text).not.toContain('orders?')
    expect(await w(visitor, '.form input[name=order_count]').getAttribute('type')).toBe('number')
    expect(await w(visitor, '.form input[name=vip]').getAttribute('type')).toBe('checkbox')
    await w(visitor, '.form input[name=name]').fill('Wang Fang')
    await w(visitor, '.form input[name=order_count]').fill('3')
    await w(visitor, '.form input[name=vip]').check()
    await w(visitor, '.form .btn').click()
    await w(visitor, 'textarea').fill('My third order is late')
    await w(visitor, 'textarea').press('Enter')

    const conv = await until(async () => {
      const list = await admin.call('GET', '/api/v1/conversations?limit=50&status=open,queued,pending')
      return list.items.find((c: any) => c.last_message?.excerpt === 'My third order is late')
    }, 'the conversation')
    // Stored typed, as the panel edits them.
    const contact = await admin.call('GET', `/api/v1/contacts/${conv.contact_id}`)
    expect(contact.attributes).toMatchObject({ order_count: 3, vip: true })

    // The agent's panel: under the definitions' labels.
    await pageA.goto(`${kefu.base}/console/#/inbox/${conv.id}`)
    await tid(pageA, 'contact-panel').waitFor()
    const orders = tid(pageA, 'attr-value-order_count')
    // (The definitions load beside the contact: the label may follow the key by a moment.)
    await until(async () => (await orders.textContent())?.includes('Orders so far'), "the definition's label")
    expect(await orders.textContent()).toContain('3')
    const vip = tid(pageA, 'attr-value-vip')
    expect(await vip.textContent()).toContain('VIP customer')
    expect(await vip.textContent()).toMatch(/yes/i)
  })
})

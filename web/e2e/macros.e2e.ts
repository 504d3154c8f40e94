// Macros and personal canned replies in real browsers against a real kefu:
// an admin builds a macro in the settings, an agent runs it from the
// conversation header (after a confirmation listing its steps), the
// visitor's widget shows the reply with the contact's name filled in and the
// console shows the label, priority and resolved status; the command bar
// offers the macro too. Then the agent keeps a personal canned reply with
// {{contact.name}}, uses it with / in the composer, and the visitor sees the
// expanded text. Admin, agent and visitor each in their own browser.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { join } from 'node:path'
import { Agent, browser, consoleLogin, Kefu, outDir, Site, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
const HAN = { email: 'han.macros@example.com', password: 'agent-pass-1', name: 'Han Meimei' }
let hanId: string
let ctxAdmin: BrowserContext
let ctxHan: BrowserContext
let ctxV: BrowserContext
let pageHan: Page
let visitor: Page
let conv: string
const closers: (() => Promise<void>)[] = []

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  // Assigned by hand and by the macro: without the fresh install's "everyone" group.
  for (const g of (await admin.call('GET', '/api/v1/groups')).items) await admin.call('DELETE', `/api/v1/groups/${g.id}`)
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  hanId = (await admin.call('POST', '/api/v1/users', { ...HAN, role: 'agent' })).id
  for (const set of [(c: BrowserContext) => (ctxAdmin = c), (c: BrowserContext) => (ctxHan = c), (c: BrowserContext) => (ctxV = c)]) {
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

async function widgetSays(text: string) {
  await w(visitor, 'textarea').fill(text)
  await w(visitor, 'textarea').press('Enter')
}

async function conversationWith(text: string): Promise<Record<string, any>> {
  return until(async () => {
    const list = await admin.call('GET', '/api/v1/conversations?limit=50&status=open,queued,pending,resolved')
    return list.items.find((c: any) => c.last_message?.excerpt === text)
  }, `the conversation with "${text}"`)
}

/** Adds an action of `type` at the end of the macro being edited; its row. */
async function addAction(page: Page, type: string) {
  await tid(page, 'macro-add-action').selectOption(type)
  return tid(page, 'macro-action').last()
}

describe('macros', () => {
  it('an admin builds a macro; an agent runs it from the header and the visitor gets the reply with the name filled in', async () => {
    const pageA = await ctxAdmin.newPage()
    await consoleLogin(pageA, kefu.base, kefu.adminEmail, kefu.adminPassword)
    await pageA.goto(`${kefu.base}/console/#/admin/macros`)
    await tid(pageA, 'macro-new').click()
    await tid(pageA, 'macro-name').fill('Refund')
    await (await addAction(pageA, 'reply')).locator('[data-test="action-content"]').fill('您好 {{contact.name}}，退款已受理。')
    await (await addAction(pageA, 'add_label')).locator('[data-test="action-label"]').fill('refund')
    await (await addAction(pageA, 'set_priority')).locator('[data-test="action-priority"]').selectOption('high')
    await addAction(pageA, 'status') // resolved by default
    // An action added too early moves into place: assign before resolve.
    await addAction(pageA, 'assign') // "me": whoever runs it
    await tid(pageA, 'action-up').last().click()
    expect(await tid(pageA, 'macro-action').evaluateAll((els) => els.map((e) => e.getAttribute('data-type')))).toEqual(['reply', 'add_label', 'set_priority', 'assign', 'status'])
    await pageA.screenshot({ path: join(outDir(), 'macros-editor.png') })
    await tid(pageA, 'macro-save').click()
    await tid(pageA, 'macro-row').filter({ hasText: 'Refund' }).waitFor()
    const saved = (await admin.call('GET', '/api/v1/macros')).items
    expect(saved.map((m: any) => [m.name, m.personal, m.actions.length])).toEqual([['Refund', false, 5]])
    expect(saved[0].actions[3]).toEqual({ type: 'assign', to: 'me' })

    visitor = await ctxV.newPage()
    await visitor.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await w(visitor, '.launcher').click()
    await widgetSays('I would like a refund 我要退款')
    const c = await conversationWith('I would like a refund 我要退款')
    conv = c.id
    await admin.call('PATCH', `/api/v1/contacts/${c.contact_id}`, { name: '韩梅梅' })

    pageHan = await ctxHan.newPage()
    await consoleLogin(pageHan, kefu.base, HAN.email, HAN.password)
    await pageHan.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(pageHan, 'conversation').waitFor()
    await tid(pageHan, 'macros-menu').click()
    await tid(pageHan, 'macro-item').filter({ hasText: 'Refund' }).click()
    // The confirmation says what it will do, step by step.
    const steps = await tid(pageHan, 'macro-confirm-action').allTextContents()
    expect(steps).toEqual(['Reply: “您好 {{contact.name}}，退款已受理。”', 'Add the label refund', 'Priority: High', 'Assign to whoever runs it', 'Status: Resolved'])
    await pageHan.screenshot({ path: join(outDir(), 'macros-confirm.png') })
    await tid(pageHan, 'macro-run').click()

    await w(visitor, '.msg.them .bubble').filter({ hasText: '您好 韩梅梅，退款已受理。' }).waitFor()
    await until(async () => (await tid(pageHan, 'conv-status').textContent())?.includes('Resolved'), 'resolved in the console')
    await until(async () => (await tid(pageHan, 'conv-priority').textContent())?.includes('High'), 'high priority in the console')
    await tid(pageHan, 'tag').filter({ hasText: 'refund' }).waitFor()
    expect(await tid(pageHan, 'macro-result').textContent()).toContain('“Refund” done.')
    const after = await admin.call('GET', `/api/v1/conversations/${conv}`)
    expect([after.status, after.priority, after.tags, after.assignee_id]).toEqual(['resolved', 'high', ['refund'], hanId])
    // The reply came from Han, as if she had typed it.
    const msgs = (await admin.call('GET', `/api/v1/conversations/${conv}/messages`)).items
    expect(msgs.find((m: any) => m.content === '您好 韩梅梅，退款已受理。')?.sender).toEqual({ kind: 'agent', id: hanId })
  })

  it('the command bar offers the macro on the open conversation, through the same confirmation', async () => {
    await tid(pageHan, 'messages').click()
    await pageHan.keyboard.press('Control+k')
    const bar = pageHan.getByRole('dialog', { name: 'Command bar' })
    await bar.waitFor()
    await pageHan.keyboard.type('refund')
    const first = bar.getByRole('option').first()
    await until(async () => (await first.textContent())?.includes('Run macro: Refund'), 'the macro first')
    await pageHan.keyboard.press('Enter')
    await bar.waitFor({ state: 'hidden' })
    await tid(pageHan, 'macro-confirm').waitFor()
    await tid(pageHan, 'macro-cancel').click()
    await tid(pageHan, 'macro-confirm').waitFor({ state: 'hidden' })
  })
})

describe('canned-reply variables', () => {
  it('an agent keeps a personal reply with {{contact.name}}, uses it with /, and the visitor reads the expanded text', async () => {
    await pageHan.goto(`${kefu.base}/console/#/settings`)
    const form = tid(pageHan, 'add-my-canned')
    await form.locator('input[name=shortcut]').fill('thx')
    await form.locator('textarea[name=content]').fill('Thanks {{contact.name}}, anything else? {{agent.name}}')
    await form.locator('button[type=submit]').click()
    await tid(pageHan, 'my-canned-row').filter({ hasText: '/thx' }).waitFor()
    const mine = (await admin.call('GET', '/api/v1/canned-replies')).items
    expect(mine.length, 'the admin does not see Han’s personal reply').toBe(0)

    // The visitor writes again: the resolved conversation reopens with Han.
    await widgetSays('One more thing')
    await pageHan.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(pageHan, 'message').filter({ hasText: 'One more thing' }).waitFor()
    await tid(pageHan, 'composer').pressSequentially('/th')
    await tid(pageHan, 'canned-suggestions').waitFor()
    expect(await tid(pageHan, 'canned-suggestions').textContent()).toContain('/thx')
    await tid(pageHan, 'canned-personal').first().waitFor()
    await tid(pageHan, 'composer').press('Enter')
    expect(await tid(pageHan, 'composer').inputValue()).toBe('Thanks 韩梅梅, anything else? Han Meimei')
    await tid(pageHan, 'composer').press('Enter')
    await w(visitor, '.msg.them .bubble').filter({ hasText: 'Thanks 韩梅梅, anything else? Han Meimei' }).waitFor()
  })
})

// The agent console in a real browser against a real kefu: an agent logged
// into /console/ in one browser, a visitor on a shop page embedding the
// widget in another; then the admin pages.
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, Kefu, outDir, Site, until } from './harness'

// Many visitors from one address in the 200-conversation test.
// 250 visitors from this one address in a burst: room for their connections
// (the per-address connection budget is for hostile clients; tests/hostile.rs).
const kefu = new Kefu({
  KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000',
  KEFU_LIMITS__CONNECTIONS_PER_IP_PER_SECOND: '1000',
  KEFU_LIMITS__CONNECTIONS_PER_IP_BURST: '1000',
})
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let agentCtx: BrowserContext
let visitorCtx: BrowserContext
const closers: (() => Promise<void>)[] = []

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  // These tests assign by hand and by rules: without the fresh install's "everyone" group
  // (which also clears the default group; lifecycle.e2e.ts tests that one).
  for (const g of (await admin.call('GET', '/api/v1/groups')).items) await admin.call('DELETE', `/api/v1/groups/${g.id}`)
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  await admin.call('POST', '/api/v1/canned-replies', { shortcut: 'thanks', content: 'Thank you for waiting! 感谢您的耐心等待。' })
  for (const set of [(c: BrowserContext) => (agentCtx = c), (c: BrowserContext) => (visitorCtx = c)]) {
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

const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)
const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)

async function consoleLogin(page: Page, email: string, password: string) {
  await page.goto(`${kefu.base}/console/`)
  await page.locator('input[name=email]').fill(email)
  await page.locator('input[name=password]').fill(password)
  await page.locator('button[type=submit]').click()
  await tid(page, 'nav-inbox').waitFor()
}

function shot(page: Page, name: string) {
  return page.screenshot({ path: join(outDir(), name) })
}

describe('console', () => {
  let agentPage: Page
  let visitorPage: Page

  it('shows a new conversation live, replies, and both sides see typing', async () => {
    agentPage = await agentCtx.newPage()
    agentPage.on('pageerror', (e) => console.error('console page error:', e))
    await consoleLogin(agentPage, kefu.adminEmail, kefu.adminPassword)
    await tid(agentPage, 'view-all').click()
    await expect(tid(agentPage, 'conversation-row').count()).resolves.toBe(0)

    visitorPage = await visitorCtx.newPage()
    await visitorPage.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await w(visitorPage, '.launcher').click()
    await w(visitorPage, 'textarea').fill('你好，my parcel has not arrived')
    await w(visitorPage, 'textarea').press('Enter')

    // The conversation appears in the console without a reload.
    const row = tid(agentPage, 'conversation-row').first()
    await row.waitFor()
    await expect(row.textContent()).resolves.toContain('my parcel has not arrived')
    await row.click()
    await tid(agentPage, 'message').filter({ hasText: 'my parcel has not arrived' }).waitFor()
    await expect(tid(agentPage, 'contact-page').textContent()).resolves.toContain('/shop')

    // Visitor typing → the console shows it.
    await w(visitorPage, 'textarea').pressSequentially('still there?', { delay: 20 })
    await tid(agentPage, 'visitor-typing').waitFor()

    // Agent typing → the widget shows it; then the reply arrives.
    await tid(agentPage, 'composer').pressSequentially('Let me check', { delay: 20 })
    await w(visitorPage, '.typing').waitFor({ state: 'visible' })
    await tid(agentPage, 'composer').fill('')
    // A canned reply through /shortcut.
    await tid(agentPage, 'composer').pressSequentially('/than')
    await tid(agentPage, 'canned-suggestions').waitFor()
    await tid(agentPage, 'composer').press('Enter')
    await expect(tid(agentPage, 'composer').inputValue()).resolves.toContain('Thank you for waiting')
    await tid(agentPage, 'composer').press('Enter')
    await w(visitorPage, '.msg.them .bubble').filter({ hasText: 'Thank you for waiting' }).waitFor()
    // The visitor's read receipt reaches the console.
    await tid(agentPage, 'read-mark').first().waitFor({ timeout: 15_000 })

    // A private note never reaches the visitor.
    await tid(agentPage, 'mode-note').click()
    await tid(agentPage, 'composer').fill('VIP customer, check the warehouse')
    await tid(agentPage, 'composer').press('Enter')
    await tid(agentPage, 'message').filter({ hasText: 'VIP customer' }).waitFor()
    await tid(agentPage, 'mode-reply').click()
    await w(visitorPage, 'textarea').fill('')
    await w(visitorPage, 'textarea').fill('ok')
    await w(visitorPage, 'textarea').press('Enter')
    await tid(agentPage, 'message').filter({ hasText: /^.*ok$/ }).first().waitFor()
    expect(await w(visitorPage, '.msg').filter({ hasText: 'VIP customer' }).count()).toBe(0)
  })

  it('shows markup as text and images on both sides', async () => {
    await w(visitorPage, 'textarea').fill('<script>window.pwned=1</script><b>bold?</b>')
    await w(visitorPage, 'textarea').press('Enter')
    const m = tid(agentPage, 'message').filter({ hasText: '<script>window.pwned=1</script>' })
    await m.waitFor()
    expect(await m.locator('b').count()).toBe(0)
    expect(await agentPage.evaluate(() => (window as any).pwned)).toBeUndefined()

    // The agent sends an image; it shows in the console and in the widget.
    const png = resolve(__dirname, 'fixtures/parcel.png')
    await tid(agentPage, 'file-input').setInputFiles(png)
    await tid(agentPage, 'image').first().waitFor()
    await w(visitorPage, '.msg.them .bubble img').waitFor()
    await shot(agentPage, 'console-inbox.png')
  })

  it('resolves and reopens, with the status shown live', async () => {
    await tid(agentPage, 'resolve').click()
    await until(async () => (await tid(agentPage, 'conv-status').textContent())?.includes('Resolved'), 'resolved')
    await tid(agentPage, 'reopen').click()
    await until(async () => (await tid(agentPage, 'conv-status').textContent())?.includes('Open'), 'reopened')
  })

  it('stays light with 250 open conversations: only visible rows rendered, more on scroll', async () => {
    const visitor = async (i: number) => {
      const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ inbox_key: inbox.public_key }),
      }).then((r) => r.json())
      const r = await fetch(`${kefu.base}/api/v1/widget/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
        body: JSON.stringify({ client_msg_id: `bulk-${i}`, content: `question number ${i}` }),
      })
      expect(r.status).toBe(201)
    }
    for (let i = 0; i < 250; i += 25) await Promise.all(Array.from({ length: 25 }, (_, k) => visitor(i + k)))
    await agentPage.goto(`${kefu.base}/console/#/inbox`)
    await agentPage.reload()
    await tid(agentPage, 'conversation-row').first().waitFor()
    // The newest came in live or with the first page; the DOM holds a window, not the list.
    // (the last batch of 25 was sent concurrently: any of 225–249 may be the newest)
    await until(async () => /question number (22[5-9]|2[34]\d)/.test((await tid(agentPage, 'conversation-row').first().textContent()) ?? ''), 'newest first')
    const rendered = await tid(agentPage, 'conversation-row').count()
    expect(rendered).toBeLessThan(40)
    // Scrolling to the end pages the rest in (50 per request) until all 251 are known.
    const rows = agentPage.locator('.convlist .rows')
    const rowHeight = await tid(agentPage, 'conversation-row').first().evaluate((el) => (el as HTMLElement).offsetHeight)
    await until(
      async () => {
        await rows.evaluate((el) => (el.scrollTop = el.scrollHeight))
        return (await rows.evaluate((el) => el.scrollHeight)) >= 251 * rowHeight
      },
      'all conversations paged in',
      20_000,
    )
    // The oldest (the first batch of 25, in any order among themselves) are at the very end:
    // scrolled to, they are rendered.
    await until(async () => {
      await rows.evaluate((el) => (el.scrollTop = el.scrollHeight))
      // (the excerpt alone: a row's text also holds its unread badge)
      const oldest = agentPage.locator('[data-test="conversation-row"] .what', { hasText: /^question number (\d|1\d|2[0-4])$/ })
      return (await oldest.count()) > 0
    }, 'the oldest conversations rendered at the end')
    expect(await tid(agentPage, 'conversation-row').count()).toBeLessThan(40)
  })

  it('edits routing rules with validation and a dry run, and they route the next conversation', async () => {
    await agentPage.goto(`${kefu.base}/console/#/admin/groups`)
    const form = tid(agentPage, 'add-group')
    await form.locator('input[name=name]').fill('billing')
    await tid(agentPage, `member-${kefu.adminEmail}`).check()
    await form.locator('button[type=submit]').click()
    await tid(agentPage, 'group-row').first().waitFor()

    await agentPage.goto(`${kefu.base}/console/#/admin/routing`)
    // The current rules (an example before the first save) are loaded and checked.
    await tid(agentPage, 'rules-ok').waitFor()
    const editor = tid(agentPage, 'rules-editor')
    await agentPage.waitForLoadState('networkidle')
    const broken = 'rule "refunds"\nwhen conversation.first_message contains "refund" &&\nthen route_to("billing") end'
    await editor.fill(broken)
    await until(async () => {
      if ((await editor.inputValue()) !== broken) await editor.fill(broken)
      return (await tid(agentPage, 'rules-error').textContent({ timeout: 1000 }))?.startsWith('3:1: expected a value')
    }, 'a positioned error')
    expect(await tid(agentPage, 'rules-save').isDisabled()).toBe(true)
    await editor.fill('rule "refunds"\nwhen conversation.first_message contains "refund" || conversation.first_message contains "退款"\nthen route_to("billing"), set_priority("high")\nend')
    await tid(agentPage, 'rules-ok').waitFor()
    // The simulator: which rule, which agent, why.
    await tid(agentPage, 'sim-message').fill('I need a refund')
    await until(async () => (await tid(agentPage, 'sim-route').textContent())?.includes('billing'), 'the simulated route')
    expect(await tid(agentPage, 'sim-route').textContent()).toContain('Admin')
    await tid(agentPage, 'sim-message').fill('hello')
    await until(async () => (await tid(agentPage, 'sim-trace').textContent())?.includes('is false'), 'an explanation')
    await shot(agentPage, 'console-routing.png')
    await tid(agentPage, 'rules-save').click()
    await tid(agentPage, 'rules-saved').waitFor()

    // The next conversation with "refund" (a new visitor) goes to the admin.
    const session = await fetch(`${kefu.base}/api/v1/widget/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inbox_key: inbox.public_key }),
    }).then((r) => r.json())
    const sent = await fetch(`${kefu.base}/api/v1/widget/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${session.visitor_token}` },
      body: JSON.stringify({ client_msg_id: 'refund-1', content: 'refund for order 42' }),
    })
    expect(sent.status).toBe(201)
    const me = (await admin.call('GET', '/api/v1/me')).user.id
    await until(async () => {
      const list = await admin.call('GET', `/api/v1/conversations?assignee=${me}&limit=50`)
      return list.items.some((c: any) => c.last_message?.excerpt === 'refund for order 42')
    }, 'the conversation assigned by the rules')

    // Grab mode (抢单): the group offers new conversations; the agent takes one from the list.
    const billing = (await admin.call('GET', '/api/v1/groups')).items.find((g: any) => g.name === 'billing')
    await admin.call('PUT', `/api/v1/groups/${billing.id}`, { name: 'billing', strategy: 'grab', members: billing.members })
    await agentPage.goto(`${kefu.base}/console/#/inbox`)
    await tid(agentPage, 'view-all').click()
    const s2 = await fetch(`${kefu.base}/api/v1/widget/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inbox_key: inbox.public_key }),
    }).then((r) => r.json())
    await fetch(`${kefu.base}/api/v1/widget/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${s2.visitor_token}` },
      body: JSON.stringify({ client_msg_id: 'refund-2', content: 'refund, grab me' }),
    })
    await tid(agentPage, 'offer').first().waitFor()
    // Offers float over the list (they do not push it down) and collapse.
    const listTop = (await tid(agentPage, 'conversation-row').first().boundingBox())?.y
    await tid(agentPage, 'offers-toggle').click()
    expect(await tid(agentPage, 'offer').count()).toBe(0)
    expect((await tid(agentPage, 'conversation-row').first().boundingBox())?.y).toBe(listTop)
    await tid(agentPage, 'offers-toggle').click()
    await tid(agentPage, 'offer').first().waitFor()
    // The live queue view shows it waiting in the group's line.
    await agentPage.goto(`${kefu.base}/console/#/admin/groups`)
    await until(async () => (await tid(agentPage, 'waiting-billing').textContent())?.trim().startsWith('1'), 'one waiting')
    await agentPage.goto(`${kefu.base}/console/#/inbox`)
    await tid(agentPage, 'claim').first().click()
    await tid(agentPage, 'message').filter({ hasText: 'refund, grab me' }).waitFor()
    expect(await tid(agentPage, 'offer').count()).toBe(0)
    await agentPage.goto(`${kefu.base}/console/#/admin/groups`)
    await until(async () => (await tid(agentPage, 'waiting-billing').textContent())?.trim().startsWith('0'), 'nobody waiting')
  })

  it('lets an admin create an agent and an inbox, and the new agent log in', async () => {
    await agentPage.goto(`${kefu.base}/console/#/admin/agents`)
    const form = tid(agentPage, 'add-agent')
    await form.locator('input[name=name]').fill('韩梅梅')
    await form.locator('input[name=email]').fill('han.meimei@example.com')
    await form.locator('input[name=password]').fill('agent-pass-1')
    await form.locator('button[type=submit]').click()
    await tid(agentPage, 'agent-row').filter({ hasText: 'han.meimei@example.com' }).waitFor()

    await agentPage.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(agentPage, 'add-inbox').click()
    const inboxForm = tid(agentPage, 'inbox-form')
    await inboxForm.locator('input[name=name]').fill('App')
    await inboxForm.locator('input[name=display_name]').fill('App 客服')
    await inboxForm.locator('textarea[name=welcome_text]').fill('欢迎！Welcome!')
    await inboxForm.locator('textarea[name=allowed_origins]').fill('https://app.example.com')
    await tid(agentPage, 'widget-preview').filter({ hasText: '欢迎！Welcome!' }).waitFor()
    await tid(agentPage, 'save-inbox').click()
    await tid(agentPage, 'snippet').waitFor()
    await expect(tid(agentPage, 'snippet').textContent()).resolves.toContain('/widget.js" data-inbox="')
    await tid(agentPage, 'inbox-card').filter({ hasText: 'App' }).waitFor()
    await shot(agentPage, 'console-admin-inbox.png')
    const inboxes = await admin.call('GET', '/api/v1/inboxes')
    expect(inboxes.items.find((i: any) => i.name === 'App')?.allowed_origins).toEqual(['https://app.example.com'])

    await tid(agentPage, 'logout').click()
    await agentPage.locator('input[name=email]').waitFor()
    await consoleLogin(agentPage, 'han.meimei@example.com', 'agent-pass-1')
    expect(await tid(agentPage, 'nav-admin').count()).toBe(0)
    await tid(agentPage, 'view-all').click()
    await tid(agentPage, 'conversation-row').first().waitFor()
  })

  it('keeps README screenshots in docs/img (make docs-img)', () => {
    if (!process.env.E2E_UPDATE_DOCS) return
    const img = resolve(__dirname, '../../docs/img')
    mkdirSync(img, { recursive: true })
    for (const f of ['console-inbox.png', 'console-admin-inbox.png', 'console-routing.png']) copyFileSync(join(outDir(), f), join(img, f))
  })
})

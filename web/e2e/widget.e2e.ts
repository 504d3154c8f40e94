// The visitor widget in a real browser against a real kefu: a pretend shop on
// another origin embeds it; an agent (over the REST API, until the console
// exists) answers.
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { BrowserContext, Frame, Page } from 'playwright-core'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, Kefu, outDir, Site, sleep, until } from './harness'

const kefu = new Kefu()
const site = new Site()
let agent: Agent
let inbox: Record<string, any>
let context: BrowserContext
let closeBrowser: () => Promise<void>
/** The agent's live feed: being connected also makes them online. */
let agentWs: WebSocket
const frames: any[] = []

beforeAll(async () => {
  await kefu.start()
  await site.start()
  agent = new Agent(kefu.base)
  await agent.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await agent.firstInbox()
  // Only the shop may embed this inbox.
  await agent.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { allowed_origins: [site.origin], widget: { offline: 'chat' } })
  agentWs = new WebSocket(kefu.base.replace('http', 'ws') + '/ws')
  agentWs.on('message', (d) => frames.push(JSON.parse(String(d))))
  await new Promise((r) => agentWs.once('open', r))
  agentWs.send(JSON.stringify({ type: 'auth', v: 1, token: agent.token }))
  await until(() => frames.some((f) => f.type === 'hello'), 'agent hello')
  ;({ context, close: closeBrowser } = await browser())
})

afterAll(async () => {
  agentWs?.close()
  await closeBrowser?.()
  await site.stop()
  await kefu.dispose()
})

/** The widget's shadow root content, through Playwright's shadow-piercing CSS. */
function w(page: Page | Frame, sel: string) {
  return page.locator(`#kefu-widget ${sel}`)
}

async function openShop(path = '/shop'): Promise<Page> {
  const url = site.embed(path, kefu.base, inbox.public_key)
  const page = await context.newPage()
  page.on('pageerror', (e) => console.error('page error:', e))
  await page.goto(url)
  await w(page, '.launcher').waitFor()
  return page
}

async function send(page: Page, text: string) {
  await w(page, 'textarea').fill(text)
  await w(page, 'textarea').press('Enter')
}

/** The visitor's conversation as the agent sees it. */
async function agentMessages(conv: string): Promise<any[]> {
  return (await agent.call('GET', `/api/v1/conversations/${conv}/messages?after_seq=0&limit=200`)).items
}

async function latestConversation(): Promise<string> {
  return until(async () => (await agent.call('GET', '/api/v1/conversations?limit=1')).items[0]?.id, 'a conversation')
}

let cmid = 0
async function agentSays(conv: string, content: string) {
  await agent.call('POST', `/api/v1/conversations/${conv}/messages`, { client_msg_id: `agent-${++cmid}-${Date.now()}`, content })
}

describe('widget', () => {
  let page: Page
  let conv: string

  it('opens, sends, gets a reply, shows typing and read state', async () => {
    page = await openShop()
    mkdirSync(outDir(), { recursive: true })
    await page.screenshot({ path: join(outDir(), 'widget-closed.png') })
    await w(page, '.launcher').click()
    await w(page, '.panel').waitFor()
    await send(page, '你好，我想问一下订单 #1234 的物流')
    conv = await latestConversation()
    await until(async () => (await agentMessages(conv)).some((m) => m.content.includes('#1234')), 'the agent to see the message')
    await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('Sent'), 'the sent state')

    // The agent types, then answers.
    await agent.call('POST', `/api/v1/conversations/${conv}/typing`, { on: true })
    await w(page, '.typing').waitFor({ state: 'visible' })
    await agentSays(conv, 'Hello! Your parcel left Hangzhou this morning. 您好，包裹今天上午已从杭州发出。')
    await w(page, '.msg.them .bubble', ).filter({ hasText: 'parcel left Hangzhou' }).waitFor()
    expect(await w(page, '.typing').isHidden()).toBe(true)

    // The agent reads the visitor's message: the widget says so.
    const last = (await agentMessages(conv)).filter((m) => m.sender.kind === 'visitor').pop()
    await agent.call('POST', `/api/v1/conversations/${conv}/read`, { seq: last.seq })
    await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('Read'), 'the read state')

    // The visitor typing reaches the agent (over the agent's WebSocket).
    await w(page, 'textarea').pressSequentially('Thanks', { delay: 20 })
    await until(() => frames.some((f) => f.type === 'typing' && f.sender_kind === 'visitor' && f.on), 'the visitor typing at the agent')
    expect(await w(page, '.sub').textContent()).toContain('few minutes')
    await w(page, 'textarea').fill('')
    await page.screenshot({ path: join(outDir(), 'widget-open.png') })
  })

  it('shows the history after a reload', async () => {
    await page.reload()
    await w(page, '.panel').waitFor() // it stays open across reloads
    await w(page, '.msg.them .bubble').filter({ hasText: 'parcel left Hangzhou' }).waitFor()
    expect(await w(page, '.msg.me .bubble').filter({ hasText: '#1234' }).count()).toBe(1)
  })

  it('renders markup in messages as text', async () => {
    const evil = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'
    await send(page, evil)
    await agentSays(conv, '<b>bold?</b>')
    await w(page, '.msg.them .bubble').filter({ hasText: '<b>bold?</b>' }).waitFor()
    await w(page, '.msg.me .bubble').filter({ hasText: '<script>' }).waitFor()
    expect(await page.evaluate(() => (window as any).__pwned)).toBeUndefined()
    expect(await w(page, '.bubble b').count()).toBe(0)
  })

  it('uploads an image and shows it on both sides', async () => {
    const png = resolve(__dirname, 'fixtures/parcel.png')
    await w(page, 'input[type=file]').setInputFiles(png)
    await w(page, '.preview img').waitFor()
    await w(page, '.preview .btn').click()
    const img = w(page, '.msg.me .bubble img')
    await until(async () => (await img.last().getAttribute('src'))?.startsWith('blob:'), 'the image to show')
    await until(async () => (await img.last().evaluate((i: HTMLImageElement) => i.naturalWidth)) > 0, 'the image to load')
    const m = await until(async () => (await agentMessages(conv)).find((x) => x.kind === 'image'), 'the agent to get the image')
    const r = await fetch(`${kefu.base}/api/v1/attachments/${m.attachment.id}`, { headers: { authorization: `Bearer ${agent.token}` } })
    expect(r.headers.get('content-type')).toBe('image/png')
  })

  it('sends other files as downloads', async () => {
    await w(page, 'input[type=file]').setInputFiles({ name: 'invoice.txt', mimeType: 'text/plain', buffer: Buffer.from('Invoice #1234\n') })
    await w(page, '.msg.me .file').filter({ hasText: 'invoice.txt' }).waitFor()
    const m = await until(async () => (await agentMessages(conv)).find((x) => x.kind === 'file'), 'the agent to get the file')
    const r = await fetch(`${kefu.base}/api/v1/attachments/${m.attachment.id}`, { headers: { authorization: `Bearer ${agent.token}` } })
    expect(r.headers.get('content-disposition')).toMatch(/^attachment/)
  })

  it('counts unread while closed, flashes the title, and tells the agent once read', async () => {
    await w(page, '.x').click()
    await w(page, '.panel').waitFor({ state: 'hidden' })
    const title0 = await page.title()
    await agentSays(conv, 'Are you still there?')
    await w(page, '.badge').filter({ hasText: '1' }).waitFor()
    await until(async () => (await page.title()).includes('New message'), 'the title to flash')
    const before = frames.length
    await w(page, '.launcher').click()
    await w(page, '.badge').waitFor({ state: 'hidden' })
    await until(() => frames.slice(before).some((f) => f.type === 'read' && f.reader_kind === 'visitor'), "the visitor's read receipt at the agent")
    await until(async () => (await page.title()) === title0, 'the title to settle')
  })

  it('keeps a message typed while the server is down and delivers it once', async () => {
    await kefu.stop()
    await w(page, '.conn').waitFor({ state: 'visible' })
    await send(page, 'typed while offline')
    await w(page, '.msg.pending .bubble').filter({ hasText: 'typed while offline' }).waitFor()
    // Even a reload while offline keeps it (the outbox is in localStorage).
    await page.reload()
    await w(page, '.msg.pending .bubble').filter({ hasText: 'typed while offline' }).waitFor()
    await sleep(500)
    await kefu.start()
    await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('Sent'), 'the offline message to be sent', 30_000)
    const got = (await agentMessages(conv)).filter((m) => m.content === 'typed while offline')
    expect(got.length).toBe(1)
    expect(await w(page, '.msg .bubble').filter({ hasText: 'typed while offline' }).count()).toBe(1)
  })

  it('keeps several tabs in sync', async () => {
    const other = await context.newPage()
    await other.goto(page.url())
    await w(other, '.panel').waitFor()
    await send(page, 'from the first tab')
    await w(other, '.msg.me .bubble').filter({ hasText: 'from the first tab' }).waitFor()
    await agentSays(conv, 'seen in both tabs')
    await w(other, '.msg.them .bubble').filter({ hasText: 'seen in both tabs' }).waitFor()
    await w(page, '.msg.them .bubble').filter({ hasText: 'seen in both tabs' }).waitFor()
    await other.close()
  })
})

describe('fallback', () => {
  it('works over SSE + HTTP POST when /ws is blocked', async () => {
    const ctx = await browser()
    try {
      // A proxy that kills WebSockets: the connection opens and closes at once.
      await ctx.context.routeWebSocket(/\/ws$/, (ws) => ws.close())
      const page = await ctx.context.newPage()
      const url = site.embed('/blocked', kefu.base, inbox.public_key)
      await page.goto(url)
      await w(page, '.launcher').click()
      await send(page, 'over the fallback')
      await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('Sent'), 'the fallback send')
      const c = await latestConversation()
      const m = (await agentMessages(c)).filter((x) => x.content === 'over the fallback')
      expect(m.length).toBe(1)
      await agent.call('POST', `/api/v1/conversations/${c}/typing`, { on: true })
      await w(page, '.typing').waitFor({ state: 'visible' })
      await agentSays(c, 'reply through SSE')
      await w(page, '.msg.them .bubble').filter({ hasText: 'reply through SSE' }).waitFor()
      expect(await page.evaluate(() => localStorage.getItem(Object.keys(localStorage).find((k) => k.endsWith(':sse'))!))).toBeTruthy()
    } finally {
      await ctx.close()
    }
  })
})

describe('origins', () => {
  it('refuses a site the inbox does not allow', async () => {
    const other = new Site()
    await other.start()
    try {
      const page = await context.newPage()
      await page.goto(other.embed('/x', kefu.base, inbox.public_key))
      await w(page, '.launcher').click()
      await w(page, '.sub').filter({ hasText: 'may not show the chat' }).waitFor()
      await page.close()
    } finally {
      await other.stop()
    }
  })
})

afterAll(() => {
  // The README shows these; `make docs-img` refreshes the committed copies
  // (a plain test run leaves the work tree alone).
  if (!process.env.E2E_UPDATE_DOCS) return
  const docs = resolve(__dirname, '../../docs/img')
  mkdirSync(docs, { recursive: true })
  for (const f of ['widget-closed.png', 'widget-open.png', 'chat-page.png']) {
    try {
      copyFileSync(join(outDir(), f), join(docs, f))
    } catch {
      /* the test that makes it failed */
    }
  }
})

describe('forms, page API and the standalone page', () => {
  async function inboxWith(name: string, widget: Record<string, unknown>) {
    const created = await agent.call('POST', '/api/v1/inboxes', { name, display_name: `${name} help`, allowed_origins: [site.origin], welcome_text: 'Welcome!', widget })
    return created
  }

  it('asks the pre-chat questions, then chats; the page API opens, identifies and listens', async () => {
    const ib = await inboxWith('Prechat', {
      color: '#0f766e',
      offline: 'chat',
      prechat: { enabled: true, fields: [
        { key: 'name', label: 'Your name', required: true },
        { key: 'order_no', label: 'Order number' },
      ] },
    })
    const stub = `<script>window.kefu = window.kefu || function () { (kefu.q = kefu.q || []).push(arguments) };
kefu('on', 'message', function (m) { (window.__got = window.__got || []).push(m.content) }); kefu('open')</script>`
    const page = await context.newPage()
    await page.goto(site.embed('/prechat', kefu.base, ib.public_key, stub))
    // kefu('open') was queued before the widget loaded.
    await w(page, '.form').waitFor()
    await w(page, '.form .btn').click()
    await w(page, '.form .err').filter({ hasText: 'fill in' }).waitFor()
    await w(page, '.form input[name=name]').fill('Han Meimei')
    await w(page, '.form input[name=order_no]').fill('A-77')
    await w(page, '.form .btn').click()
    await w(page, 'textarea').waitFor()
    await send(page, 'Where is A-77?')
    const c = await until(async () => (await agent.call('GET', `/api/v1/conversations?inbox_id=${ib.id}`)).items[0]?.id, 'the conversation')
    const conv = await agent.call('GET', `/api/v1/conversations/${c}`)
    const contact = await agent.call('GET', `/api/v1/contacts/${conv.contact_id}`)
    expect(contact.name).toBe('Han Meimei')
    expect(contact.attributes.order_no).toBe('A-77')
    await agentSays(c, 'On its way!')
    await until(() => page.evaluate(() => (window as any).__got?.includes('On its way!')), "kefu('on', 'message') to fire")
    await page.evaluate(() => (window as any).kefu('identify', { plan: 'gold' }))
    await until(async () => (await agent.call('GET', `/api/v1/contacts/${conv.contact_id}`)).attributes.plan === 'gold', 'identify to reach the contact')
    // The color came from the inbox's settings.
    const bg = await w(page, '.head').evaluate((e) => getComputedStyle(e).backgroundColor)
    expect(bg).toBe('rgb(15, 118, 110)')
    await page.close()
  })

  it('offers the offline form outside business hours; it becomes a conversation', async () => {
    const ib = await inboxWith('Offline', { offline: 'form', business_hours: { utc_offset_minutes: 0, periods: [] } })
    const page = await context.newPage()
    await page.goto(site.embed('/offline', kefu.base, ib.public_key))
    await w(page, '.launcher').click()
    await w(page, '.form').filter({ hasText: 'offline' }).waitFor()
    expect(await w(page, '.sub').textContent()).toContain('away')
    await w(page, '.form input[name=email]').fill('lucy@example.com')
    await w(page, '.form textarea[name=message]').fill('Please call me back about a refund.')
    await page.screenshot({ path: join(outDir(), 'widget-offline-form.png') })
    await w(page, '.form .btn').click()
    await w(page, '.note').filter({ hasText: 'received your message' }).waitFor()
    const c = await until(async () => {
      const items = (await agent.call('GET', `/api/v1/conversations?inbox_id=${ib.id}`)).items
      return items[0]
    }, 'the offline message as a conversation')
    const msgs = await agentMessages(c.id)
    expect(msgs.map((m: any) => m.content)).toEqual(['Please call me back about a refund.'])
    expect((await agent.call('GET', `/api/v1/contacts/${c.contact_id}`)).email).toBe('lucy@example.com')
    await page.close()
  })

  it('serves the standalone chat page under its strict CSP, in Chinese for zh browsers', async () => {
    const ctx = await browser()
    try {
      const page = await ctx.context.newPage()
      await page.setViewportSize({ width: 420, height: 720 })
      const problems: string[] = []
      page.on('console', (m) => m.type() === 'error' && problems.push(m.text()))
      await page.addInitScript(() => Object.defineProperty(navigator, 'language', { get: () => 'zh-CN' }))
      await page.goto(`${kefu.base}/chat/${inbox.public_key}`)
      await w(page, 'textarea[placeholder="输入消息…"]').waitFor()
      expect(await page.title()).toBe(inbox.display_name)
      await send(page, '从独立页面发来的消息')
      await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('已发送'), 'the sent state in Chinese')
      // Switch to English.
      await w(page, '.hb').first().click()
      await w(page, 'textarea[placeholder="Write a message…"]').waitFor()
      await w(page, '.hb').first().click()
      await page.screenshot({ path: join(outDir(), 'chat-page.png') })
      expect(problems).toEqual([])
    } finally {
      await ctx.close()
    }
  })
})

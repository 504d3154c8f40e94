// What a new team hit in its first days (issue 12, item 8), one test per bug,
// each against the real binary in real browsers: an admin's console (in
// Chinese where the bug was about Chinese), a visitor on a shop page.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { Agent, Kefu, Site, until } from './harness'

// A small upload limit, so that the "too large" message can be seen; the
// loopback address as a trusted proxy, so that a test can be rate-limited as
// a client address of its own (X-Forwarded-For) without locking out the others.
const kefu = new Kefu({ KEFU_LIMITS__MAX_UPLOAD_BYTES: '2048', KEFU_TRUSTED_PROXIES: '["127.0.0.1/32"]' })
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
const closers: (() => Promise<void>)[] = []

/** A fresh Chromium context: its own locale, time zone and screen size. */
async function context(opts: { locale?: string; timezoneId?: string; width?: number; height?: number; headers?: Record<string, string> } = {}): Promise<BrowserContext> {
  const dir = mkdtempSync(join(tmpdir(), 'kefu-chromium-'))
  const ctx = await chromium.launchPersistentContext(dir, {
    executablePath: process.env.E2E_CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    viewport: { width: opts.width ?? 1200, height: opts.height ?? 800 },
    locale: opts.locale ?? 'en-US',
    timezoneId: opts.timezoneId,
    extraHTTPHeaders: opts.headers,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--no-first-run', '--disable-sync'],
  })
  closers.push(async () => {
    await ctx.close()
    rmSync(dir, { recursive: true, force: true })
  })
  return ctx
}

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

async function consoleAs(ctx: BrowserContext, lang: 'zh-CN' | 'en'): Promise<Page> {
  const page = await ctx.newPage()
  await page.addInitScript((l) => localStorage.setItem('kefu.console.lang', l), lang)
  await page.goto(`${kefu.base}/console/`)
  await page.locator('input[name=email]').fill(kefu.adminEmail)
  await page.locator('input[name=password]').fill(kefu.adminPassword)
  await page.locator('button[type=submit]').click()
  await tid(page, 'nav-inbox').waitFor()
  return page
}

/** A visitor's conversation with one message; returns the visitor's page. */
async function visitorWrites(ctx: BrowserContext, path: string, text: string): Promise<Page> {
  const page = await ctx.newPage()
  await page.goto(site.embed(path, kefu.base, inbox.public_key))
  await w(page, '.launcher').click()
  await w(page, 'textarea').fill(text)
  await w(page, 'textarea').press('Enter')
  await until(async () => (await w(page, '.msg.me .meta').last().textContent())?.includes('Sent'), 'the message sent')
  return page
}

async function openConversationWith(page: Page, text: string) {
  await page.goto(`${kefu.base}/console/#/inbox`)
  await tid(page, 'view-all').click()
  await tid(page, 'conversation-row').filter({ hasText: text }).first().click()
  await tid(page, 'message').filter({ hasText: text }).first().waitFor()
}

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
})

afterEach(async () => {
  // A test that stopped the server and failed must not take the others down with it.
  if (!kefu.proc) await kefu.start()
})

afterAll(async () => {
  for (const c of closers) await c()
  await site.stop()
  await kefu.dispose()
})

describe('a fresh install', () => {
  it('shows an admin a setup checklist with the widget snippet instead of a blank console', async () => {
    const page = await consoleAs(await context(), 'en')
    const list = tid(page, 'setup-checklist')
    await list.waitFor()
    await expect(tid(page, 'setup-snippet').textContent()).resolves.toContain(`data-inbox="${inbox.public_key}"`)
    await tid(page, 'setup-agents').waitFor()
    await tid(page, 'setup-hours').waitFor()
  })

  it('opens the routing page with an example that is valid as it is', async () => {
    const page = await consoleAs(await context(), 'en')
    await page.goto(`${kefu.base}/console/#/admin/routing`)
    await tid(page, 'rules-editor').waitFor()
    await until(async () => (await tid(page, 'rules-editor').inputValue()).includes('rule'), 'the example')
    // The draft is checked by the simulator as it loads: the example must
    // compile and run on a workspace without groups (a simulated route shows).
    await tid(page, 'sim-route').waitFor({ timeout: 10_000 })
    expect(await tid(page, 'rules-error').count()).toBe(0)
    await tid(page, 'rules-ok').waitFor()
  })

  it("starts new business hours in the admin's own time zone", async () => {
    const page = await consoleAs(await context({ timezoneId: 'Asia/Shanghai' }), 'en')
    await page.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(page, 'inbox-card').first().click()
    const form = tid(page, 'inbox-form')
    await form.locator('[data-test="hours-enabled"]').check()
    await expect(form.locator('[data-test="hours-timezone"]').inputValue()).resolves.toBe('Asia/Shanghai')
    await tid(page, 'save-inbox').click()
    await tid(page, 'inbox-saved').waitFor()
    const saved = await admin.call('GET', `/api/v1/inboxes/${inbox.id}`)
    expect(saved.widget.business_hours.timezone).toBe('Asia/Shanghai')
    await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { business_hours: null, offline: 'chat' } })
  })
})

describe('the Chinese console', () => {
  it('names an inbox 名称 and shows pre-chat field kinds in Chinese', async () => {
    const page = await consoleAs(await context({ locale: 'zh-CN' }), 'zh-CN')
    await page.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(page, 'inbox-card').first().click()
    const form = tid(page, 'inbox-form')
    await expect(form.locator('label').filter({ has: page.locator('input[name=name]') }).textContent()).resolves.toContain('名称')
    expect(await form.textContent()).not.toContain('姓名')
    await form.locator('button', { hasText: '+' }).last().click()
    const kinds = await form.locator('fieldset select').last().locator('option').allTextContents()
    expect(kinds).toEqual(['文本', '邮箱', '电话', '多行文本'])
  })

  it('shows image excerpts in Chinese in the list', async () => {
    await visitorWrites(await context(), '/img', 'a photo follows')
    const page = await consoleAs(await context({ locale: 'zh-CN' }), 'zh-CN')
    await openConversationWith(page, 'a photo follows')
    // The agent sends an image: the newest message of the conversation.
    await tid(page, 'file-input').setInputFiles({ name: 'p.png', mimeType: 'image/png', buffer: PNG })
    const row = tid(page, 'conversation-row').filter({ hasText: '[图片]' })
    await row.first().waitFor()
    expect(await tid(page, 'conversation-row').filter({ hasText: '[image]' }).count()).toBe(0)
  })

  it('shows a file as [文件] in the list and in a desktop notification, never the raw excerpt', async () => {
    const vpage = await visitorWrites(await context(), '/doc', 'an invoice follows')
    const ctx = await context({ locale: 'zh-CN' })
    // Desktop notifications recorded; the console "in the background" (headless is never hidden).
    await ctx.addInitScript(() => {
      const win = window as any
      win.__hidden = false
      win.__shown = []
      Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => win.__hidden })
      class Recorder {
        static permission = 'granted'
        static requestPermission = async () => 'granted'
        onclick: unknown = null
        close() {}
        constructor(title: string, opts?: { body?: string }) {
          win.__shown.push({ title, body: opts?.body ?? '' })
        }
      }
      win.Notification = Recorder
    })
    const page = await consoleAs(ctx, 'zh-CN')
    await page.goto(`${kefu.base}/console/#/inbox`)
    await tid(page, 'view-all').click()
    await tid(page, 'conversation-row').filter({ hasText: 'an invoice follows' }).first().waitFor()
    await page.evaluate(() => ((window as any).__hidden = true))
    // The visitor sends a file (small: this server's upload limit is 2 KB).
    await w(vpage, 'input[type=file]').setInputFiles({ name: 'invoice.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n%%EOF\n') })
    await tid(page, 'conversation-row').filter({ hasText: '[文件]' }).first().waitFor()
    expect(await tid(page, 'conversation-row').filter({ hasText: '[file]' }).count()).toBe(0)
    const seen = await until(
      async () => (await page.evaluate(() => (window as any).__shown as { title: string; body: string }[])).find((n) => n.body.includes('文件')),
      'a desktop notification for the file',
    )
    expect(seen!.body).toBe('[文件]')
    expect(seen!.body).not.toContain('invoice.pdf')
  })

  it('translates server errors and the lost connection, says what to do, and clears them', async () => {
    const vctx = await context()
    await visitorWrites(vctx, '/offline', 'is anybody there')
    const page = await consoleAs(await context({ locale: 'zh-CN' }), 'zh-CN')
    await openConversationWith(page, 'is anybody there')
    await tid(page, 'resolve').waitFor()

    // The server goes away: Resolve fails with a message in Chinese, not "TypeError: Failed to fetch".
    await kefu.stop()
    await tid(page, 'resolve').click()
    const alert = page.locator('[role=alert]').filter({ hasText: '无法连接服务器' })
    await alert.waitFor()
    expect(await page.locator('body').textContent()).not.toContain('Failed to fetch')
    // While the console reconnects, the presence menu is not shown green ("Online").
    await tid(page, 'conn').waitFor()
    const colour = await tid(page, 'presence').evaluate((e) => getComputedStyle(e).color)
    expect(colour).not.toBe('rgb(74, 194, 107)')
    // Nor does it read "● 在线": it says the status is unknown.
    const shownStatus = () => tid(page, 'presence').evaluate((e) => (e as HTMLSelectElement).selectedOptions[0]?.textContent ?? '')
    await until(async () => (await shownStatus()).includes('状态未知'), 'the presence menu says it does not know')
    expect(await shownStatus()).not.toContain('在线')

    // Back: the error goes by itself.
    await kefu.start()
    await tid(page, 'conn').waitFor({ state: 'detached', timeout: 30_000 })
    await alert.waitFor({ state: 'detached', timeout: 10_000 })
    await until(async () => (await tid(page, 'presence').evaluate((e) => getComputedStyle(e).color)) === 'rgb(74, 194, 107)', 'green again')
    expect(await shownStatus()).toBe('● 在线')

    // Too large a file: in Chinese, with the limit.
    await tid(page, 'file-input').setInputFiles({ name: 'big.bin', mimeType: 'application/octet-stream', buffer: Buffer.alloc(4096, 1) })
    await page.locator('[role=alert]').filter({ hasText: '2 KB' }).waitFor()
    expect(await page.locator('[role=alert]').textContent()).toContain('上传上限')

    // A canned reply whose shortcut exists: said in Chinese, with what to do.
    await admin.call('POST', '/api/v1/canned-replies', { shortcut: 'hello', content: 'Hello!' })
    await page.goto(`${kefu.base}/console/#/admin/canned`)
    const f = tid(page, 'add-canned')
    await f.locator('input[name=shortcut]').fill('hello')
    await f.locator('textarea[name=content]').fill('again')
    await f.locator('button[type=submit]').click()
    await page.locator('.error').filter({ hasText: '快捷词' }).waitFor()
    expect(await page.locator('.error').textContent()).not.toMatch(/exists/)
  })

  it('says in Chinese how long to wait after too many logins, and clears it once the wait is over', async () => {
    const ip = '203.0.113.9'
    // This address uses up its login attempts (10 a minute) with a wrong password.
    for (let i = 0; i < 10; i++) {
      await fetch(`${kefu.base}/api/v1/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-forwarded-for': ip },
        body: JSON.stringify({ email: 'nobody@example.com', password: 'wrong-password' }),
      })
    }
    const page = await (await context({ locale: 'zh-CN', headers: { 'x-forwarded-for': ip } })).newPage()
    await page.addInitScript(() => localStorage.setItem('kefu.console.lang', 'zh-CN'))
    await page.goto(`${kefu.base}/console/`)
    await page.locator('input[name=email]').fill(kefu.adminEmail)
    await page.locator('input[name=password]').fill(kefu.adminPassword)
    await page.locator('button[type=submit]').click()
    const alert = page.locator('[role=alert]').filter({ hasText: '请求过于频繁' })
    await alert.waitFor()
    const text = (await alert.textContent()) ?? ''
    expect(text).toMatch(/等待 \d+ 秒/)
    expect(text).not.toMatch(/too many|slow down/i)
    // The wait is over: the message goes by itself, and logging in works again.
    await alert.waitFor({ state: 'detached', timeout: 15_000 })
    await page.locator('button[type=submit]').click()
    await tid(page, 'nav-inbox').waitFor()
  })

  it('says in Chinese that an agent with this e-mail exists when one is added twice', async () => {
    const page = await consoleAs(await context({ locale: 'zh-CN' }), 'zh-CN')
    await page.goto(`${kefu.base}/console/#/admin/agents`)
    const f = tid(page, 'add-agent')
    const add = async () => {
      await f.locator('input[name=name]').fill('Twice')
      await f.locator('input[name=email]').fill('twice@example.com')
      await f.locator('input[name=password]').fill('password-twice')
      await f.locator('button[type=submit]').click()
    }
    await add()
    await tid(page, 'agent-row').filter({ hasText: 'twice@example.com' }).waitFor()
    await add()
    const err = page.locator('.error[role=alert]').filter({ hasText: '此邮箱已有账号' })
    await err.waitFor()
    expect(await err.textContent()).not.toMatch(/already exists/)
  })

  it('asks before deleting a group or a canned reply', async () => {
    await admin.call('POST', '/api/v1/groups', { name: 'billing' })
    const page = await consoleAs(await context(), 'en')
    const questions: string[] = []
    // First dismissed (nothing goes), then accepted.
    let accept = false
    page.on('dialog', (d) => {
      questions.push(d.message())
      void (accept ? d.accept() : d.dismiss())
    })
    await page.goto(`${kefu.base}/console/#/admin/groups`)
    const row = page.locator('[data-test="group-row"][data-group="billing"]')
    await row.locator('[data-test="group-delete"]').click()
    await until(() => questions.length === 1, 'the question')
    expect(questions[0]).toContain('billing')
    expect((await admin.call('GET', '/api/v1/groups')).items.map((g: any) => g.name)).toContain('billing')
    accept = true
    await row.locator('[data-test="group-delete"]').click()
    await until(async () => !(await admin.call('GET', '/api/v1/groups')).items.some((g: any) => g.name === 'billing'), 'the group deleted')

    accept = false
    await page.goto(`${kefu.base}/console/#/admin/canned`)
    await tid(page, 'canned-delete').first().click()
    await until(() => questions.length === 3, 'the question')
    expect(questions[2]).toContain('/hello')
    expect((await admin.call('GET', '/api/v1/canned-replies')).items.length).toBe(1)
  })
})

describe('conversations', () => {
  it('refuses a reply over the length limit before sending, with a counter, and keeps the text', async () => {
    const vctx = await context()
    await visitorWrites(vctx, '/long', 'tell me everything')
    const page = await consoleAs(await context(), 'en')
    await openConversationWith(page, 'tell me everything')
    const long = 'x'.repeat(5001)
    await tid(page, 'composer').fill(long)
    await expect(tid(page, 'composer-limit').textContent()).resolves.toContain('5000')
    await expect(tid(page, 'send').isDisabled()).resolves.toBe(true)
    await tid(page, 'composer').press('Enter')
    await page.waitForTimeout(300)
    expect(await tid(page, 'composer').inputValue()).toBe(long)
    expect(await tid(page, 'pending').count()).toBe(0)
    // Near the limit: the counter shows; under it the reply goes.
    await tid(page, 'composer').fill('y'.repeat(4500))
    await expect(tid(page, 'composer-limit').textContent()).resolves.toContain('4500 / 5000')
    await tid(page, 'composer').press('Enter')
    await tid(page, 'message').filter({ hasText: 'yyyyyyyy' }).waitFor()
    await expect(tid(page, 'composer').getAttribute('aria-label')).resolves.toBeTruthy()
  })

  it('keeps "Read" on the visitor\'s message after the visitor reloads', async () => {
    const vctx = await context()
    const vp = await visitorWrites(vctx, '/reload', 'read me please')
    const page = await consoleAs(await context(), 'en')
    await openConversationWith(page, 'read me please')
    await until(async () => (await w(vp, '.msg.me .meta').last().textContent())?.includes('Read'), 'the read state')
    await vp.reload()
    await w(vp, '.msg.me .bubble').filter({ hasText: 'read me please' }).waitFor()
    await until(async () => (await w(vp, '.msg.me .meta').last().textContent())?.includes('Read'), 'the read state after the reload')
    expect(await w(vp, '.msg.me .meta').last().textContent()).not.toContain('Sent')
  })
})

describe('the widget and the demo page', () => {
  it('closes on Esc, and its dialog and message box have names', async () => {
    const page = await (await context()).newPage()
    await page.goto(site.embed('/a11y', kefu.base, inbox.public_key))
    await w(page, '.launcher').click()
    const panel = w(page, '.panel')
    await panel.waitFor()
    // Named by the inbox once the session has loaded (until then "Chat with us").
    await until(async () => (await panel.getAttribute('aria-label')) === inbox.display_name, 'the dialog named by the inbox')
    const label = await w(page, 'textarea').getAttribute('aria-label')
    expect(label).toBeTruthy()
    expect(label).not.toBe(await w(page, 'textarea').getAttribute('placeholder'))
    await w(page, 'textarea').press('Escape')
    await panel.waitFor({ state: 'hidden' })
  })

  for (const size of [{ width: 360, height: 640 }, { width: 390, height: 844 }]) {
    it(`keeps Send reachable with the widget open full-screen on a ${size.width}×${size.height} phone`, async () => {
      const page = await (await context(size)).newPage()
      await page.goto(site.embed('/phone', kefu.base, inbox.public_key))
      await w(page, '.launcher').click()
      await w(page, '.panel').waitFor()
      await w(page, 'textarea').fill('phone send ' + size.width)
      // The launcher is out of the way: a tap on Send's spot sends instead of closing the chat.
      await expect(w(page, '.launcher').isVisible()).resolves.toBe(false)
      const send = w(page, '.send')
      const box = await send.boundingBox()
      expect(box).not.toBeNull()
      await page.mouse.click(box!.x + box!.width / 2, box!.y + box!.height / 2)
      await until(async () => (await w(page, '.msg.me').last().textContent())?.includes('phone send ' + size.width), 'the message sent')
      await expect(w(page, '.panel').isVisible()).resolves.toBe(true)
      // The header's close button closes it; the launcher is back.
      await w(page, '.head .x').click()
      await w(page, '.launcher').waitFor()
    })
  }

  it('fits /demo into a 360 px wide phone', async () => {
    const page = await (await context({ width: 360, height: 640 })).newPage()
    await page.goto(`${kefu.base}/demo`)
    await page.locator('.demo-snippet').waitFor()
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    expect(width).toBeLessThanOrEqual(360)
  })
})

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

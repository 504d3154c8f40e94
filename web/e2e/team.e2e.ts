// Team basics in real browsers against a fresh kefu: an @mention in a note
// notifies the colleague (the bell, live, and a desktop notification while
// their console is in the background), notification preferences decide
// which visitor messages alert an agent, and an agent's picture shows in
// the console and, where the inbox says so, beside their replies in the
// widget. Two agents' consoles and a visitor's widget, each in its own browser.
//
// Desktop notifications are observed through the browser's own API: the
// page's `Notification` is replaced by a recorder and `document.hidden` is
// switched by the test (headless Chromium is never "in the background").
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { copyFileSync, mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { Agent, browser, consoleLogin, Kefu, outDir, Site, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
const site = new Site()
let admin: Agent
let adminName: string
let inbox: Record<string, any>
const LI = { email: 'li.lei@example.com', password: 'agent-pass-1', name: 'Li Lei' }
let ctxA: BrowserContext
let ctxB: BrowserContext
let ctxV: BrowserContext
let pageA: Page
let pageB: Page
let visitor: Page
const closers: (() => Promise<void>)[] = []
// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64')

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

/** Records desktop notifications and lets the test put the page "in the background". */
function spyOnNotifications(ctx: BrowserContext) {
  return ctx.addInitScript(() => {
    const win = window as any
    win.__hidden = false
    win.__shown = []
    Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => win.__hidden })
    class Recorder {
      static permission = 'granted'
      static requestPermission = async () => 'granted'
      onclick: unknown = null
      constructor(title: string, opts?: { body?: string }) {
        win.__shown.push({ title, body: opts?.body ?? '' })
      }
    }
    win.Notification = Recorder
  })
}
const shown = (page: Page) => page.evaluate(() => (window as any).__shown as { title: string; body: string }[])
const setHidden = (page: Page, hidden: boolean) => page.evaluate((h) => ((window as any).__hidden = h), hidden)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  adminName = (await admin.call('GET', '/api/v1/me')).user.name
  // Conversations stay unassigned (no default group): the scope test needs them so.
  for (const g of (await admin.call('GET', '/api/v1/groups')).items) await admin.call('DELETE', `/api/v1/groups/${g.id}`)
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  await admin.call('POST', '/api/v1/users', { ...LI, role: 'agent', capacity: 5 })
  for (const set of [(c: BrowserContext) => (ctxA = c), (c: BrowserContext) => (ctxB = c), (c: BrowserContext) => (ctxV = c)]) {
    const b = await browser()
    set(b.context)
    closers.push(b.close)
  }
  await spyOnNotifications(ctxB)
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
    const list = await admin.call('GET', '/api/v1/conversations?limit=50&status=open,queued,pending')
    return list.items.find((c: any) => c.last_message?.excerpt === text)
  }, `the conversation with "${text}"`)
}

describe('team basics', () => {
  let conv: string

  it('a mention in a note notifies the other agent: the bell, live, and a desktop notification', async () => {
    pageA = await ctxA.newPage()
    await consoleLogin(pageA, kefu.base, kefu.adminEmail, kefu.adminPassword)
    pageB = await ctxB.newPage()
    await consoleLogin(pageB, kefu.base, LI.email, LI.password)
    visitor = await ctxV.newPage()
    await visitor.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await w(visitor, '.launcher').click()
    await widgetSays('My order 6610 never arrived 订单没到')
    conv = (await conversationWith('My order 6610 never arrived 订单没到')).id

    await pageA.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(pageA, 'conversation').waitFor()
    await tid(pageA, 'mode-note').click()
    await setHidden(pageB, true)
    // "@li" offers Li Lei; Enter completes the name.
    await tid(pageA, 'composer').pressSequentially('Can you check this? @li')
    await tid(pageA, 'mention-suggestions').filter({ hasText: LI.name }).waitFor()
    await tid(pageA, 'composer').press('Enter')
    expect(await tid(pageA, 'composer').inputValue()).toBe(`Can you check this? @${LI.name} `)
    await tid(pageA, 'composer').pressSequentially('请看一下')
    await tid(pageA, 'send').click()
    await tid(pageA, 'mention').filter({ hasText: `@${LI.name}` }).waitFor()

    // Li Lei's console: the bell counts it, a desktop notification was shown.
    await until(async () => (await tid(pageB, 'bell-count').textContent()) === '1', 'the bell counts the mention')
    const seen = await until(async () => (await shown(pageB)).find((n) => n.title.includes('mentioned you')), 'a desktop notification')
    expect(seen!.title).toBe(`${adminName} mentioned you`)
    expect(seen!.body).toContain('请看一下')
    await setHidden(pageB, false)
    await tid(pageB, 'bell').click()
    const item = tid(pageB, 'notification').filter({ hasText: 'mentioned you' })
    await item.waitFor()
    // The tabs count the new conversation (all, unassigned).
    await until(async () => (await tid(pageB, 'count-all').textContent()) === '1', 'the All tab counts it')
    await pageB.screenshot({ path: join(outDir(), 'console-team.png') })
    await item.locator('a').click()
    await tid(pageB, 'conversation').waitFor()
    // The note, with the mention of them highlighted; read now.
    await pageB.locator('[data-test="mention"].me').filter({ hasText: `@${LI.name}` }).waitFor()
    await until(async () => (await tid(pageB, 'bell-count').count()) === 0, 'the bell is read')
    // The author got nothing.
    expect(await tid(pageA, 'bell-count').count()).toBe(0)
  })

  it('notification preferences decide which visitor messages alert an agent', async () => {
    await pageB.goto(`${kefu.base}/console/#/settings`)
    await tid(pageB, 'notification-prefs').waitFor()
    await tid(pageB, 'notify-scope-assigned').check()
    await tid(pageB, 'prefs-saved').waitFor()
    // Kept on the server: a reload shows it.
    await pageB.reload()
    await tid(pageB, 'notification-prefs').waitFor()
    expect(await tid(pageB, 'notify-scope-assigned').isChecked()).toBe(true)
    await pageB.goto(`${kefu.base}/console/#/inbox`)
    await tid(pageB, 'conversation-row').first().waitFor()

    const before = (await shown(pageB)).length
    await setHidden(pageB, true)
    // Unassigned, and Li Lei wants only their own: the message arrives, no alert.
    await widgetSays('Hello? 有人吗')
    await tid(pageB, 'conversation-row').filter({ hasText: 'Hello? 有人吗' }).waitFor()
    await pageB.waitForTimeout(300)
    expect((await shown(pageB)).length).toBe(before)

    // All conversations: the next one alerts.
    await setHidden(pageB, false)
    await pageB.goto(`${kefu.base}/console/#/settings`)
    await tid(pageB, 'notify-scope-all').check()
    await tid(pageB, 'prefs-saved').waitFor()
    await pageB.goto(`${kefu.base}/console/#/inbox`)
    await tid(pageB, 'conversation-row').first().waitFor()
    await setHidden(pageB, true)
    await widgetSays('Still waiting 还在等')
    const alert = await until(async () => (await shown(pageB)).find((n) => n.body.includes('Still waiting')), 'an alert for every conversation')
    expect(alert!.title).toContain('New message')

    // Desktop off: the message arrives, no desktop notification.
    await setHidden(pageB, false)
    await pageB.goto(`${kefu.base}/console/#/settings`)
    await tid(pageB, 'notify-desktop').uncheck()
    await tid(pageB, 'prefs-saved').waitFor()
    await pageB.goto(`${kefu.base}/console/#/inbox`)
    await tid(pageB, 'conversation-row').first().waitFor()
    const count = (await shown(pageB)).length
    await setHidden(pageB, true)
    await widgetSays('Anyone? 在吗')
    await tid(pageB, 'conversation-row').filter({ hasText: 'Anyone? 在吗' }).waitFor()
    await pageB.waitForTimeout(300)
    expect((await shown(pageB)).length).toBe(count)
    await setHidden(pageB, false)
  })

  it('"my groups" alerts for nobody\'s conversations but not for a colleague\'s, and the sound follows its switch', async () => {
    // The page's AudioContext records the beeps (an oscillator started per alert).
    await ctxB.addInitScript(() => {
      const win = window as any
      win.__beeps = 0
      class FakeAudio {
        currentTime = 0
        destination = {}
        createOscillator() {
          return { frequency: { value: 0 }, connect: (n: unknown) => n, start: () => win.__beeps++, stop: () => undefined }
        }
        createGain() {
          return { gain: { setValueAtTime: () => undefined, exponentialRampToValueAtTime: () => undefined }, connect: (n: unknown) => n }
        }
      }
      win.AudioContext = FakeAudio
    })
    // A new document takes the recorder (the console's own routes do not reload it).
    await pageB.reload()
    await tid(pageB, 'nav-inbox').waitFor()
    const beeps = () => pageB.evaluate(() => (window as any).__beeps as number)
    const adminId = (await admin.call('GET', '/api/v1/me')).user.id
    const prefs = async (set: () => Promise<void>) => {
      await setHidden(pageB, false)
      await pageB.goto(`${kefu.base}/console/#/settings`)
      await tid(pageB, 'notification-prefs').waitFor()
      await set()
      await tid(pageB, 'prefs-saved').waitFor()
      await pageB.goto(`${kefu.base}/console/#/inbox`)
      await tid(pageB, 'conversation-row').first().waitFor()
      await setHidden(pageB, true)
    }
    await prefs(async () => {
      await tid(pageB, 'notify-scope-groups').check()
      await tid(pageB, 'notify-desktop').check()
      await tid(pageB, 'notify-sound').check()
    })

    // The admin's conversation: Li Lei's groups do not hold it, no alert, no sound.
    await admin.call('POST', `/api/v1/conversations/${conv}/assign`, { assignee_id: adminId })
    await widgetSays('Only for the admin 找管理员')
    await tid(pageB, 'conversation-row').filter({ hasText: 'Only for the admin' }).waitFor()
    await pageB.waitForTimeout(300)
    expect((await shown(pageB)).some((n) => n.body.includes('Only for the admin'))).toBe(false)
    expect(await beeps()).toBe(0)

    // Nobody's again: open to anyone, so it alerts, with a sound.
    await admin.call('POST', `/api/v1/conversations/${conv}/assign`, { assignee_id: null })
    await widgetSays('Anyone free? 有空吗')
    await until(async () => (await shown(pageB)).some((n) => n.body.includes('Anyone free?')), 'an alert for a conversation of nobody')
    await until(async () => (await beeps()) === 1, 'one beep')

    // Sound off: the desktop notification still comes, silently.
    await prefs(() => tid(pageB, 'notify-sound').uncheck())
    await widgetSays('Quietly please 小声点')
    await until(async () => (await shown(pageB)).some((n) => n.body.includes('Quietly please')), 'the alert without sound')
    await pageB.waitForTimeout(300)
    expect(await beeps()).toBe(1)
    await prefs(() => tid(pageB, 'notify-sound').check())
    await setHidden(pageB, false)
  })

  it("an agent's picture shows in the console and beside their replies in the widget where the inbox shows agents", async () => {
    await pageB.goto(`${kefu.base}/console/#/settings`)
    await tid(pageB, 'my-profile').waitFor()
    await tid(pageB, 'avatar-file').setInputFiles({ name: 'me.png', mimeType: 'image/png', buffer: PNG })
    await tid(pageB, 'profile-saved').waitFor()
    await pageB.locator('[data-test="nav-settings"] img[data-test="avatar-img"]').waitFor()

    // The admin turns on "show agents" for the inbox in its settings page.
    await pageA.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(pageA, 'inbox-card').first().click()
    await tid(pageA, 'show-agents').check()
    await tid(pageA, 'save-inbox').click()
    await until(async () => (await admin.call('GET', `/api/v1/inboxes/${inbox.id}`)).widget.show_agents === true, 'the inbox shows agents')

    // Li Lei replies; the visitor (reloaded: the widget reads its inbox's settings) sees who.
    await visitor.reload()
    await w(visitor, '.panel').waitFor() // it stays open across reloads
    await pageB.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(pageB, 'conversation').waitFor()
    await tid(pageB, 'composer').fill('I am on it, 我来处理')
    await tid(pageB, 'send').click()
    const line = w(visitor, '.msg.them').filter({ hasText: 'I am on it' })
    await line.locator('.who').filter({ hasText: LI.name }).waitFor()
    const src = await line.locator('.who img').getAttribute('src')
    expect(src).toContain('/api/v1/avatars/')
    const r = await fetch(src!)
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('image/png')
    // The console shows it beside the message too.
    await tid(pageB, 'message').filter({ hasText: 'I am on it' }).locator('img[data-test="avatar-img"]').waitFor()
  })

  it('keeps the README screenshot in docs/img (make docs-img)', () => {
    if (!process.env.E2E_UPDATE_DOCS) return
    const img = resolve(__dirname, '../../docs/img')
    mkdirSync(img, { recursive: true })
    copyFileSync(join(outDir(), 'console-team.png'), join(img, 'console-team.png'))
  })
})

// The console by keyboard in real browsers against a fresh kefu: J/K and
// Alt+↓/↑ through the list with the composer taking focus on open (and
// letters typed there staying text), note mode (N, Ctrl+Shift+N, Alt+N) and
// canned replies (/) beside Enter and Shift+Enter, I and E by a second agent
// seen live by the first, the command bar (Ctrl+K) jumping to a conversation
// by the contact's name or e-mail (one the console does not hold comes from
// the server) and resolving it, and the `?` overlay listing the registry's
// shortcuts in English and, after switching language from the command bar,
// in Chinese. Three customers write through the widget's REST API.
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keysEn, keysZh } from '../console/src/lib/keysStrings'
import { SHORTCUTS } from '../console/src/lib/shortcuts'
import { Agent, browser, Kefu, outDir, sleep, until } from './harness'

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
let admin: Agent
const HAN = { email: 'han.keys@example.com', password: 'agent-pass-1', name: 'Han Meimei' }
let hanId: string
let ctxA: BrowserContext
let ctxB: BrowserContext
let pageA: Page
let pageB: Page
const closers: (() => Promise<void>)[] = []
/** Conversation ids by customer name. */
const conv: Record<string, string> = {}

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const focused = (page: Page) => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.test ?? document.activeElement?.tagName)
const hashId = (page: Page) => page.evaluate(() => decodeURIComponent(location.hash.split('/')[2] ?? ''))

async function customerWrites(name: string, email: string, text: string): Promise<string> {
  const post = (path: string, body: unknown, token?: string) =>
    fetch(kefu.base + path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    })
  const inbox = await admin.firstInbox()
  const s = await (await post('/api/v1/widget/session', { inbox_key: inbox.public_key })).json()
  expect((await post('/api/v1/widget/identify', { name, email }, s.visitor_token)).status).toBe(200)
  const r = await post('/api/v1/widget/messages', { client_msg_id: 'first', content: text }, s.visitor_token)
  expect(r.status).toBe(201)
  return (await r.json()).message.conversation_id
}

beforeAll(async () => {
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  // Unassigned conversations for "assign to me" (default assignment has its own test in lifecycle.e2e.ts).
  await admin.call('PATCH', '/api/v1/workspace', { default_group: null })
  const inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  await admin.call('POST', '/api/v1/canned-replies', { shortcut: 'thanks', content: 'Thank you for waiting!' })
  hanId = (await admin.call('POST', '/api/v1/users', { ...HAN, role: 'agent' })).id
  // Oldest first: the list shows 王芳, Marie Curie, Li Lei.
  conv['Li Lei'] = await customerWrites('Li Lei', 'lilei@example.com', 'Where is my parcel?')
  await sleep(20)
  conv['Marie Curie'] = await customerWrites('Marie Curie', 'marie@example.com', 'Do you ship to Paris?')
  await sleep(20)
  conv['王芳'] = await customerWrites('王芳', 'wangfang@example.com', '发票怎么开？')
  // A contact who told their name but has not written: a contact without a conversation.
  const s = await fetch(`${kefu.base}/api/v1/widget/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ inbox_key: inbox.public_key }),
  }).then((r) => r.json())
  const named = await fetch(`${kefu.base}/api/v1/widget/identify`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${s.visitor_token}` },
    body: JSON.stringify({ name: 'Zhang Wei', email: 'zhangwei@example.com' }),
  })
  expect(named.status).toBe(200)
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

/** Waits until `name`'s conversation is the open one, in the header, the URL and the list. */
async function showing(page: Page, name: string, inList = true) {
  await until(async () => (await tid(page, 'contact-name').textContent()) === name, `${name}'s conversation open`)
  expect(await hashId(page)).toBe(conv[name])
  if (inList) expect(await page.locator('[data-test="conversation-row"].on .name').textContent()).toBe(name)
}

const composerFocused = (page: Page) => until(async () => (await focused(page)) === 'composer', 'the composer focused')

describe('the console by keyboard', () => {
  it('moves through the list with J/K and Alt+↓/↑, the composer taking focus when a conversation opens', async () => {
    pageA = await ctxA.newPage()
    await consoleLogin(pageA, kefu.adminEmail, kefu.adminPassword)
    await until(async () => (await tid(pageA, 'conversation-row').count()) === 3, 'three rows')
    expect(await tid(pageA, 'conversation-row').locator('.name').allTextContents()).toEqual(['王芳', 'Marie Curie', 'Li Lei'])
    expect(await focused(pageA)).toBe('BODY')

    await pageA.keyboard.press('j')
    await showing(pageA, '王芳')
    await composerFocused(pageA)
    // A letter typed in the composer is text, not a shortcut.
    await pageA.keyboard.press('j')
    expect(await tid(pageA, 'composer').inputValue()).toBe('j')
    expect(await hashId(pageA)).toBe(conv['王芳'])
    await tid(pageA, 'composer').fill('')
    // Esc leaves the composer; then J goes on.
    await pageA.keyboard.press('Escape')
    expect(await focused(pageA)).toBe('BODY')
    await pageA.keyboard.press('j')
    await showing(pageA, 'Marie Curie')
    await composerFocused(pageA)
    // Alt+↓ works from the composer too, and stops at the end of the list.
    await pageA.keyboard.press('Alt+ArrowDown')
    await showing(pageA, 'Li Lei')
    await composerFocused(pageA)
    await pageA.keyboard.press('Alt+ArrowDown')
    await sleep(200)
    await showing(pageA, 'Li Lei')
    await pageA.keyboard.press('Alt+ArrowUp')
    await showing(pageA, 'Marie Curie')
    await pageA.keyboard.press('Escape')
    await pageA.keyboard.press('k')
    await showing(pageA, '王芳')

    // A key press that is part of an input method's composition (pinyin) is never a shortcut.
    await pageA.keyboard.press('Escape')
    await pageA.evaluate(() => document.body.dispatchEvent(new KeyboardEvent('keydown', { key: 'j', isComposing: true, bubbles: true })))
    await sleep(200)
    expect(await hashId(pageA)).toBe(conv['王芳'])
    await pageA.keyboard.press('j')
    await showing(pageA, 'Marie Curie')
  })

  it('writes a note with N, switches with Ctrl+Shift+N and Alt+N, opens canned replies with /, and keeps Enter and Shift+Enter', async () => {
    const composer = tid(pageA, 'composer')
    const modeIs = async (m: 'reply' | 'note') => until(async () => (await pageA.locator('footer.composer').getAttribute('class'))?.split(' ').includes(m), `${m} mode`)
    await pageA.keyboard.press('Escape')
    await pageA.keyboard.press('n')
    await modeIs('note')
    await composerFocused(pageA)
    expect(await composer.getAttribute('aria-label')).toBe('Note')
    await pageA.keyboard.press('Control+Shift+N')
    await modeIs('reply')
    await pageA.keyboard.press('Alt+n')
    await modeIs('note')
    // Shift+Enter is a new line, Enter sends: the note lands as a note, only agents see it.
    await pageA.keyboard.type('VIP customer')
    await pageA.keyboard.press('Shift+Enter')
    await pageA.keyboard.type('ships to Paris')
    expect(await composer.inputValue()).toBe('VIP customer\nships to Paris')
    await pageA.keyboard.press('Enter')
    const note = tid(pageA, 'message').filter({ hasText: 'ships to Paris' })
    await note.waitFor()
    expect(await note.getAttribute('class')).toContain('note')
    const msgs = await admin.call('GET', `/api/v1/conversations/${conv['Marie Curie']}/messages?before_seq=1000000&limit=50`)
    expect(msgs.items.find((m: any) => m.content === 'VIP customer\nships to Paris')?.kind).toBe('note')
    await pageA.keyboard.press('Alt+n')
    await modeIs('reply')

    // "/" from the page: the composer with "/" typed and the suggestions open; Enter picks one.
    await pageA.keyboard.press('Escape')
    await pageA.keyboard.press('/')
    await composerFocused(pageA)
    expect(await composer.inputValue()).toBe('/')
    await tid(pageA, 'canned-suggestions').waitFor()
    await pageA.keyboard.type('tha')
    await pageA.keyboard.press('Enter')
    expect(await composer.inputValue()).toBe('Thank you for waiting!')
    await composer.fill('')
  })

  it('I assigns the conversation to the agent and E resolves it; the other agent sees both live', async () => {
    pageB = await ctxB.newPage()
    await consoleLogin(pageB, HAN.email, HAN.password)
    await pageB.goto(`${kefu.base}/console/#/inbox/${conv['Marie Curie']}`)
    await showing(pageB, 'Marie Curie')
    await composerFocused(pageB)
    expect(await tid(pageB, 'assignee').inputValue()).toBe('')
    await pageB.keyboard.press('Escape')
    await pageB.keyboard.press('i')
    await until(async () => (await tid(pageB, 'assignee').inputValue()) === hanId, 'assigned to her')
    expect((await admin.call('GET', `/api/v1/conversations/${conv['Marie Curie']}`)).assignee_id).toBe(hanId)
    await until(async () => (await tid(pageA, 'assignee').inputValue()) === hanId, "the admin's console shows her")
    // Already hers: the button is gone and I does nothing more.
    expect(await tid(pageB, 'assign-me').count()).toBe(0)

    await pageB.keyboard.press('e')
    await until(async () => (await tid(pageB, 'conv-status').textContent())?.includes('Resolved'), 'resolved')
    expect((await admin.call('GET', `/api/v1/conversations/${conv['Marie Curie']}`)).status).toBe('resolved')
    await until(async () => (await tid(pageA, 'conv-status').textContent())?.includes('Resolved'), "resolved in the admin's console")
  })

  it('Ctrl+K jumps to a conversation by the name or e-mail and runs an action on it; Esc gives focus back', async () => {
    await tid(pageA, 'composer').focus()
    await pageA.keyboard.press('Control+k')
    const bar = pageA.getByRole('dialog', { name: 'Command bar' })
    await bar.waitFor()
    expect(await bar.getAttribute('aria-modal')).toBe('true')
    expect(await focused(pageA)).toBe('command-input')
    await pageA.keyboard.type('li lei')
    const first = bar.getByRole('option').first()
    await until(async () => (await first.textContent())?.includes('Li Lei'), 'Li Lei first')
    expect(await first.getAttribute('data-kind')).toBe('conversation')
    expect(await first.getAttribute('aria-selected')).toBe('true')
    expect(await tid(pageA, 'command-input').getAttribute('aria-activedescendant')).toBe(await first.getAttribute('id'))
    // Tab does not leave the dialog.
    await pageA.keyboard.press('Tab')
    expect(await focused(pageA)).toBe('command-input')
    await pageA.keyboard.press('Enter')
    await bar.waitFor({ state: 'hidden' })
    await showing(pageA, 'Li Lei')
    await composerFocused(pageA)

    // An action, from the composer: resolve the conversation just opened.
    await pageA.keyboard.press('Control+k')
    await pageA.keyboard.type('resolve')
    const action = bar.getByRole('option').first()
    await until(async () => (await action.textContent())?.includes('Resolve the conversation'), 'the resolve action first')
    expect(await action.getAttribute('data-kind')).toBe('action')
    await pageA.screenshot({ path: join(outDir(), 'keyboard-command-bar.png') })
    expect(await action.locator('kbd').textContent()).toBe('E')
    // The arrows move the choice and come back.
    if ((await bar.getByRole('option').count()) > 1) {
      await pageA.keyboard.press('ArrowDown')
      expect(await bar.getByRole('option').nth(1).getAttribute('aria-selected')).toBe('true')
      await pageA.keyboard.press('ArrowUp')
    }
    expect(await action.getAttribute('aria-selected')).toBe('true')
    await pageA.keyboard.press('Enter')
    await bar.waitFor({ state: 'hidden' })
    await until(async () => (await tid(pageA, 'conv-status').textContent())?.includes('Resolved'), 'Li Lei resolved')
    await until(async () => (await admin.call('GET', `/api/v1/conversations/${conv['Li Lei']}`)).status === 'resolved', 'resolved on the server')
    // Focus went back where it was.
    expect(await focused(pageA)).toBe('composer')

    // Esc closes and gives focus back; a resolved conversation the console no
    // longer holds (after a reload it lists open ones) comes from the server.
    await pageA.goto(`${kefu.base}/console/#/inbox`)
    await pageA.reload()
    await until(async () => (await tid(pageA, 'conversation-row').count()) === 1, 'only 王芳 open')
    await tid(pageA, 'view-all').focus()
    await pageA.keyboard.press('Control+k')
    await bar.waitFor()
    await pageA.keyboard.press('Escape')
    await bar.waitFor({ state: 'hidden' })
    expect(await focused(pageA)).toBe('view-all')
    await pageA.keyboard.press('Control+k')
    await pageA.keyboard.type('marie@example')
    await until(async () => (await bar.getByRole('option').first().textContent())?.includes('Marie Curie'), 'Marie found on the server')
    await pageA.keyboard.press('Enter')
    await showing(pageA, 'Marie Curie', false)
    expect(await tid(pageA, 'conv-status').textContent()).toContain('Resolved')
    await tid(pageA, 'message').filter({ hasText: 'ships to Paris' }).waitFor()

    // Contacts come from the server too; one who never wrote has nowhere to jump to, and the bar says so.
    await pageA.keyboard.press('Control+k')
    await pageA.keyboard.type('zhang')
    const contact = bar.getByRole('option').first()
    await until(async () => (await contact.textContent())?.includes('Zhang Wei'), 'the contact found')
    expect(await contact.getAttribute('data-kind')).toBe('contact')
    await pageA.keyboard.press('Enter')
    expect(await tid(pageA, 'command-problem').textContent()).toBe('This contact has no conversation yet.')
    await pageA.keyboard.press('Escape')
    await bar.waitFor({ state: 'hidden' })
  })

  it('? lists every shortcut of the registry, in English and, after switching language from the command bar, in Chinese', async () => {
    const listed = SHORTCUTS.filter((s) => s.keys.length)
    async function overlayShows(title: string, strings: typeof keysEn) {
      await pageA.keyboard.press('Escape')
      await pageA.keyboard.press('?')
      const help = pageA.getByRole('dialog', { name: title })
      await help.waitFor()
      expect(await focused(pageA)).toBe('shortcut-help-close')
      const rows = help.locator('[data-test="shortcut"]')
      expect(await rows.count()).toBe(listed.length)
      await pageA.screenshot({ path: join(outDir(), `keyboard-help-${strings === keysEn ? 'en' : 'zh'}.png`) })
      for (const s of listed) expect(await help.locator(`[data-test="shortcut"][data-id="${s.id}"]`).locator('dd').textContent()).toBe(strings.shortcuts[s.id])
      expect(await help.locator('[data-test="shortcut"][data-id="resolve"]').locator('kbd').allTextContents()).toEqual(['E'])
      expect(await help.locator('[data-test="shortcut"][data-id="commandBar"]').locator('kbd').allTextContents()).toEqual(['Ctrl+K'])
      expect(await help.locator('[data-test="shortcut"][data-id="toggleMode"]').locator('kbd').allTextContents()).toEqual(['Ctrl+Shift+N', 'Alt+N'])
      expect(await help.locator('[data-test="shortcut"][data-id="next"]').locator('kbd').allTextContents()).toEqual(['J', 'Alt+↓'])
      // Keys meant for the page do nothing behind the overlay; Tab stays in it; Esc closes it.
      const before = await hashId(pageA)
      await pageA.keyboard.press('j')
      await pageA.keyboard.press('Tab')
      expect(await focused(pageA)).toBe('shortcut-help-close')
      expect(await hashId(pageA)).toBe(before)
      await pageA.keyboard.press('Escape')
      await help.waitFor({ state: 'hidden' })
    }
    await overlayShows('Keyboard shortcuts', keysEn)

    await pageA.keyboard.press('Control+k')
    await pageA.keyboard.type('中文')
    await pageA.getByRole('dialog', { name: 'Command bar' }).getByRole('option', { name: /Language: 中文/ }).waitFor()
    await pageA.keyboard.press('Enter')
    await until(async () => (await tid(pageA, 'nav-inbox').textContent()) !== 'Conversations', 'the console in Chinese')
    await overlayShows('键盘快捷键', keysZh)
    // The button in the top bar opens the same list.
    await tid(pageA, 'shortcuts-button').click()
    await pageA.getByRole('dialog', { name: '键盘快捷键' }).waitFor()
    await pageA.keyboard.press('Escape')
    expect(await focused(pageA)).toBe('shortcuts-button')
  })
})

// The bot in conversations, in real browsers against a fresh kefu: the
// owner turns the bot on in the inbox settings; a visitor in the widget gets
// a knowledge-base answer marked as the bot's, rates it, is asked "did you
// mean" with buttons and picks one; another visitor presses "talk to a
// person" and the hand-off with its reason shows in the console; an agent
// inserts an assist suggestion and sends it; the unanswered question
// becomes a knowledge-base entry. The standalone chat page shows the same.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, Site, until } from './harness'

const kefu = new Kefu()
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let console_: Page
const closers: (() => Promise<void>)[] = []
const contexts: BrowserContext[] = []
const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)
const w = (page: Page, sel: string) => page.locator(`#kefu-widget ${sel}`)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { allowed_origins: [site.origin] })
  // Two entries the bot cannot tell apart from "reset it", and one to answer outright.
  for (const [question, answer] of [
    ['How do I reset my password?', 'Use "Forgot password" on the login page.'],
    ['How do I reset my PIN?', 'Open Settings → Security → Reset PIN.'],
    ['退款多久能到账？', '退款在 1–3 个工作日内原路退回。'],
  ])
    await admin.call('POST', '/api/v1/kb/entries', { question, answer, language: /[a-z]/i.test(question) ? 'en' : 'zh' })
  for (let i = 0; i < 3; i++) {
    const b = await browser()
    contexts.push(b.context)
    closers.push(b.close)
  }
  console_ = await contexts[0].newPage()
  await consoleLogin(console_, kefu.base, kefu.adminEmail, kefu.adminPassword)
})

afterAll(async () => {
  for (const c of closers) await c()
  await site.stop()
  await kefu.dispose()
})

async function visitorPage(ctx: BrowserContext): Promise<Page> {
  const p = await ctx.newPage()
  await p.goto(site.embed('/shop', kefu.base, inbox.public_key))
  await w(p, '.launcher').click()
  return p
}

async function widgetSays(p: Page, text: string) {
  await w(p, 'textarea').fill(text)
  await w(p, 'textarea').press('Enter')
}

describe('the bot in conversations', () => {
  let visitor: Page

  it('is turned on in the inbox settings', async () => {
    await console_.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(console_, 'inbox-card').first().click()
    await tid(console_, 'bot-enabled').check()
    await tid(console_, 'bot-greeting').fill('Hi, I am the shop assistant.')
    await tid(console_, 'bot-name').fill('Shopbot')
    await tid(console_, 'save-inbox').click()
    await tid(console_, 'inbox-saved').waitFor()
    const saved = await admin.call('GET', `/api/v1/inboxes/${inbox.id}`)
    expect(saved.bot).toMatchObject({ enabled: true, mode: 'bot_first', greeting: 'Hi, I am the shop assistant.', name: 'Shopbot' })
  })

  it('answers in the widget, marked as the bot, with thumbs', async () => {
    visitor = await visitorPage(contexts[1])
    await widgetSays(visitor, '退款多久能到账？')
    const answer = w(visitor, '.msg.bot').filter({ hasText: '原路退回' })
    await answer.waitFor()
    expect(await answer.locator('.who').textContent()).toContain('Shopbot')
    await w(visitor, '.msg.bot').filter({ hasText: 'shop assistant' }).waitFor()
    await answer.locator('.rate button[aria-label="Helpful"]').click()
    await w(visitor, '.note').filter({ hasText: 'Thanks for your feedback' }).waitFor()
    expect(await answer.locator('.rate button[aria-label="Helpful"]').getAttribute('aria-pressed')).toBe('true')
  })

  it('asks "did you mean" with buttons, and a press answers', async () => {
    await widgetSays(visitor, 'how do I reset it')
    const quick = w(visitor, '.msg.bot .quick')
    await quick.locator('button', { hasText: 'How do I reset my PIN?' }).waitFor()
    expect(await quick.locator('button.person').textContent()).toBe('Talk to a person')
    await quick.locator('button', { hasText: 'How do I reset my PIN?' }).click()
    await w(visitor, '.msg.bot').filter({ hasText: 'Reset PIN.' }).waitFor()
    // The buttons were the newest line's: they are gone now.
    await until(async () => !(await w(visitor, '.msg.bot .quick button.person').first().isVisible()), 'old buttons hidden')
  })

  it('hands off when a visitor presses "talk to a person", and the console shows why', async () => {
    const other = await visitorPage(contexts[2])
    await widgetSays(other, 'xyzzy plugh frobnicate')
    const person = w(other, '.msg.bot .quick button.person')
    await person.waitFor()
    await person.click()
    await w(other, '.msg.bot').filter({ hasText: 'Connecting you to a person' }).waitFor()
    const conv = await until(async () => {
      const list = await admin.call('GET', '/api/v1/conversations?limit=50')
      return list.items.find((c: any) => c.last_message?.excerpt?.startsWith('Connecting you') || c.last_message?.excerpt === 'Talk to a person')
    }, 'the handed-off conversation')
    await console_.goto(`${kefu.base}/console/#/inbox/${conv.id}`)
    await tid(console_, 'bot-pill').first().waitFor()
    await tid(console_, 'event').filter({ hasText: 'The bot handed the conversation to people (the visitor asked for a person)' }).waitFor()
    // The bot's transcript is there for the agent.
    await tid(console_, 'message').filter({ hasText: 'xyzzy plugh frobnicate' }).waitFor()
    await tid(console_, 'message').filter({ hasText: 'Sorry, I did not understand' }).waitFor()
  })

  it('assist suggests knowledge-base answers, and one click puts one in the composer', async () => {
    const conv = await until(async () => {
      const list = await admin.call('GET', '/api/v1/conversations?limit=50&status=bot')
      return list.items[0]
    }, 'the conversation still with the bot')
    await console_.goto(`${kefu.base}/console/#/inbox/${conv.id}`)
    const suggestion = tid(console_, 'assist-suggestion').filter({ hasText: 'How do I reset my PIN?' })
    await suggestion.waitFor()
    await suggestion.locator('[data-test="assist-insert"]').click()
    expect(await tid(console_, 'composer').inputValue()).toBe('Open Settings → Security → Reset PIN.')
    await tid(console_, 'send').click()
    // The agent took over: the visitor sees the reply, and the bot steps aside.
    await w(visitor, '.msg.them:not(.bot)').filter({ hasText: 'Reset PIN.' }).waitFor()
    await until(async () => (await admin.call('GET', `/api/v1/conversations/${conv.id}`)).status === 'open', 'taken from the bot')
  })

  it('turns an unanswered question into a knowledge-base entry', async () => {
    await console_.goto(`${kefu.base}/console/#/admin/bot`)
    const q = tid(console_, 'bot-question').filter({ hasText: 'xyzzy plugh frobnicate' })
    await q.waitFor()
    await q.locator('[data-test="bot-question-create"]').click()
    expect(await tid(console_, 'kb-question').inputValue()).toBe('xyzzy plugh frobnicate')
    await tid(console_, 'kb-answer').fill('That is a magic word from an old adventure game.')
    await tid(console_, 'kb-save').click()
    await until(async () => (await q.count()) === 0, 'the question leaves the open list')
    const done = await admin.call('GET', '/api/v1/bot/questions?status=done')
    expect(done.items.map((i: any) => i.question)).toContain('xyzzy plugh frobnicate')
  })

  it('marks the bot and offers its buttons on the standalone chat page too', async () => {
    const p = await contexts[2].newPage()
    await p.goto(`${kefu.base}/chat/${inbox.public_key}`)
    await widgetSays(p, 'how do I reset it')
    const quick = w(p, '.msg.bot .quick')
    await quick.locator('button', { hasText: 'How do I reset my password?' }).click()
    await w(p, '.msg.bot').filter({ hasText: 'Forgot password' }).waitFor()
    expect(await w(p, '.msg.bot .who .tag').first().textContent()).toBe('Bot')
    await w(p, '.msg.bot .rate button[aria-label="Not helpful"]').last().waitFor()
  })
})

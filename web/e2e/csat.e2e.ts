// CSAT in real browsers against a fresh kefu: the owner turns the survey on
// in the inbox settings with their own question; after the agent resolves
// the conversation, the visitor's widget asks for a rating, the visitor
// gives four stars and a comment, the console's timeline shows it live, the
// widget does not ask again, and the reports count it.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, consoleLogin, Kefu, Site, until } from './harness'

const kefu = new Kefu()
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let console_: Page
let visitor: Page
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
  for (let i = 0; i < 2; i++) {
    const b = await browser()
    contexts.push(b.context)
    closers.push(b.close)
  }
  console_ = await contexts[0].newPage()
  console_.on('pageerror', (e) => console.error('console page error:', e))
  await consoleLogin(console_, kefu.base, kefu.adminEmail, kefu.adminPassword)
})

afterAll(async () => {
  for (const c of closers) await c()
  await site.stop()
  await kefu.dispose()
})

describe('the satisfaction survey', () => {
  let conv: string

  it('is turned on in the inbox settings, with the inbox’s own question', async () => {
    await console_.goto(`${kefu.base}/console/#/admin/inboxes`)
    await tid(console_, 'inbox-card').first().click()
    await tid(console_, 'csat-enabled').check()
    await tid(console_, 'csat-question-zh').fill('您对本次服务满意吗？')
    await tid(console_, 'csat-question-en').fill('How did we do today?')
    await tid(console_, 'save-inbox').click()
    await tid(console_, 'inbox-saved').waitFor()
    const saved = await admin.call('GET', `/api/v1/inboxes/${inbox.id}`)
    expect(saved.widget.csat).toEqual({ enabled: true, question_zh: '您对本次服务满意吗？', question_en: 'How did we do today?' })
  })

  it('is asked in the widget after the agent resolves, and the console shows the rating', async () => {
    visitor = await contexts[1].newPage()
    visitor.on('pageerror', (e) => console.error('widget page error:', e))
    await visitor.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await w(visitor, '.launcher').click()
    await w(visitor, 'textarea').fill('My parcel is late')
    await w(visitor, 'textarea').press('Enter')
    conv = await until(async () => {
      const list = await admin.call('GET', '/api/v1/conversations?limit=50&status=open,queued')
      return list.items.find((c: any) => c.last_message?.excerpt === 'My parcel is late')?.id
    }, 'the conversation')
    expect(await w(visitor, '.csat').isVisible()).toBe(false)
    await console_.goto(`${kefu.base}/console/#/inbox/${conv}`)
    await tid(console_, 'conversation').waitFor()
    await tid(console_, 'composer').fill('It arrives tomorrow, sorry for the wait.')
    await tid(console_, 'send').click()
    await tid(console_, 'resolve').click()

    const survey = w(visitor, '.csat')
    await survey.waitFor()
    expect(['您对本次服务满意吗？', 'How did we do today?']).toContain((await survey.locator('p').textContent())?.trim())
    expect(await survey.locator('[data-test="csat-send"]').isDisabled()).toBe(true)
    await survey.locator('.star[data-rating="4"]').click()
    expect(await survey.locator('.star.on').count()).toBe(4)
    await survey.locator('textarea').fill('Friendly, but slow delivery')
    await survey.locator('[data-test="csat-send"]').click()
    await survey.waitFor({ state: 'hidden' })
    expect(await w(visitor, '.note').textContent()).toMatch(/Thank you for your rating|感谢您的评价/)

    // The console's timeline says it, live.
    const line = tid(console_, 'event').filter({ hasText: '★★★★☆' })
    await line.waitFor()
    expect(await line.textContent()).toContain('Friendly, but slow delivery')
    const ratings = await admin.call('GET', `/api/v1/conversations/${conv}/csat`)
    expect(ratings.map((r: any) => [r.rating, r.comment])).toEqual([[4, 'Friendly, but slow delivery']])

    // Not asked again for the same resolve, after a reload either.
    await visitor.reload()
    await w(visitor, '.list').waitFor()
    await w(visitor, '.msg').first().waitFor()
    expect(await w(visitor, '.csat').isVisible()).toBe(false)
  })

  it('counts in the reports', async () => {
    const today = new Date().toISOString().slice(0, 10)
    const r = await admin.call('GET', `/api/v1/reports/summary?from=${today}&to=${today}&tz=UTC`)
    expect(r.total.csat_ratings).toBe(1)
    expect(r.total.csat_avg).toBe(4)
    expect(r.csat_distribution).toEqual([0, 0, 0, 1, 0])
  })
})

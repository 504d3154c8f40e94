// Accessibility: axe-core (the engine behind Lighthouse's and Deque's
// audits) run inside real Chromium over the console's main pages, in both
// languages, and the widget's open panel. Any "serious" or "critical"
// violation fails the test, with the rule, the help text and the elements.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, Kefu, Site, until } from './harness'

const require = createRequire(import.meta.url)
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8')

const kefu = new Kefu({ KEFU_LIMITS__WIDGET_SESSIONS_PER_MINUTE: '1000' })
const site = new Site()
let admin: Agent
let inbox: Record<string, any>
let conv: string
let page: Page
let close: () => Promise<void>

interface Violation {
  id: string
  impact: string | null
  help: string
  nodes: { target: string[]; failureSummary?: string }[]
}

/** Runs axe on the page (or inside `within`) and returns the serious and critical violations. */
async function audit(p: Page, within?: string): Promise<Violation[]> {
  // Evaluated through the debugging protocol: the console's CSP forbids inline scripts.
  if (!(await p.evaluate(() => 'axe' in window))) await p.evaluate(AXE)
  const result = await p.evaluate(async (ctx) => {
    const axe = (window as any).axe
    const r = await axe.run(ctx ? { include: [[ctx]] } : document, { resultTypes: ['violations'] })
    return r.violations as Violation[]
  }, within ?? null)
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
}

function report(where: string, vs: Violation[]): string {
  return vs.map((v) => `${where}: ${v.id} (${v.impact}): ${v.help}\n  ${v.nodes.map((n) => `${n.target.join(' ')} — ${n.failureSummary ?? ''}`).join('\n  ')}`).join('\n')
}

/** Problems found so far in the running test (every page is audited before it fails). */
let problems: string[] = []
async function check(where: string, within?: string) {
  const vs = await audit(page, within)
  if (vs.length) problems.push(report(where, vs))
}
function expectNoProblems() {
  const found = problems.join('\n')
  problems = []
  expect(found).toBe('')
}

const tid = (id: string) => page.locator(`[data-test="${id}"]`)

beforeAll(async () => {
  await kefu.start()
  await site.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
  inbox = await admin.firstInbox()
  await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { offline: 'chat' } })
  await admin.call('POST', '/api/v1/canned-replies', { shortcut: 'hi', content: 'Hello {{contact.name}}!' })
  const b = await browser()
  close = b.close
  page = await b.context.newPage()
})

afterAll(async () => {
  await close?.()
  await site.stop()
  await kefu.dispose()
})

describe('accessibility (axe-core: no serious or critical violations)', () => {
  it('the widget, closed and open', async () => {
    await page.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await page.locator('#kefu-widget .launcher').waitFor()
    await check('widget (closed)', '#kefu-widget')
    await page.locator('#kefu-widget .launcher').click()
    await page.locator('#kefu-widget .panel').waitFor()
    await page.locator('#kefu-widget textarea').fill('Is the red dress in stock? 红色连衣裙有货吗？')
    await page.locator('#kefu-widget textarea').press('Enter')
    await page.locator('#kefu-widget .msg.me .bubble').first().waitFor()
    await check('widget (open)', '#kefu-widget')
    conv = await until(async () => (await admin.call('GET', '/api/v1/conversations?limit=5&status=open,queued')).items[0]?.id, 'the conversation')
    expectNoProblems()
  })

  it('the widget in a light colour the customer picked (its text turns dark)', async () => {
    await admin.call('PATCH', `/api/v1/inboxes/${inbox.id}`, { widget: { color: '#ffd33d', offline: 'chat' } })
    await page.goto(site.embed('/shop', kefu.base, inbox.public_key))
    await page.locator('#kefu-widget .launcher').waitFor()
    if (!(await page.locator('#kefu-widget .panel').isVisible())) await page.locator('#kefu-widget .launcher').click()
    await page.locator('#kefu-widget .msg.me .bubble').first().waitFor()
    await check('widget (light colour)', '#kefu-widget')
    expectNoProblems()
  })

  it("the bot's answer in the widget: did-you-mean buttons, thumbs", async () => {
    for (const [question, answer] of [
      ['How do I reset my password?', 'Use "Forgot password" on the login page.'],
      ['How do I reset my PIN?', 'Open Settings, Security, Reset PIN.'],
    ])
      await admin.call('POST', '/api/v1/kb/entries', { question, answer, language: 'en' })
    const withBot = await admin.call('POST', '/api/v1/inboxes', { name: 'Bot', allowed_origins: [site.origin], bot: { enabled: true }, widget: { color: '#ffd33d' } })
    await page.goto(site.embed('/bot', kefu.base, withBot.public_key))
    await page.locator('#kefu-widget .launcher').click()
    await page.locator('#kefu-widget textarea').fill('how do I reset it')
    await page.locator('#kefu-widget textarea').press('Enter')
    await page.locator('#kefu-widget .msg.bot .quick button').first().waitFor()
    await check('widget (bot did-you-mean)', '#kefu-widget')
    await page.locator('#kefu-widget .msg.bot .quick button').first().click()
    await page.locator('#kefu-widget .msg.bot .rate button').first().waitFor()
    await check('widget (bot answer)', '#kefu-widget')
    expectNoProblems()
  })

  it('the login page', async () => {
    await page.goto(`${kefu.base}/console/`)
    await page.locator('input[name=email]').waitFor()
    await check('login')
    expectNoProblems()
  })

  for (const lang of ['en', 'zh-CN'] as const) {
    it(`the console's main pages (${lang})`, async () => {
      await page.goto(`${kefu.base}/console/`)
      // Logged in already (the session is restored) or the login form: wait for either.
      await page.locator('[data-test="nav-inbox"], input[name=email]').first().waitFor()
      if (!(await tid('nav-inbox').isVisible().catch(() => false))) {
        await page.locator('input[name=email]').fill(kefu.adminEmail)
        await page.locator('input[name=password]').fill(kefu.adminPassword)
        await page.locator('button[type=submit]').click()
        await tid('nav-inbox').waitFor()
      }
      await tid('lang').selectOption(lang)
      await page.goto(`${kefu.base}/console/#/inbox`)
      await tid('conversation-row').first().waitFor()
      await check(`inbox list (${lang})`)
      await page.goto(`${kefu.base}/console/#/inbox/${conv}`)
      await tid('conversation').waitFor()
      await tid('message').first().waitFor()
      await check(`conversation (${lang})`)
      await tid('bell').click()
      await tid('notifications').waitFor()
      await check(`notifications (${lang})`)
      await tid('bell').click()
      await page.goto(`${kefu.base}/console/#/settings`)
      await tid('notification-prefs').waitFor()
      await check(`my settings (${lang})`)
      // Search, with a result (its snippet marked).
      await page.goto(`${kefu.base}/console/#/search`)
      await tid('search-input').fill('连衣裙')
      await tid('search-input').press('Enter')
      await tid('search-hit').first().locator('mark').first().waitFor()
      await check(`search (${lang})`)
      // The contacts page (with its filters and blocked addresses) and a contact's page, merge open.
      await page.goto(`${kefu.base}/console/#/contacts`)
      await tid('contact-row').first().waitFor()
      await tid('ip-blocks').locator('summary').click()
      await check(`contacts (${lang})`)
      await tid('contact-row').first().click()
      await tid('contact-title').waitFor()
      await tid('contact-merge').click()
      await tid('merge-form').waitFor()
      await check(`a contact (${lang})`)
      // An inbox's bot settings, open.
      await page.goto(`${kefu.base}/console/#/admin/inboxes`)
      await tid('inbox-card').first().click()
      await tid('bot-enabled').check()
      await tid('bot-mode').waitFor()
      await check(`inbox bot settings (${lang})`)
      for (const admin of ['agents', 'groups', 'routing', 'inboxes', 'canned', 'macros', 'bot', 'sensitive', 'attributes', 'webhooks', 'workspace', 'apiKeys']) {
        await page.goto(`${kefu.base}/console/#/admin/${admin}`)
        await page.locator('main, section').first().waitFor()
        await page.waitForLoadState('networkidle')
        await check(`admin ${admin} (${lang})`)
      }
      expectNoProblems()
    })
  }
})

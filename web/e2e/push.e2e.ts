// Push notifications in a real browser against a real kefu: My settings
// shows the notification settings (also on a 390 px phone), the console's
// service worker registers at /console/ and, given a push (delivered by
// Chromium's DevTools protocol, as the browser's push service would hand
// it over), shows kefu's PushMessage as a notification with its title,
// body, tag and url. The server's side of push (encryption, VAPID, the
// subscription API) is tested against an independent endpoint in
// crates/kefu-server/tests/push.rs; a headless browser has no push service
// to subscribe at.
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browser, consoleLogin, Kefu, until } from './harness'

const kefu = new Kefu()
let ctx: BrowserContext
let close: () => Promise<void>

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)

beforeAll(async () => {
  await kefu.start()
  ;({ context: ctx, close } = await browser())
})

afterAll(async () => {
  await close?.()
  await kefu.dispose()
})

describe('push notifications', () => {
  let page: Page

  it('My settings offers them, also on a phone', async () => {
    page = await ctx.newPage()
    page.on('pageerror', (e) => console.error('console page error:', e))
    await consoleLogin(page, kefu.base, kefu.adminEmail, kefu.adminPassword)
    await page.goto(`${kefu.base}/console/#/settings`)
    await tid(page, 'push-settings').waitFor()
    await expect(tid(page, 'push-state').textContent()).resolves.toContain('Off in this browser')
    await expect(tid(page, 'push-enable').isEnabled()).resolves.toBe(true)
    // No device yet: no test button.
    await expect(tid(page, 'push-test').count()).resolves.toBe(0)
    await page.setViewportSize({ width: 390, height: 844 })
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    expect(overflow).toBeLessThanOrEqual(0)
    await page.setViewportSize({ width: 1200, height: 800 })
    // The manifest the page links is served.
    const manifest = await page.evaluate(async () => {
      const href = document.querySelector<HTMLLinkElement>('link[rel=manifest]')!.href
      return (await fetch(href)).json()
    })
    expect(manifest.scope).toBe('/console/')
  })

  it('the service worker shows a pushed message', async () => {
    await ctx.grantPermissions(['notifications'], { origin: kefu.base })
    const cdp = await ctx.newCDPSession(page)
    const registrations: { registrationId: string; scopeURL: string }[] = []
    cdp.on('ServiceWorker.workerRegistrationUpdated', (e: any) => registrations.push(...e.registrations))
    await cdp.send('ServiceWorker.enable')
    const state = await page.evaluate(async () => {
      await navigator.serviceWorker.register('/console/sw.js', { scope: '/console/' })
      const sw = (await navigator.serviceWorker.ready).active!
      if (sw.state !== 'activated') await new Promise((ok) => sw.addEventListener('statechange', () => sw.state === 'activated' && ok(null)))
      return sw.state
    })
    expect(state).toBe('activated')
    const reg = (await until(
      () => registrations.find((r) => r.scopeURL === `${kefu.base}/console/`),
      'the service worker registration',
    ))!
    const msg = {
      title: 'New conversation · 新对话',
      body: 'Alice: 我的订单还没到',
      url: `${kefu.base}/console/#/inbox/c-1`,
      tag: 'conversation-c-1',
    }
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: kefu.base,
      registrationId: reg.registrationId,
      data: JSON.stringify(msg),
    })
    const shown = await until(
      () =>
        page.evaluate(async () => {
          const r = await navigator.serviceWorker.ready
          const ns = await r.getNotifications()
          return ns.length ? ns.map((n) => ({ title: n.title, body: n.body, tag: n.tag, url: n.data?.url })) : null
        }),
      'a notification',
    )
    expect(shown).toEqual([msg])

    // The same tag replaces it instead of stacking a second one.
    await cdp.send('ServiceWorker.deliverPushMessage', {
      origin: kefu.base,
      registrationId: reg.registrationId,
      data: JSON.stringify({ ...msg, body: 'Alice: 还在吗？' }),
    })
    const replaced = await until(
      () =>
        page.evaluate(async () => {
          const ns = await (await navigator.serviceWorker.ready).getNotifications()
          return ns.length === 1 && ns[0].body.includes('还在吗') ? ns.length : null
        }),
      'the replaced notification',
    )
    expect(replaced).toBe(1)
  })
})

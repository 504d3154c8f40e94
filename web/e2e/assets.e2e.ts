// The embedded front ends are served with the right types, caching,
// compression and Content-Security-Policy, and the pages load in a real
// browser without CSP violations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { browser, Kefu } from './harness'

const kefu = new Kefu()

beforeAll(async () => {
  await kefu.start()
})
afterAll(async () => {
  await kefu.dispose()
})

describe('web assets', () => {
  it('serves /widget.js with a short cache, an ETag and compression', async () => {
    const r = await fetch(`${kefu.base}/widget.js`, { headers: { 'accept-encoding': 'gzip, br' } })
    expect(r.status).toBe(200)
    expect(r.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(r.headers.get('cache-control')).toBe('public, max-age=300')
    expect(r.headers.get('content-encoding')).toMatch(/br|gzip/)
    const etag = r.headers.get('etag')
    expect(etag).toMatch(/^".+"$/)
    const again = await fetch(`${kefu.base}/widget.js`, { headers: { 'if-none-match': etag! } })
    expect(again.status).toBe(304)
  })

  it('serves the console with a strict CSP and immutable hashed assets', async () => {
    const r = await fetch(`${kefu.base}/console/`)
    expect(r.status).toBe(200)
    const csp = r.headers.get('content-security-policy') ?? ''
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("frame-ancestors 'none'")
    const html = await r.text()
    const asset = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1]
    expect(asset).toBeTruthy()
    const a = await fetch(kefu.base + asset)
    expect(a.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
    expect(a.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    // Client-side routes get the index page; unknown assets do not.
    expect((await fetch(`${kefu.base}/console/inbox/123`)).status).toBe(200)
    expect((await fetch(`${kefu.base}/console/assets/nope-123.js`)).status).toBe(404)
  })

  it('loads /demo and /console/ in Chromium without CSP violations', async () => {
    const { context, close } = await browser()
    try {
      const page = await context.newPage()
      const problems: string[] = []
      page.on('console', (m) => {
        // Failed loads are reported below with their URL.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) problems.push(m.text())
      })
      page.on('pageerror', (e) => problems.push(String(e)))
      page.on('response', (r) => {
        if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`)
      })
      await page.goto(`${kefu.base}/demo`)
      await page.waitForLoadState('networkidle')
      await page.goto(`${kefu.base}/console/`)
      await page.getByText('kefu').first().waitFor()
      expect(problems).toEqual([])
    } finally {
      await close()
    }
  })
})

// The browser tests' harness: a real kefu server on a temp data dir and a free
// port, Debian's headless Chromium driven by playwright-core, a pretend
// customer site on another origin that embeds the widget, and a small agent
// client speaking the REST API (the console's job, until it exists).
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { createServer as netServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

export const OUT = resolve(__dirname, '../../test-output')
const BIN = resolve(process.env.E2E_KEFU_BIN ?? resolve(__dirname, '../../target/debug/kefu'))
const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium'

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = netServer()
    s.once('error', fail)
    s.listen(0, '127.0.0.1', () => {
      const a = s.address()
      const port = typeof a === 'object' && a ? a.port : 0
      s.close(() => ok(port))
    })
  })
}

export async function sleep(ms: number) {
  return new Promise((r) => setTimeout(r, ms))
}

/** Polls `f` until it returns a truthy value. */
export async function until<T>(f: () => Promise<T> | T, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await f()
      if (v) return v
    } catch (e) {
      last = e
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${last}` : ''}`)
    await sleep(100)
  }
}

/** One kefu process; `stop` and `start` again keep the data dir and port. */
export class Kefu {
  proc?: ChildProcess
  output = ''
  readonly dataDir = mkdtempSync(join(tmpdir(), 'kefu-e2e-'))
  base = ''
  port = 0
  adminEmail = 'admin@kefu.local'
  adminPassword = ''

  /** `extraEnv`: settings of this server (e.g. raised limits), as `KEFU_*` variables. */
  constructor(readonly extraEnv: Record<string, string> = {}) {}

  async start(): Promise<void> {
    if (!this.port) this.port = await freePort()
    this.base = `http://127.0.0.1:${this.port}`
    // Only the settings given here: a KEFU_* variable of the caller's would
    // reconfigure (or, unknown, stop) the server.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KEFU_')))
    const proc = spawn(BIN, ['serve'], {
      env: {
        ...env,
        KEFU_LISTEN: `127.0.0.1:${this.port}`,
        KEFU_DATA_DIR: this.dataDir,
        RUST_LOG: process.env.RUST_LOG ?? 'warn',
        ...this.extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.proc = proc
    proc.stdout?.on('data', (d) => (this.output += d))
    proc.stderr?.on('data', (d) => (this.output += d))
    await until(
      async () => {
        if (proc.exitCode !== null) throw new Error(`kefu exited with ${proc.exitCode}:\n${this.output}`)
        return (await fetch(`${this.base}/readyz`)).ok
      },
      `kefu to be ready (output so far:\n${this.output})`,
      30_000,
    )
    const pw = /password: (\S+)/.exec(this.output)
    if (pw && !this.adminPassword) this.adminPassword = pw[1]
  }

  /** Stops the server (SIGTERM, or SIGKILL with `kill`) and waits for the exit. */
  async stop(kill = false): Promise<void> {
    const p = this.proc
    if (!p || p.exitCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill(kill ? 'SIGKILL' : 'SIGTERM')
    await exited
    this.proc = undefined
  }

  async dispose(): Promise<void> {
    await this.stop()
    rmSync(this.dataDir, { recursive: true, force: true })
  }
}

/** A pretend customer website on its own origin, embedding the widget. */
export class Site {
  server?: Server
  origin = ''
  pages = new Map<string, string>()

  async start(): Promise<void> {
    const port = await freePort()
    this.origin = `http://127.0.0.1:${port}`
    this.server = createServer((req, res) => {
      const page = this.pages.get((req.url ?? '/').split('?')[0])
      if (page === undefined) {
        res.writeHead(404).end('not found')
        return
      }
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(page)
    })
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r))
  }

  /** Serves `path` as a shop page with the widget snippet for `inboxKey`. */
  embed(path: string, kefuBase: string, inboxKey: string, extra = ''): string {
    this.pages.set(
      path,
      `<!doctype html><html><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>A shop</h1><p>Products…</p>${extra}
<script src="${kefuBase}/widget.js" data-inbox="${inboxKey}" async></script></body></html>`,
    )
    return this.origin + path
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise((r) => this.server?.close(r))
  }
}

/** Headless Debian Chromium with a fresh user-data dir. */
export async function browser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'kefu-chromium-'))
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1200, height: 800 },
    locale: 'en-US',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
    ],
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(userDataDir, { recursive: true, force: true })
    },
  }
}

/** Logs into the console in `page` as `email` (page errors are printed). */
export async function consoleLogin(page: Page, base: string, email: string, password: string): Promise<void> {
  page.on('pageerror', (e) => console.error(`console page error (${email}):`, e))
  await page.goto(`${base}/console/`)
  await page.locator('input[name=email]').fill(email)
  await page.locator('input[name=password]').fill(password)
  await page.locator('button[type=submit]').click()
  await page.locator('[data-test="nav-inbox"]').waitFor()
}

export function outDir(): string {
  mkdirSync(OUT, { recursive: true })
  return OUT
}

type Json = Record<string, any>

/** An agent (or admin) speaking the REST API, as the console will. */
export class Agent {
  token = ''
  constructor(readonly base: string) {}

  async login(email: string, password: string): Promise<void> {
    const r = await this.call('POST', '/api/v1/auth/login', { email, password })
    this.token = r.access_token
  }

  async call(method: string, path: string, body?: unknown): Promise<Json> {
    const r = await fetch(this.base + path, {
      method,
      headers: {
        ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: body !== undefined ? JSON.stringify(body) : undefined,
    })
    const text = await r.text()
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text}`)
    return text ? JSON.parse(text) : {}
  }

  async firstInbox(): Promise<Json> {
    return (await this.call('GET', '/api/v1/inboxes')).items[0]
  }
}

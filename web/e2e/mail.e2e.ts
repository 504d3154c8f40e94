// E-mailed links in a real browser against a real kefu sending through a
// real SMTP server (PyPI aiosmtpd, from the virtualenv scripts/py-venv.sh
// makes): an admin invites an agent from the agents page, the invitee opens
// the mailed link in their own browser, sets name and password and is in;
// an agent who forgot their password asks on the login page, opens the
// mailed link, sets a new one and logs in with it.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, browser, freePort, Kefu, outDir, until } from './harness'

const ROOT = resolve(__dirname, '../..')
const VENV = process.env.KEFU_PY_VENV ?? join(ROOT, 'target/py-venv')
const mailDir = mkdtempSync(join(tmpdir(), 'kefu-smtp-'))
const mailFile = join(mailDir, 'mails.jsonl')
const kefu = new Kefu()
let smtp: ChildProcess
let admin: Agent
const closers: (() => Promise<void>)[] = []

/** The raw mails aiosmtpd received for `to`. */
function mailsTo(to: string): string[] {
  if (!existsSync(mailFile)) return []
  return readFileSync(mailFile, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { rcpt_tos: string[]; data: string })
    .filter((m) => m.rcpt_tos.includes(to))
    .map((m) => m.data)
}

/** Undoes the transfer encodings lettre may pick (quoted-printable, base64). */
function decoded(raw: string): string {
  const qp = raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16)))
  const b64 = (raw.match(/(?:^[A-Za-z0-9+/=]{16,}\r?\n)+/gm) ?? []).map((b) => Buffer.from(b.replace(/\s/g, ''), 'base64').toString('utf8'))
  return [qp, ...b64].join('\n')
}

/** The console link (`…/console/#/<route>/<token>`) in the newest mail to `to`. */
async function mailedLink(to: string, route: 'invite' | 'reset', n = 1): Promise<string> {
  const raw = await until(() => mailsTo(to)[n - 1], `mail #${n} to ${to}`, 15_000)
  const m = new RegExp(`(https?://[^\\s"<>]+/console/#/${route}/[A-Za-z0-9_-]+)`).exec(decoded(raw))
  expect(m, `a ${route} link in:\n${raw}`).not.toBeNull()
  return m![1]
}

const tid = (page: Page, id: string) => page.locator(`[data-test="${id}"]`)

async function consoleLogin(page: Page, email: string, password: string) {
  await page.goto(`${kefu.base}/console/`)
  await page.locator('input[name=email]').fill(email)
  await page.locator('input[name=password]').fill(password)
  await page.locator('button[type=submit]').click()
  await tid(page, 'nav-inbox').waitFor()
}

async function login(email: string, password: string): Promise<number> {
  const r = await fetch(`${kefu.base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  return r.status
}

beforeAll(async () => {
  const setup = spawnSync(join(ROOT, 'scripts/py-venv.sh'), { env: { ...process.env, KEFU_PY_VENV: VENV }, stdio: 'inherit' })
  expect(setup.status, 'scripts/py-venv.sh (aiosmtpd)').toBe(0)
  const smtpPort = await freePort()
  smtp = spawn(join(VENV, 'bin/python'), [join(ROOT, 'crates/kefu-server/tests/mail_support/smtp_sink.py'), String(smtpPort), mailFile], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((ok, fail) => {
    smtp.stdout!.once('data', (d) => (String(d).includes('ready') ? ok() : fail(new Error(String(d)))))
    smtp.once('exit', (c) => fail(new Error(`aiosmtpd exited with ${c}`)))
  })
  kefu.port = await freePort()
  Object.assign(kefu.extraEnv, {
    KEFU_MAIL__HOST: '127.0.0.1',
    KEFU_MAIL__PORT: String(smtpPort),
    KEFU_MAIL__TLS: 'none',
    KEFU_MAIL__FROM_ADDRESS: 'support@kefu.test',
    KEFU_MAIL__BASE_URL: `http://127.0.0.1:${kefu.port}`,
    KEFU_MAIL__POLL_MS: '100',
  })
  await kefu.start()
  admin = new Agent(kefu.base)
  await admin.login(kefu.adminEmail, kefu.adminPassword)
})

afterAll(async () => {
  for (const c of closers) await c()
  await kefu.dispose()
  smtp?.kill()
  rmSync(mailDir, { recursive: true, force: true })
})

describe('e-mailed links in the console', () => {
  it('an invited agent accepts through the mailed link, sets name and password, and can log in', async () => {
    const a = await browser()
    closers.push(a.close)
    const page = await a.context.newPage()
    await consoleLogin(page, kefu.adminEmail, kefu.adminPassword)
    await page.goto(`${kefu.base}/console/#/admin/agents`)
    await page.locator('input[name=invite-email]').fill('invited@team.test')
    await tid(page, 'invite-agent').locator('button[type=submit]').click()
    await expect.poll(() => tid(page, 'invite-notice').textContent()).toContain('invited@team.test')

    const link = await mailedLink('invited@team.test', 'invite')
    // The invitee, in a browser of their own.
    const b = await browser()
    closers.push(b.close)
    const inv = await b.context.newPage()
    await inv.goto(link)
    const form = tid(inv, 'accept-invite')
    await expect.poll(() => form.textContent()).toContain('invited@team.test')
    await form.locator('input[name=name]').fill('Ivy Invited')
    await form.locator('input[name=password]').fill('ivy-passw0rd')
    await form.locator('input[name=repeat]').fill('ivy-passw0rd')
    await form.locator('button[type=submit]').click()
    await tid(inv, 'nav-inbox').waitFor()
    await expect.poll(() => tid(inv, 'nav-settings').textContent()).toContain('Ivy Invited')
    await inv.screenshot({ path: join(outDir(), 'mail-invite-accepted.png') })
    // The link is used up; logging in again works.
    await tid(inv, 'logout').click()
    await consoleLogin(inv, 'invited@team.test', 'ivy-passw0rd')
    const again = await b.context.newPage()
    await again.goto(link)
    await tid(again, 'invalid-link').waitFor()
    // The admin sees the new member.
    await page.reload()
    await expect.poll(() => tid(page, 'agents-table').textContent()).toContain('Ivy Invited')
  })

  it('forgot password on the login page mails a link that sets a new password', async () => {
    await admin.call('POST', '/api/v1/users', { email: 'forgetful@team.test', name: 'Fay', password: 'old-passw0rd', role: 'agent' })
    const b = await browser()
    closers.push(b.close)
    const page = await b.context.newPage()
    await page.goto(`${kefu.base}/console/`)
    await tid(page, 'forgot').click()
    const form = tid(page, 'forgot-form')
    await form.locator('input[name=email]').fill('forgetful@team.test')
    await form.locator('button[type=submit]').click()
    await expect.poll(() => tid(page, 'link-sent').textContent()).toContain('forgetful@team.test')

    const link = await mailedLink('forgetful@team.test', 'reset')
    await page.goto(link)
    const reset = tid(page, 'reset-password')
    await reset.locator('input[name=password]').fill('new-passw0rd')
    await reset.locator('input[name=repeat]').fill('new-passw0rd')
    await reset.locator('button[type=submit]').click()
    await tid(page, 'reset-done').waitFor()
    await page.screenshot({ path: join(outDir(), 'mail-password-reset.png') })
    expect(await login('forgetful@team.test', 'old-passw0rd')).toBe(401)
    await tid(page, 'back-to-login').click()
    await page.locator('input[name=email]').fill('forgetful@team.test')
    await page.locator('input[name=password]').fill('new-passw0rd')
    await page.locator('button[type=submit]').click()
    await tid(page, 'nav-inbox').waitFor()
  })

  it('a visitor mails themselves the conversation from the chat page; the console says when it is too soon', async () => {
    const inbox = await admin.firstInbox()
    const b = await browser()
    closers.push(b.close)
    const page = await b.context.newPage()
    await page.goto(`${kefu.base}/chat/${inbox.public_key}`)
    const w = (sel: string) => page.locator(`#kefu-widget ${sel}`)
    await w('textarea').fill('Please send me this chat')
    await w('textarea').press('Enter')
    await until(async () => (await w('.msg.me .meta').last().textContent())?.includes('Sent'), 'the message sent')
    await page.evaluate(() => (window as any).kefu('identify', { email: 'visitor@shop.test' }))
    await until(async () => (await admin.call('GET', '/api/v1/contacts?limit=200')).items.some((c: any) => c.email === 'visitor@shop.test'), 'the e-mail stored')
    await w('.hb.mail').click()
    await until(async () => (await w('.note').textContent())?.includes('On its way'), 'the widget to confirm')
    const raw = await until(() => mailsTo('visitor@shop.test')[0], 'the transcript mail', 15_000)
    expect(decoded(raw)).toContain('Please send me this chat')
    // The agent's button on the same conversation, moments later: refused, and said so.
    const convs = (await admin.call('GET', '/api/v1/conversations?limit=50')).items
    const conv = convs.find((c: any) => c.contact_id && c.last_seq >= 1)
    const a = await browser()
    closers.push(a.close)
    const agentPage = await a.context.newPage()
    await consoleLogin(agentPage, kefu.adminEmail, kefu.adminPassword)
    await agentPage.goto(`${kefu.base}/console/#/inbox/${conv.id}`)
    await tid(agentPage, 'email-transcript').click()
    await expect.poll(() => tid(agentPage, 'transcript-msg').textContent()).toContain('moments ago')
  })
})

// Every error code errors.ts words, in both languages, with the placeholders
// filled in (the limit to wait for, the size limit, the message length).
import { afterEach, describe, expect, it, vi } from 'vitest'

vi.mock('./i18n', async () => {
  const { ref } = await import('vue')
  return { lang: ref('en') }
})

const { ApiError } = await import('./api')
const { errorStrings, errorText, limits, sendErrorText, size, tooLong } = await import('./errors')
const { lang } = (await import('./i18n')) as unknown as { lang: { value: string } }

type Key = keyof typeof errorStrings.en

/** An error as the API sends it: status, code, English detail, Retry-After, path. */
const err = (code: string, message = 'detail from the server', path = '/api/v1/x', retryAfter?: number) =>
  new ApiError(400, code, message, retryAfter, path)

const fill = (s: string, vars: Record<string, string | number>) => s.replace(/\{(\w+)\}/g, (_, k: string) => String(vars[k]))

/** [what fails, the string it is worded with, what fills the placeholders] */
const cases: [string, unknown, Key, Record<string, string | number>][] = [
  ['a failed fetch', new TypeError('Failed to fetch'), 'network', {}],
  ['a rate limit', err('rate_limited', 'too many requests; slow down', '/api/v1/auth/login', 7), 'rateLimited', { s: 7 }],
  ['a rate limit without Retry-After', err('rate_limited'), 'rateLimited', { s: 5 }],
  ['a file too large', err('payload_too_large'), 'tooLarge', { size: '10 MB' }],
  ['a conflict', err('conflict', 'x', '/api/v1/labels'), 'conflict', {}],
  ['a canned shortcut taken', err('conflict', 'x', '/api/v1/canned-replies'), 'conflictCanned', {}],
  ['a user e-mail taken', err('conflict', 'a user with email a@b.c already exists', '/api/v1/users'), 'conflictUser', {}],
  ['an invitation to an existing user', err('conflict', 'x', '/api/v1/users/invitations'), 'conflictUser', {}],
  ['a group name taken', err('conflict', 'x', '/api/v1/groups'), 'conflictGroup', {}],
  ['a macro name taken', err('conflict', 'x', '/api/v1/macros/m1'), 'conflictMacro', {}],
  ['an ended session', err('unauthorized'), 'unauthorized', {}],
  ['a forbidden action', err('forbidden'), 'forbidden', {}],
  ['something deleted', err('not_found'), 'notFound', {}],
  ['a validation error', err('validation', 'name is required'), 'validation', { detail: 'name is required' }],
  ['bad JSON', err('bad_json', 'expected a string'), 'validation', { detail: 'expected a string' }],
  ['a bad request', err('bad_request', 'bad cursor'), 'validation', { detail: 'bad cursor' }],
  ['a message over the limit', err('validation', 'message is 5001 characters; the limit is 5000'), 'tooLong', { n: 5001, max: 5000 }],
  ['a status change refused', err('invalid_transition'), 'transition', {}],
  ['a closed conversation', err('conversation_closed'), 'closed', {}],
  ['a busy server', err('unavailable'), 'unavailable', {}],
  ['a busy socket', err('busy'), 'unavailable', {}],
  ['a server failure', err('internal'), 'internal', {}],
  ['a file type refused', err('unsupported_media_type'), 'mediaType', {}],
  ['an avatar too large', err('avatar_too_large'), 'avatarTooLarge', { size: '1 MB' }],
  ['an avatar not an image', err('not_an_image'), 'notAnImage', {}],
  ['blocked words', err('message_blocked', 'foo, bar'), 'blocked', { detail: 'foo, bar' }],
  ['push off', err('push_disabled'), 'pushDisabled', {}],
  ['a bad push endpoint', err('bad_endpoint'), 'pushRefused', { code: 'bad_endpoint' }],
  ['a push endpoint not allowed', err('endpoint_not_allowed'), 'pushRefused', { code: 'endpoint_not_allowed' }],
  ['a bad push key', err('bad_p256dh'), 'pushRefused', { code: 'bad_p256dh' }],
  ['a bad push secret', err('bad_auth'), 'pushRefused', { code: 'bad_auth' }],
  ['an unknown code', err('teapot'), 'other', { code: 'teapot' }],
]

afterEach(() => {
  lang.value = 'en'
})

describe.each([
  ['en', errorStrings.en],
  ['zh-CN', errorStrings.zh],
])('errorText in %s', (l, words) => {
  it.each(cases)('words %s', (_, e, key, vars) => {
    lang.value = l
    const text = errorText(e)
    expect(text).toBe(fill(words[key], vars))
    expect(text).not.toMatch(/\{\w+\}/)
    if (l === 'zh-CN') expect(text).not.toMatch(/too many requests|already exists|Failed to fetch/)
  })

  it('words a send refused over the socket like the API, keeping the limit numbers', () => {
    lang.value = l
    const text = sendErrorText('validation', 'message is 6000 characters; the limit is 5000')
    expect(text).toBe(fill(words.tooLong, { n: 6000, max: 5000 }))
    expect(text).toContain('6000')
    expect(sendErrorText('conversation_closed', 'conversation is closed')).toBe(words.closed)
  })

  it('refuses a message over the limit before sending, with both numbers', () => {
    lang.value = l
    expect(tooLong('x'.repeat(limits.max_message_chars))).toBeNull()
    expect(tooLong('x'.repeat(limits.max_message_chars + 1))).toBe(fill(words.tooLong, { n: limits.max_message_chars + 1, max: limits.max_message_chars }))
  })
})

describe('the error strings', () => {
  it('have the same keys and placeholders in both languages', () => {
    const ph = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    expect(Object.keys(errorStrings.zh).sort()).toEqual(Object.keys(errorStrings.en).sort())
    for (const k of Object.keys(errorStrings.en) as Key[]) expect(ph(errorStrings.zh[k])).toEqual(ph(errorStrings.en[k]))
  })

  it('every string is used by some case above', () => {
    const used = new Set(cases.map((c) => c[2]))
    used.add('tooLong')
    expect((Object.keys(errorStrings.en) as Key[]).filter((k) => !used.has(k))).toEqual([])
  })

  it('sizes read as people read them', () => {
    expect(size(10 * 1024 * 1024)).toBe('10 MB')
    expect(size(2048)).toBe('2 KB')
    expect(size(512)).toBe('512 B')
  })
})

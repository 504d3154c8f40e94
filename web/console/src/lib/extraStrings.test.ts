import { describe, expect, it, vi } from 'vitest'

// i18n.ts reads the saved language when loaded.
vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => undefined })
vi.stubGlobal('navigator', { language: 'en' })
const { en, zh } = await import('./extraStrings')
const { errorStrings } = await import('./errors')

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

function same(a: unknown, b: unknown, path: string) {
  if (typeof a === 'string') {
    expect(typeof b, path).toBe('string')
    expect((b as string).length, path).toBeGreaterThan(0)
    expect(placeholders(b as string), path).toEqual(placeholders(a))
    return
  }
  expect(Object.keys(b as object).sort(), path).toEqual(Object.keys(a as object).sort())
  for (const k of Object.keys(a as object)) same((a as any)[k], (b as any)[k], `${path}.${k}`)
}

describe('extra strings and error messages', () => {
  it('have every string in both languages with the same placeholders', () => {
    same(en, zh, 'extra')
    same(errorStrings.en, errorStrings.zh, 'errors')
  })
})

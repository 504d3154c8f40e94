import { describe, expect, it } from 'vitest'
import { NO_FILTERS, markParts, searchQuery } from './searchQuery'

describe('markParts', () => {
  it('turns marks into pieces and entities into text', () => {
    expect(markParts('我要<mark>退款</mark> &lt;b&gt; &amp; <mark>refund</mark>')).toEqual([
      { text: '我要', hit: false },
      { text: '退款', hit: true },
      { text: ' <b> & ', hit: false },
      { text: 'refund', hit: true },
    ])
  })
  it('decodes each entity once', () => {
    expect(markParts('&amp;lt;')).toEqual([{ text: '&lt;', hit: false }])
  })
})

describe('searchQuery', () => {
  it('sends only the filters set, days as the local day bounds', () => {
    const p = new URLSearchParams(searchQuery('退款 refund', 'messages', { ...NO_FILTERS, status: 'open', from: '2026-01-02', to: '2026-01-02' }, 'c1'))
    expect(p.get('q')).toBe('退款 refund')
    expect(p.get('status')).toBe('open')
    expect(p.get('inbox')).toBeNull()
    expect(Number(p.get('to')) - Number(p.get('from'))).toBe(86_400_000)
    expect(p.get('from')).toBe(String(new Date('2026-01-02T00:00:00').getTime()))
    expect(p.get('cursor')).toBe('c1')
  })
})

describe('search strings', () => {
  it('has every string in both languages with the same placeholders', async () => {
    const { searchEn, searchZh } = await import('./searchStrings')
    const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
    const walk = (a: unknown, b: unknown, path: string) => {
      if (typeof a === 'string') {
        expect(typeof b, path).toBe('string')
        expect(placeholders(b as string), path).toEqual(placeholders(a))
        return
      }
      expect(Object.keys(b as object).sort(), path).toEqual(Object.keys(a as object).sort())
      for (const k of Object.keys(a as object)) walk((a as never)[k], (b as never)[k], `${path}.${k}`)
    }
    walk(searchEn, searchZh, 'search')
  })
})

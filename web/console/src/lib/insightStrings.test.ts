import { describe, expect, it } from 'vitest'
import { insightEn, insightZh } from './insightStrings'
import { reportEn, reportZh } from './reportStrings'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('insight strings', () => {
  it('has every string in both languages with the same placeholders', () => {
    const walk = (a: unknown, b: unknown, path: string) => {
      if (typeof a === 'string') {
        expect(typeof b, path).toBe('string')
        expect((b as string).length, path).toBeGreaterThan(0)
        expect(placeholders(b as string), path).toEqual(placeholders(a))
        return
      }
      expect(Object.keys(b as object).sort(), path).toEqual(Object.keys(a as object).sort())
      for (const k of Object.keys(a as object)) walk((a as never)[k], (b as never)[k], `${path}.${k}`)
    }
    walk(insightEn, insightZh, 'insight')
    walk(reportEn, reportZh, 'report')
  })
})

import { describe, expect, it } from 'vitest'
import { fillMail, mailEn, mailZh } from './mailStrings'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('mail strings', () => {
  it('has every string in both languages with the same placeholders', () => {
    expect(Object.keys(mailZh).sort()).toEqual(Object.keys(mailEn).sort())
    for (const k of Object.keys(mailEn) as (keyof typeof mailEn)[]) {
      expect(mailZh[k].length, k).toBeGreaterThan(0)
      expect(placeholders(mailZh[k]), k).toEqual(placeholders(mailEn[k]))
    }
  })

  it('fills placeholders and leaves unknown ones', () => {
    expect(fillMail(mailEn.invited, { email: 'a@b.c' })).toBe('Invitation sent to a@b.c.')
    expect(fillMail('{x} {y}', { x: 1 })).toBe('1 {y}')
  })
})

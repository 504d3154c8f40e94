import { describe, expect, it } from 'vitest'
import { keyBytes, pushSupport, sameKey } from './push'
import { fillPush, pushEn, pushZh } from './pushStrings'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('push strings', () => {
  it('has every string in both languages with the same placeholders', () => {
    expect(Object.keys(pushZh).sort()).toEqual(Object.keys(pushEn).sort())
    for (const k of Object.keys(pushEn) as (keyof typeof pushEn)[]) {
      expect(pushZh[k].length, k).toBeGreaterThan(0)
      expect(placeholders(pushZh[k]), k).toEqual(placeholders(pushEn[k]))
    }
  })

  it('fills placeholders', () => {
    expect(fillPush(pushEn.testSent, { n: 2 })).toContain('2 of your devices')
    expect(fillPush('{x} {y}', { x: 1 })).toBe('1 {y}')
  })
})

describe('push support', () => {
  const full = { isSecureContext: true, navigator: { serviceWorker: {} }, PushManager: class {}, Notification: class {} }

  it('needs a secure context, service workers, PushManager and notifications', () => {
    expect(pushSupport(full)).toBe('supported')
    expect(pushSupport({ ...full, isSecureContext: false })).toBe('insecure')
    expect(pushSupport({ ...full, navigator: {} })).toBe('unsupported')
    expect(pushSupport({ ...full, PushManager: undefined })).toBe('unsupported')
    expect(pushSupport({ ...full, Notification: undefined })).toBe('unsupported')
  })
})

describe('server keys', () => {
  // A VAPID public key as kefu sends it: base64url, no padding, 65 bytes.
  const key = 'BEl62iUYgUivxIkv69yViEuiBIa-Ib9-SkvMeAtA3LFgDzkrxZJjSgSnfckjBJuBkr3qBUYIHBQFLXYp5Nksh8U'

  it('decodes base64url to the 65-byte point', () => {
    const b = keyBytes(key)
    expect(b.length).toBe(65)
    expect(b[0]).toBe(4)
    expect(keyBytes('-_8')).toEqual(new Uint8Array([0xfb, 0xff]))
  })

  it('compares a subscription key with ours', () => {
    const b = keyBytes(key)
    expect(sameKey(b.slice().buffer, b)).toBe(true)
    const other = b.slice()
    other[10] ^= 1
    expect(sameKey(other.buffer, b)).toBe(false)
    expect(sameKey(null, b)).toBe(false)
    expect(sameKey(new ArrayBuffer(3), b)).toBe(false)
  })
})

import { describe, expect, it } from 'vitest'
import { snoozeUntil, waitLabel, waitingAfter } from './lifecycle'

const msg = (kind: string, sender: string, created_at: number) => ({ kind, created_at, sender: { kind: sender, id: 'x' } }) as never

describe('waitingAfter', () => {
  it('starts with the visitor and keeps the first unanswered message', () => {
    expect(waitingAfter(null, msg('text', 'visitor', 5))).toBe(5)
    expect(waitingAfter(5, msg('text', 'visitor', 9))).toBe(5)
  })
  it('ends with a visible answer, not with a note or a system line', () => {
    expect(waitingAfter(5, msg('note', 'agent', 9))).toBe(5)
    expect(waitingAfter(5, msg('text', 'system', 9))).toBe(5)
    expect(waitingAfter(5, msg('image', 'agent', 9))).toBeNull()
    expect(waitingAfter(5, msg('text', 'api', 9))).toBeNull()
  })
})

describe('snoozeUntil', () => {
  // Wednesday 2026-12-02 15:30 local time.
  const now = new Date(2026, 11, 2, 15, 30)
  it('an hour later', () => expect(snoozeUntil('hour', now)).toBe(now.getTime() + 3_600_000))
  it('tomorrow at nine', () => expect(new Date(snoozeUntil('tomorrow', now))).toEqual(new Date(2026, 11, 3, 9, 0)))
  it('next Monday at nine', () => expect(new Date(snoozeUntil('nextWeek', now))).toEqual(new Date(2026, 11, 7, 9, 0)))
  it('on a Monday, the Monday after', () => expect(new Date(snoozeUntil('nextWeek', new Date(2026, 11, 7, 8)))).toEqual(new Date(2026, 11, 14, 9, 0)))
})

describe('waitLabel', () => {
  const u = { s: 's', m: 'm', h: 'h', d: 'd' }
  it('reads short', () => {
    expect(waitLabel(45_000, u)).toBe('45s')
    expect(waitLabel(12 * 60_000, u)).toBe('12m')
    expect(waitLabel((3 * 60 + 5) * 60_000, u)).toBe('3h 5m')
    expect(waitLabel((2 * 24 + 4) * 3_600_000, u)).toBe('2d 4h')
  })
})

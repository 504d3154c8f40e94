import { describe, expect, it } from 'vitest'
import { actorName, describeEvent, interleave, mergeEvents, visibleEvents } from './events'
import { en, zh } from './strings'
import type { ConvEvent, Message } from './types'

let n = 0
const ev = (kind: string, data: Record<string, unknown>, at = 100, actor: [string, string] = ['agent', 'u1']): ConvEvent => ({
  id: `0190-${String(++n).padStart(4, '0')}`,
  conversation_id: 'c1',
  kind,
  actor_kind: actor[0],
  actor_id: actor[1],
  data,
  created_at: at,
})
const names: Record<string, string> = { u1: 'Li Lei', u2: 'Han Meimei' }
const name = (id: string) => names[id] ?? '?'
const say = (e: ConvEvent, d = en) => describeEvent(e, d, name)

describe('audit lines of the typed events', () => {
  it('says each type', () => {
    expect(say(ev('conversation_status_changed', { from: 'open', to: 'resolved' }))).toBe('Status: Open → Resolved')
    expect(say(ev('conversation_queued', { group: 'billing' }))).toBe(say(ev('status_changed', { from: 'open', to: 'queued', group: 'billing' })))
    expect(say(ev('conversation_assigned', { from: null, to: 'u2', group: 'billing', by: 'routing' }))).toBe('Assigned to Han Meimei by routing (billing)')
    expect(say(ev('conversation_assigned', { from: null, to: 'u1', group: 'grab', by: 'claim' }), zh)).toBe('Li Lei 抢单接入')
    expect(say(ev('conversation_unassigned', { from: 'u1' }))).toBe('Unassigned')
    expect(say(ev('conversation_transferred', { from_agent: 'u1', to_agent: 'u2', from_group: null, to_group: null, reason: 'manual', note: 'VIP' }))).toBe('Transferred from Li Lei to Han Meimei')
    expect(say(ev('conversation_transferred', { from_agent: 'u1', to_agent: null, from_group: null, to_group: 'billing', reason: 'manual', note: null }))).toBe('Transferred to group billing')
    expect(say(ev('conversation_transferred', { from_agent: null, to_agent: null, from_group: 'billing', to_group: 'tier2', reason: 'queue_timeout', note: null }))).toBe('Waited too long in billing: moved to tier2')
    expect(say(ev('conversation_transferred', { from_agent: null, to_agent: null, from_group: 'vip', to_group: null, reason: 'group_deleted', note: null }), zh)).toBe('技能组 vip 已删除：离开排队')
    expect(say(ev('conversation_priority_changed', { from: 'normal', to: 'urgent' }), zh)).toBe('优先级 普通 → 紧急')
    expect(say(ev('conversation_labels_changed', { added: ['vip'], removed: ['old'] }))).toBe('Tags: +vip −old')
    expect(say(ev('conversation_offline', { reason: 'queue_timeout', group: 'billing' }))).toBe('Left for offline follow-up (nobody in billing answered in time)')
  })

  it('says a customer rating with its stars and comment', () => {
    expect(say(ev('conversation_rated', { rating: 4, comment: 'quick' }, 100, ['visitor', 'k1']))).toBe('The customer rated it ★★★★☆ (4/5): “quick”')
    expect(say(ev('conversation_rated', { rating: 2, comment: null }), zh)).toBe('客户评分 ★★☆☆☆（2/5 分）')
    expect(say(ev('conversation_rated', { rating: 'x' }))).toBe('The customer rated it ☆☆☆☆☆ (0/5)')
  })

  it('shows one line per write', () => {
    const transfer = [
      ev('conversation_transferred', { from_agent: 'u1', to_group: 'sales', reason: 'manual' }, 200),
      ev('conversation_unassigned', { from: 'u1' }, 200),
      ev('conversation_status_changed', { from: 'open', to: 'queued' }, 200),
      ev('conversation_queued', { group: 'sales' }, 200),
    ]
    const offline = [
      ev('conversation_labels_changed', { added: ['offline'], removed: [] }, 300),
      ev('conversation_offline', { reason: 'closed', group: 'night' }, 300),
    ]
    const kept = visibleEvents([ev('conversation_created', { inbox_id: 'i' }, 100), ...transfer, ...offline])
    expect(kept.map((e) => e.kind)).toEqual(['conversation_transferred', 'conversation_offline'])
  })
})

describe('audit lines', () => {
  it('says where a conversation waits, in both languages', () => {
    const q = ev('status_changed', { from: 'open', to: 'queued', group: 'billing' })
    expect(say(q)).toBe('Queued in billing')
    expect(say(q, zh)).toBe('进入 billing 排队')
    expect(say(ev('status_changed', { from: 'open', to: 'queued' }))).toBe('Queued')
    expect(say(ev('status_changed', { from: 'open', to: 'resolved' }))).toBe('Status: Open → Resolved')
    expect(say(ev('status_changed', { from: 'resolved', to: 'open' }), zh)).toBe('状态：已解决 → 进行中')
  })
  it('names who got it and how', () => {
    expect(say(ev('assigned', { from: null, to: 'u2' }))).toBe('Assigned to Han Meimei')
    expect(say(ev('assigned', { from: null, to: 'u2', group: 'billing', by: 'routing' }))).toBe('Assigned to Han Meimei by routing (billing)')
    expect(say(ev('assigned', { from: null, to: 'u1', by: 'claim' }), zh)).toBe('Li Lei 抢单接入')
    expect(say(ev('assigned', { from: 'u1', to: null }))).toBe('Unassigned')
  })
  it('describes transfers to agents, to groups and queue-timeout moves', () => {
    expect(say(ev('transferred', { from: 'u1', to: 'u2', note: 'VIP' }))).toBe('Transferred from Li Lei to Han Meimei')
    expect(say(ev('transferred', { from: null, to: 'u2', note: '' }), zh)).toBe('转接给 Han Meimei')
    expect(say(ev('transferred', { from: 'u1', group: 'billing', note: '' }))).toBe('Transferred to group billing')
    expect(say(ev('transferred', { from_group: 'billing', group: 'tier2', note: 'queue timeout' }))).toBe('Waited too long in billing: moved to tier2')
  })
  it('describes priority and tag changes', () => {
    expect(say(ev('labels_changed', { priority: { from: 'normal', to: 'high' } }))).toBe('Priority Normal → High')
    expect(say(ev('labels_changed', { priority: { from: 'normal', to: 'urgent' } }), zh)).toBe('优先级 普通 → 紧急')
    expect(say(ev('labels_changed', { tags: { from: ['a'], to: ['a', 'vip'] } }))).toBe('Tags: +vip')
    expect(say(ev('labels_changed', { priority: { from: 'high', to: 'low' }, tags: { from: ['old'], to: ['vip'] } }))).toBe('Priority High → Low · Tags: +vip −old')
    expect(say(ev('labels_changed', {}))).toBeNull()
  })
  it('explains offline follow-up', () => {
    expect(say(ev('offline', { reason: 'closed', group: null }))).toBe('Left for offline follow-up (outside business hours)')
    expect(say(ev('offline', { reason: 'closed', group: 'billing' }), zh)).toBe('转为留言跟进（billing 非工作时间）')
    expect(say(ev('offline', { reason: 'queue_timeout', group: 'billing' }))).toBe('Left for offline follow-up (nobody in billing answered in time)')
    expect(say(ev('offline', { reason: 'rule', group: null }), zh)).toBe('转为留言跟进（路由规则）')
    expect(say(ev('offline', { reason: 'new-reason', group: null }))).toBe('Left for offline follow-up')
  })
  it('leaves out unknown kinds and says who acted', () => {
    expect(say(ev('created', { inbox_id: 'i' }))).toBeNull()
    expect(say(ev('something_new', {}))).toBeNull()
    expect(actorName(ev('assigned', {}, 1, ['system', 'routing']), zh, name)).toBe('路由')
    expect(actorName(ev('assigned', {}, 1, ['system', 'timer']), en, name)).toBe('System')
    expect(actorName(ev('assigned', {}, 1, ['agent', 'u2']), en, name)).toBe('Han Meimei')
  })
})

describe('the timeline', () => {
  it('drops status changes another line of the same write already tells', () => {
    const routed = [
      ev('created', {}, 10),
      ev('status_changed', { from: 'open', to: 'queued', group: 'billing' }, 20, ['system', 'routing']),
      ev('assigned', { from: null, to: 'u1', group: 'billing', by: 'routing' }, 30, ['system', 'routing']),
      ev('status_changed', { from: 'queued', to: 'open' }, 30, ['system', 'routing']),
      ev('transferred', { from: 'u1', group: 'tier2', note: '' }, 40),
      ev('status_changed', { from: 'open', to: 'queued', group: 'tier2' }, 40),
      ev('status_changed', { from: 'queued', to: 'resolved' }, 50),
    ]
    expect(visibleEvents(routed).map((e) => say(e))).toEqual([
      'Queued in billing',
      'Assigned to Li Lei by routing (billing)',
      'Transferred to group tier2',
      'Status: Queued → Resolved',
    ])
  })
  it('merges pages of events once each, in order', () => {
    const a = ev('assigned', { to: 'u1' }, 5)
    const b = ev('assigned', { to: 'u2' }, 7)
    const c = ev('assigned', { to: null }, 7)
    const held = [a]
    expect(mergeEvents(held, [])).toBe(held)
    expect(mergeEvents(held, [c, b, a]).map((e) => e.id)).toEqual([a.id, b.id, c.id])
  })
  it('puts events between the messages by time, waiting for older pages', () => {
    const m = (seq: number, at: number) => ({ seq, created_at: at }) as Message
    const msgs = [m(5, 100), m(6, 200), m(7, 300)]
    const evs = [ev('x', {}, 50), ev('y', {}, 200), ev('z', {}, 250), ev('w', {}, 400)]
    const line = (hasOlder: boolean) =>
      interleave(msgs, evs, hasOlder).map((i) => (i.kind === 'message' ? `m${i.message.seq}` : i.event.kind))
    expect(line(false)).toEqual(['x', 'm5', 'm6', 'y', 'z', 'm7', 'w'])
    // Older messages not loaded yet: the event from before them waits for them.
    expect(line(true)).toEqual(['m5', 'm6', 'y', 'z', 'm7', 'w'])
    expect(interleave([], evs.slice(0, 1), false).map((i) => i.kind)).toEqual(['event'])
  })
})

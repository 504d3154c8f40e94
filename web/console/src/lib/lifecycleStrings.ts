// Strings of the conversation lifecycle (pending, snooze, waiting time,
// default assignment, reopen window, closing message) in English and Chinese
// (zh-CN), beside strings.ts like the webhooks page's. Pure data.

import { computed } from 'vue'
import { lang } from './i18n'

export const lifecycleEn = {
  markPending: 'Pending',
  markPendingHint: 'Waiting for the customer: it opens again when they write (P)',
  snooze: 'Snooze',
  snoozeHint: 'Put it aside until later (Z)',
  snoozeHour: 'For 1 hour',
  snoozeTomorrow: 'Until tomorrow, 9:00',
  snoozeNextWeek: 'Until next Monday, 9:00',
  snoozeCustom: 'Until…',
  snoozeSet: 'Snooze',
  snoozedUntil: 'Snoozed until {time}',
  waiting: 'Waiting {wait}',
  units: { s: 's', m: 'm', h: 'h', d: 'd' },
  assignment: 'Assignment',
  defaultGroup: 'Conversations no rule routes go to',
  defaultGroupNone: 'Nobody (they stay unassigned)',
  replyTakes: 'An agent who replies to an unassigned conversation takes it',
  autoJoin: 'New agents join this group',
  reopenWindow: 'A visitor writing within this many hours of a resolve reopens it with the same agent (0: never)',
  closingMessage: 'Closing message (posted to the visitor on resolve; empty: none)',
  filters: 'Filters',
  anyInbox: 'Any inbox',
  anyGroup: 'Any group',
  anyAgent: 'Any agent',
  anyPriority: 'Any priority',
  label: 'Label',
  sortBy: 'Sort by',
  sorts: { activity: 'Last activity', waiting: 'Waiting longest', created: 'Newest', priority: 'Priority' },
  clearFilters: 'Clear filters',
  offers: '{n} offered to you',
  showOffers: 'Show',
  hideOffers: 'Hide',
}

export type LifecycleDict = typeof lifecycleEn

export const lifecycleZh: LifecycleDict = {
  markPending: '待处理',
  markPendingHint: '等待客户回复：客户来信后自动重新打开 (P)',
  snooze: '稍后处理',
  snoozeHint: '暂时搁置，到时自动提醒 (Z)',
  snoozeHour: '1 小时后',
  snoozeTomorrow: '明天 9:00',
  snoozeNextWeek: '下周一 9:00',
  snoozeCustom: '自定义时间…',
  snoozeSet: '确定',
  snoozedUntil: '已搁置至 {time}',
  waiting: '已等待 {wait}',
  units: { s: '秒', m: '分', h: '小时', d: '天' },
  assignment: '分配',
  defaultGroup: '未被规则路由的会话分配给',
  defaultGroupNone: '不分配（保持未分配）',
  replyTakes: '客服回复未分配的会话时，自动分配给该客服',
  autoJoin: '新客服自动加入此分组',
  reopenWindow: '会话解决后多少小时内访客再次来信，由原客服重新打开（0：从不）',
  closingMessage: '结束语（会话解决时发送给访客；留空则不发送）',
  filters: '筛选',
  anyInbox: '全部渠道',
  anyGroup: '全部分组',
  anyAgent: '全部客服',
  anyPriority: '全部优先级',
  label: '标签',
  sortBy: '排序',
  sorts: { activity: '最近活动', waiting: '等待最久', created: '最新创建', priority: '优先级' },
  clearFilters: '清除筛选',
  offers: '{n} 个会话可抢',
  showOffers: '展开',
  hideOffers: '收起',
}

/** The dictionary of the console's language. */
export const tl = computed<LifecycleDict>(() => (lang.value === 'zh-CN' ? lifecycleZh : lifecycleEn))

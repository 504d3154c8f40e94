// Strings of the first-use fixes (issue 12, item 8) in English and Chinese,
// in their own file so that work on strings.ts in parallel does not collide;
// they may move into strings.ts later. `x` follows the console's language.

import { computed } from 'vue'
import { lang } from './i18n'

export const en = {
  image: '[image]',
  file: '[file]',
  /** Kinds of pre-chat form fields. */
  fieldKinds: { text: 'Text', email: 'Email', tel: 'Phone', textarea: 'Long text' } as Record<string, string>,
  /** The name of a thing (inbox, group, key), not of a person. */
  thingName: 'Name',
  confirmDeleteGroup: 'Delete the group "{name}"? This cannot be undone.',
  confirmDeleteCanned: 'Delete the canned reply /{shortcut}? This cannot be undone.',
  setupTitle: 'Set up kefu',
  setupIntro: 'No conversations yet. Three steps and your team is ready:',
  setupSnippet: 'Put the chat widget on your website: paste this before </body> on every page.',
  setupDemo: 'Or try it first on the demo page.',
  setupAgents: 'Invite your agents',
  setupHours: 'Set your business hours',
  setupDone: 'done',
  /** Accessible names: a control in a table row says which row it edits. */
  forItem: '{what}: {name}',
  /** The bell's name holds the count it shows (screen readers and voice control agree). */
  bellUnread: 'Notifications, {n} unread',
  timeoutTo: 'After the queue timeout',
  fieldKind: 'Field type',
  /** The presence menu while the console is not connected. */
  presenceUnknown: 'Status unknown (reconnecting)',
}
export type ExtraDict = typeof en

export const zh: ExtraDict = {
  image: '[图片]',
  file: '[文件]',
  fieldKinds: { text: '文本', email: '邮箱', tel: '电话', textarea: '多行文本' },
  thingName: '名称',
  confirmDeleteGroup: '删除分组“{name}”？此操作无法撤销。',
  confirmDeleteCanned: '删除快捷回复 /{shortcut}？此操作无法撤销。',
  setupTitle: '开始使用 kefu',
  setupIntro: '还没有会话。完成以下三步，团队就可以开始接待：',
  setupSnippet: '把聊天组件放到您的网站上：将下面的代码粘贴到每个页面的 </body> 之前。',
  setupDemo: '也可以先在演示页面试一试。',
  setupAgents: '邀请客服加入',
  setupHours: '设置工作时间',
  setupDone: '已完成',
  forItem: '{what}：{name}',
  bellUnread: '通知，{n} 条未读',
  timeoutTo: '排队超时后',
  fieldKind: '字段类型',
  presenceUnknown: '状态未知（正在重连）',
}

export const x = computed<ExtraDict>(() => (lang.value === 'zh-CN' ? zh : en))

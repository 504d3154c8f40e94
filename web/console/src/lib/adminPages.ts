// The settings pages and their names, for the settings' menu and the
// command bar's "Settings: …" commands.
import { lang, t } from './i18n'
import { webhooksEn, webhooksZh } from './webhookStrings'
import { tc } from './tc'
import { tm } from './tm'
import { tb } from './tb'
import { tsw } from './tsw'
import { ti } from './ti'

export const ADMIN_PAGES = ['reports', 'agents', 'groups', 'routing', 'inboxes', 'canned', 'macros', 'bot', 'sensitive', 'attributes', 'webhooks', 'workspace', 'apiKeys'] as const
export type AdminPage = (typeof ADMIN_PAGES)[number]

export function adminPageLabel(p: AdminPage): string {
  if (p === 'webhooks') return (lang.value === 'zh-CN' ? webhooksZh : webhooksEn).webhooks
  if (p === 'attributes') return tc.value.definitions
  if (p === 'macros') return tm.value.macros
  if (p === 'bot') return tb.value.knowledgeBase
  if (p === 'sensitive') return tsw.value.title
  if (p === 'reports') return ti.value.reports
  return p === 'canned' ? t.value.cannedReplies : t.value[p]
}

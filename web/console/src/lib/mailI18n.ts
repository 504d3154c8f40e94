// The e-mail strings of the console's current language.
import { computed } from 'vue'
import { lang } from './i18n'
import { mailEn, mailZh, type MailDict } from './mailStrings'

export { fillMail } from './mailStrings'
export const mt = computed<MailDict>(() => (lang.value === 'zh-CN' ? mailZh : mailEn))

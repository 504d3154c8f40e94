// The contact strings of the console's language.
import { computed } from 'vue'
import { lang } from './i18n'
import { type ContactDict, contactEn, contactZh } from './contactStrings'

export const tc = computed<ContactDict>(() => (lang.value === 'zh-CN' ? contactZh : contactEn))

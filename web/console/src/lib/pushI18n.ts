// The push notification strings of the console's current language.
import { computed } from 'vue'
import { lang } from './i18n'
import { pushEn, pushZh, type PushDict } from './pushStrings'

export { fillPush } from './pushStrings'
export const pt = computed<PushDict>(() => (lang.value === 'zh-CN' ? pushZh : pushEn))

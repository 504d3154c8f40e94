// What the console tells a person when something fails: the API's error
// `code` (and the path it came from) mapped to a message in their language
// that says what to do and states the limit that was hit. The server's own
// `message` is English and for developers; only a validation detail is shown
// from it, as it names the field. `autoClear` takes an error off the screen
// when its cause is gone (the connection is back, the wait is over).

import { reactive, watch, type Ref } from 'vue'
import { ApiError, api } from './api'
import { lang } from './i18n'

const en = {
  network: 'Cannot reach the server. Check your connection and try again; this message goes away when the connection is back.',
  rateLimited: 'Too many requests. Wait {s} seconds, then try again.',
  tooLarge: 'The file is larger than the upload limit of {size}. Choose a smaller file.',
  conflict: 'This already exists. Choose another name.',
  conflictCanned: 'A canned reply with this shortcut already exists. Choose another shortcut or edit that one.',
  conflictUser: 'An account with this email already exists. Use another email address.',
  conflictGroup: 'A group with this name already exists. Choose another name.',
  conflictMacro: 'A macro with this name already exists. Choose another name or edit that one.',
  unauthorized: 'Your session has ended. Log in again.',
  forbidden: 'You are not allowed to do this. Ask an admin of the workspace.',
  notFound: 'This no longer exists (it may have been deleted). Reload the page.',
  validation: 'Check what you entered: {detail}',
  transition: 'The conversation cannot change to that status now. It may have changed meanwhile; look at its current status.',
  closed: 'This conversation is closed and cannot be changed.',
  unavailable: 'The server is busy or restarting. Try again in a moment.',
  internal: 'The server could not do this. Try again; if it keeps failing, tell your administrator.',
  mediaType: 'This kind of file cannot be sent. Send an image or a common document.',
  other: 'It did not work ({code}). Try again.',
  tooLong: 'The message has {n} characters; the limit is {max}. Shorten it or split it in two: your text is kept.',
  avatarTooLarge: 'The picture is larger than the limit of {size}. Choose a smaller one.',
  notAnImage: 'A picture must be a PNG, JPEG, GIF or WebP image.',
  pushDisabled: 'Push notifications are off on this server. An operator turns them on with [push] in its configuration.',
  pushRefused: 'The server refused this browser\'s push subscription ({code}). Turn notifications off and on again; if it keeps failing, tell your administrator.',
  blocked: 'Not sent: it contains words blocked in this workspace ({detail}). Rephrase it; your text is kept.',
}
type ErrorDict = typeof en
const zh: ErrorDict = {
  network: '无法连接服务器。请检查网络后重试；连接恢复后此提示会自动消失。',
  rateLimited: '请求过于频繁。请等待 {s} 秒后再试。',
  tooLarge: '文件超过上传上限 {size}。请选择更小的文件。',
  conflict: '已存在同名项目，请换一个名称。',
  conflictCanned: '已有使用此快捷词的快捷回复。请换一个快捷词，或编辑已有的那条。',
  conflictUser: '此邮箱已有账号。请使用其他邮箱。',
  conflictGroup: '已有同名分组，请换一个名称。',
  conflictMacro: '已有同名的宏。请换一个名称，或编辑已有的那个。',
  unauthorized: '登录已过期，请重新登录。',
  forbidden: '您没有执行此操作的权限，请联系工作区管理员。',
  notFound: '该项目已不存在（可能已被删除）。请刷新页面。',
  validation: '请检查输入的内容：{detail}',
  transition: '会话当前无法切换到该状态，它可能刚被他人更改，请查看其当前状态。',
  closed: '该会话已关闭，无法更改。',
  unavailable: '服务器繁忙或正在重启，请稍后再试。',
  internal: '服务器未能完成此操作。请重试；如果一直失败，请联系管理员。',
  mediaType: '无法发送此类文件。请发送图片或常见文档。',
  other: '操作失败（{code}），请重试。',
  tooLong: '消息有 {n} 个字符，上限为 {max}。请缩短或分成两条发送：您写的内容已保留。',
  avatarTooLarge: '图片超过上限 {size}，请选择更小的图片。',
  notAnImage: '头像必须是 PNG、JPEG、GIF 或 WebP 图片。',
  pushDisabled: '此服务器未开启推送通知。运维人员可在配置的 [push] 中开启。',
  pushRefused: '服务器拒绝了此浏览器的推送订阅（{code}）。请关闭后重新开启通知；如果仍然失败，请联系管理员。',
  blocked: '未发送：消息包含本工作区禁止的词语（{detail}）。请修改后再发；您写的内容已保留。',
}
export const errorStrings = { en, zh }

function words(): ErrorDict {
  return lang.value === 'zh-CN' ? zh : en
}

function fillIn(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m))
}

/** The server's limits (GET /api/v1/limits), loaded once after login. */
export const limits = reactive({ max_message_chars: 5000, max_upload_bytes: 10 * 1024 * 1024, max_avatar_bytes: 1024 * 1024, message_delete_secs: 120 })

export async function loadLimits(): Promise<void> {
  Object.assign(limits, await api<typeof limits>('GET', '/api/v1/limits'))
}

/** A byte count as people read it (10 MB, 512 KB). */
export function size(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${+(bytes / 1024 / 1024).toFixed(1)} MB`
  if (bytes >= 1024) return `${+(bytes / 1024).toFixed(1)} KB`
  return `${bytes} B`
}

/** Why a message cannot go, before it is sent; null when it can. */
export function tooLong(text: string): string | null {
  const n = [...text].length
  return n > limits.max_message_chars ? fillIn(words().tooLong, { n, max: limits.max_message_chars }) : null
}

/** What clears an error shown: the connection coming back, or time passing. */
interface Clears {
  network?: boolean
  afterMs?: number
}
const clears = new Map<string, Clears>()

/** The message to show for a failure `e` (an ApiError, or a failed fetch). */
export function errorText(e: unknown): string {
  const d = words()
  const note = (text: string, c: Clears) => {
    clears.set(text, c)
    return text
  }
  if (!(e instanceof ApiError)) {
    // fetch rejects with a TypeError ("Failed to fetch") when the server cannot be reached.
    return note(d.network, { network: true })
  }
  const path = e.path ?? ''
  switch (e.code) {
    case 'rate_limited': {
      const s = e.retryAfter ?? 5
      return note(fillIn(d.rateLimited, { s }), { afterMs: s * 1000 })
    }
    case 'payload_too_large':
      return fillIn(d.tooLarge, { size: size(limits.max_upload_bytes) })
    case 'conflict':
      if (path.includes('/canned-replies')) return d.conflictCanned
      if (path.includes('/users')) return d.conflictUser
      if (path.includes('/groups')) return d.conflictGroup
      if (/\/macros(\/[^/]+)?$/.test(path)) return d.conflictMacro
      return d.conflict
    case 'unauthorized':
      return d.unauthorized
    case 'forbidden':
      return d.forbidden
    case 'not_found':
      return d.notFound
    case 'validation': {
      // A send over the length limit: the server's numbers, in the reader's words.
      const long = /message is (\d+) characters; the limit is (\d+)/.exec(e.message)
      if (long) return fillIn(d.tooLong, { n: long[1], max: long[2] })
      return fillIn(d.validation, { detail: e.message })
    }
    case 'bad_json':
    case 'bad_request':
      return fillIn(d.validation, { detail: e.message })
    case 'invalid_rules':
      // "line:column: what was expected" points into the editor: shown as it is.
      return e.message
    case 'invalid_transition':
      return d.transition
    case 'conversation_closed':
      return d.closed
    case 'unavailable':
    case 'busy':
      return note(d.unavailable, { afterMs: 5000 })
    case 'internal':
      return d.internal
    case 'unsupported_media_type':
      return d.mediaType
    case 'avatar_too_large':
      return fillIn(d.avatarTooLarge, { size: size(limits.max_avatar_bytes) })
    case 'not_an_image':
      return d.notAnImage
    case 'message_blocked':
      // The server names the blocking words for agents (never for visitors).
      return fillIn(d.blocked, { detail: e.message })
    case 'push_disabled':
      return d.pushDisabled
    case 'bad_endpoint':
    case 'endpoint_not_allowed':
    case 'bad_p256dh':
    case 'bad_auth':
      return fillIn(d.pushRefused, { code: e.code })
    default:
      return fillIn(d.other, { code: e.code })
  }
}

/**
 * The message for a send the server refused over the socket (an `error`
 * frame naming the send): the same words as for the REST API, so a failed
 * message reads like any other error, with the server's limit numbers kept.
 */
export function sendErrorText(code: string, message: string): string {
  return errorText(new ApiError(0, code, message))
}

/**
 * Clears `box` when the cause of the error it shows is gone: a network error
 * once the console is connected again (`conn` turns 'online'), a rate limit
 * or a busy server once the wait is over.
 */
export function autoClear(box: Ref<string>, conn: () => string): void {
  let timer: ReturnType<typeof setTimeout> | undefined
  watch(box, (text) => {
    clearTimeout(timer)
    const c = clears.get(text)
    if (c?.afterMs) timer = setTimeout(() => box.value === text && (box.value = ''), c.afterMs)
  })
  watch(conn, (s) => {
    if (s === 'online' && clears.get(box.value)?.network) box.value = ''
  })
}

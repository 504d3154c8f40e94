// Web Push in this browser: whether it can, and turning it on and off. The
// service worker (public/sw.js, scope /console/) shows what the server
// pushes; the server keeps one subscription per browser (api/v1/push).

import { ApiError, api } from './api'

export const SW_URL = '/console/sw.js'
export const SCOPE = '/console/'

/** What a test notification came to (POST /api/v1/push/test). */
export interface TestReport {
  subscriptions: number
  delivered: number
  removed: number
  failed: number
  errors: string[]
}

/** One of my subscriptions (GET /api/v1/push/subscriptions). */
export interface PushSubscriptionView {
  id: string
  endpoint: string
  user_agent: string | null
  created_at: number
  last_success_at: number | null
  failures: number
}

/**
 * Whether this browser can get push: `insecure` off https (and not
 * localhost), `unsupported` without service workers, PushManager or
 * notifications (an iPhone before the console is added to the home screen).
 */
export function pushSupport(g: {
  isSecureContext?: boolean
  navigator?: object
  PushManager?: unknown
  Notification?: unknown
} = globalThis): 'supported' | 'unsupported' | 'insecure' {
  if (!g.isSecureContext) return 'insecure'
  if (!g.navigator || !('serviceWorker' in g.navigator) || !g.PushManager || !g.Notification) return 'unsupported'
  return 'supported'
}

/** base64url (the server's VAPID public key) to bytes, for `applicationServerKey`. */
export function keyBytes(b64url: string): Uint8Array<ArrayBuffer> {
  const b64 = b64url.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (b64url.length % 4)) % 4)
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/** Whether two keys are the same bytes (a subscription made for an older server key cannot be reused). */
export function sameKey(a: ArrayBuffer | null | undefined, b: Uint8Array): boolean {
  if (!a || a.byteLength !== b.length) return false
  const x = new Uint8Array(a)
  return x.every((v, i) => v === b[i])
}

/** This browser's subscription, if it has one. */
export async function currentSubscription(): Promise<PushSubscription | null> {
  const reg = await navigator.serviceWorker.getRegistration(SCOPE)
  return reg ? reg.pushManager.getSubscription() : null
}

/**
 * Asks for permission, registers the service worker, subscribes with the
 * server's key and stores the subscription there. Answers the permission
 * (only `granted` subscribes).
 */
export async function enablePush(): Promise<NotificationPermission> {
  // First, while the click still counts as a user gesture (Safari insists).
  const permission = await Notification.requestPermission()
  if (permission !== 'granted') return permission
  const { public_key } = await api<{ public_key: string }>('GET', '/api/v1/push/vapid_public_key')
  const key = keyBytes(public_key)
  await navigator.serviceWorker.register(SW_URL, { scope: SCOPE })
  const reg = await navigator.serviceWorker.ready
  let sub = await reg.pushManager.getSubscription()
  if (sub && !sameKey(sub.options.applicationServerKey, key)) {
    await sub.unsubscribe()
    sub = null
  }
  sub ??= await reg.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key })
  await api('POST', '/api/v1/push/subscriptions', sub.toJSON())
  return permission
}

/** Forgets this browser's subscription, here and on the server. */
export async function disablePush(): Promise<void> {
  const sub = await currentSubscription()
  if (!sub) return
  try {
    await api('DELETE', '/api/v1/push/subscriptions', { endpoint: sub.endpoint })
  } catch (e) {
    // Already gone on the server (a 410 removed it): still unsubscribe here.
    if (!(e instanceof ApiError && e.code === 'not_found')) throw e
  }
  await sub.unsubscribe()
}

/** Whether the server sends push (its VAPID key answers; 409 push_disabled when not). */
export async function serverPushOn(): Promise<boolean> {
  try {
    await api('GET', '/api/v1/push/vapid_public_key')
    return true
  } catch (e) {
    if (e instanceof ApiError && e.code === 'push_disabled') return false
    throw e
  }
}

export function mySubscriptions(): Promise<{ items: PushSubscriptionView[] }> {
  return api('GET', '/api/v1/push/subscriptions')
}

export function sendTest(): Promise<TestReport> {
  return api('POST', '/api/v1/push/test')
}

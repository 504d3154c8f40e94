// REST calls with the agent's session: the access token (15 min) is renewed
// with the single-use refresh token before it expires and once on a 401.

import { reactive } from 'vue'
import type { User } from './types'

const REFRESH_KEY = 'kefu.console.refresh'

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    /** Seconds the server asked to wait (`Retry-After`, on 429). */
    public retryAfter?: number,
    /** The API path that failed (errors.ts says what clashed from it). */
    public path?: string,
  ) {
    super(message)
  }
}

export const session = reactive({
  token: '' as string,
  expiresAt: 0,
  user: null as User | null,
})

let refreshing: Promise<boolean> | null = null

interface TokenResponse {
  access_token: string
  expires_at: number
  refresh_token: string
  user: User
}

function adopt(t: TokenResponse) {
  session.token = t.access_token
  session.expiresAt = t.expires_at
  session.user = t.user
  localStorage.setItem(REFRESH_KEY, t.refresh_token)
}

export async function login(email: string, password: string): Promise<void> {
  const r = await fetch('/api/v1/auth/login', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email, password }),
  })
  if (!r.ok) throw await toError(r, '/api/v1/auth/login')
  adopt(await r.json())
}

/** Renews the session from the stored refresh token; false when there is none or it was refused. */
export function refresh(): Promise<boolean> {
  if (!refreshing) {
    refreshing = (async () => {
      const rt = localStorage.getItem(REFRESH_KEY)
      if (!rt) return false
      // A busy or briefly unreachable server (429, 5xx, a refused connection)
      // is not a logout: a few tries before showing the login page.
      for (const wait of [0, 500, 1500, 3000]) {
        if (wait) await new Promise((ok) => setTimeout(ok, wait))
        try {
          const r = await fetch('/api/v1/auth/refresh', {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ refresh_token: rt }),
          })
          if (r.status === 401 || r.status === 400 || r.status === 422) {
            localStorage.removeItem(REFRESH_KEY)
            return false
          }
          if (r.ok) {
            adopt(await r.json())
            return true
          }
        } catch {
          // Unreachable: try again.
        }
      }
      return false
    })().finally(() => {
      refreshing = null
    })
  }
  return refreshing
}

export async function logout(): Promise<void> {
  try {
    if (session.token) {
      await fetch('/api/v1/auth/logout', {
        method: 'POST',
        headers: { authorization: `Bearer ${session.token}` },
      })
    }
  } finally {
    localStorage.removeItem(REFRESH_KEY)
    session.token = ''
    session.user = null
  }
}

/** A fresh-enough access token (renewed when it has under a minute left). */
export async function accessToken(): Promise<string> {
  if (session.token && session.expiresAt * 1000 - Date.now() > 60_000) return session.token
  await refresh()
  return session.token
}

/** The `ApiError` a failed response carries (code, message, Retry-After), for errors.ts to word. */
export async function toError(r: Response, path?: string): Promise<ApiError> {
  const wait = Number(r.headers.get('retry-after')) || undefined
  try {
    const body = await r.json()
    return new ApiError(r.status, body?.error?.code ?? 'error', body?.error?.message ?? r.statusText, wait, path)
  } catch {
    return new ApiError(r.status, 'error', r.statusText, wait, path)
  }
}

/** A request body sent as it is (a file's text), not as JSON. */
export class RawBody {
  constructor(
    readonly text: string,
    readonly type = 'text/plain; charset=utf-8',
  ) {}
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const send = async (token: string) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` }
    let payload: BodyInit | undefined
    if (body instanceof FormData) payload = body
    else if (body instanceof RawBody) {
      headers['content-type'] = body.type
      payload = body.text
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json'
      payload = JSON.stringify(body)
    }
    return fetch(path, { method, headers, body: payload })
  }
  let r = await send(await accessToken())
  if (r.status === 401 && (await refresh())) r = await send(session.token)
  if (!r.ok) throw await toError(r, path)
  if (r.status === 204) return undefined as T
  return (await r.json()) as T
}

/** A text the API answers as a file (an export), with the caller's token. */
export async function apiText(path: string): Promise<string> {
  const r = await fetch(path, { headers: { authorization: `Bearer ${await accessToken()}` } })
  if (!r.ok) throw await toError(r, path)
  return r.text()
}

/** An attachment as a blob URL (downloads need the Authorization header). */
export async function attachmentUrl(id: string): Promise<string> {
  const r = await fetch(`/api/v1/attachments/${encodeURIComponent(id)}`, {
    headers: { authorization: `Bearer ${await accessToken()}` },
  })
  if (!r.ok) throw await toError(r)
  return URL.createObjectURL(await r.blob())
}

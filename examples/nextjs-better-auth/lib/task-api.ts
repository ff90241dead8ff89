"use client";
// The Rust task API, called straight from the browser with Better Auth's JWT
// as the Bearer token: the Next.js server is not in the path.
import { authClient } from "./auth-client";

export type Task = {
  id: number;
  user_id: string;
  title: string;
  description: string | null;
  completed: boolean;
  created_at: string;
  updated_at: string;
};

/** A problem+json answer of the task API (or a network failure). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

type Token = { value: string; sub: string; exp: number };

function decode(jwt: string): Token {
  const payload = jwt.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  const claims = JSON.parse(json) as { sub: string; exp: number };
  return { value: jwt, sub: claims.sub, exp: claims.exp };
}

let cached: Token | undefined;

/**
 * Better Auth's JWT for the signed-in user (GET /api/auth/token with the
 * session cookie), kept in memory and fetched again shortly before `exp`.
 */
export async function accessToken(fresh = false): Promise<Token> {
  const now = Date.now() / 1000;
  if (!fresh && cached && cached.exp - now > 30) return cached;
  const { data, error } = await authClient.token();
  if (error || !data?.token) {
    cached = undefined;
    throw new ApiError(401, "no_session", "not signed in");
  }
  cached = decode(data.token);
  return cached;
}

export function forgetToken() {
  cached = undefined;
}

export function taskApi(baseUrl: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const send = async (token: Token) =>
      fetch(`${baseUrl}/api/${encodeURIComponent(token.sub)}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token.value}`,
          ...(body === undefined ? {} : { "content-type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response = await send(await accessToken());
    // A token that expired in between (or a key the API had not seen): one
    // more try with a new token.
    if (response.status === 401) response = await send(await accessToken(true));
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const value = text ? JSON.parse(text) : undefined;
    if (!response.ok) {
      throw new ApiError(response.status, value?.code, value?.detail ?? value?.title ?? response.statusText);
    }
    return value as T;
  }
  return {
    list: () => call<Task[]>("GET", "/tasks"),
    create: (title: string) => call<Task>("POST", "/tasks", { title }),
    toggle: (id: number) => call<Task>("PATCH", `/tasks/${id}/complete`),
    remove: (id: number) => call<void>("DELETE", `/tasks/${id}`),
  };
}

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

/** The token, and its `sub`: the user id in the task routes' path. */
type Token = { value: string; sub: string };

function decode(jwt: string): Token {
  const payload = jwt.split(".")[1] ?? "";
  const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
  return { value: jwt, sub: (JSON.parse(json) as { sub: string }).sub };
}

/**
 * A JWT from Better Auth's GET /api/auth/token for the signed-in user (the
 * session cookie goes along), fetched for every call and kept nowhere: the
 * Rust server cannot revoke a token, so a sign-out, in this tab or another,
 * must stop this tab at its next call rather than when a cached token
 * expires.
 */
export async function accessToken(): Promise<Token> {
  const { data, error } = await authClient.token();
  if (error || !data?.token) throw new ApiError(401, "no_session", "not signed in");
  return decode(data.token);
}

export function taskApi(baseUrl: string) {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const token = await accessToken();
    const response = await fetch(`${baseUrl}/api/${encodeURIComponent(token.sub)}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token.value}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
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

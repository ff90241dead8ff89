"use client";
import { useRouter } from "next/navigation";
import { useCallback, useEffect, useMemo, useState } from "react";
import { authClient } from "@/lib/auth-client";
import { ApiError, taskApi, type Task } from "@/lib/task-api";

export function TaskList({ apiUrl }: { apiUrl: string }) {
  const router = useRouter();
  const session = authClient.useSession();
  const api = useMemo(() => taskApi(apiUrl), [apiUrl]);
  const [tasks, setTasks] = useState<Task[]>();
  const [error, setError] = useState<string>();
  const [title, setTitle] = useState("");

  const run = useCallback(async (action: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await action();
      setTasks(await api.list());
    } catch (e) {
      // Signed out meanwhile (in another tab, or the session expired).
      if (e instanceof ApiError && e.code === "no_session") {
        router.replace("/sign-in");
        return;
      }
      setError(e instanceof ApiError ? `${e.status}: ${e.message}` : String(e));
    }
  }, [api, router]);

  const user = session.data?.user;
  useEffect(() => {
    if (session.isPending) return;
    if (!user) {
      // Also when Better Auth tells this tab that another one signed out.
      router.replace("/sign-in");
      return;
    }
    void run(async () => {});
  }, [session.isPending, user, router, run]);

  async function signOut() {
    await authClient.signOut();
    router.push("/sign-in");
  }

  if (!user) return <p aria-busy="true">Loading…</p>;

  return (
    <>
      <h1>Your tasks</h1>
      <p className="row">
        <span>
          Signed in as <strong data-testid="email">{user.email}</strong>{" "}
          <span className="muted">
            (id <code data-testid="user-id">{user.id}</code>)
          </span>
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </p>
      <form
        className="row"
        onSubmit={(event) => {
          event.preventDefault();
          const value = title.trim();
          if (!value) return;
          void run(async () => {
            await api.create(value);
            setTitle("");
          });
        }}
      >
        <label className="row">
          New task
          <input value={title} onChange={(event) => setTitle(event.target.value)} maxLength={200} />
        </label>
        <button type="submit">Add</button>
      </form>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {tasks === undefined ? (
        <p aria-busy="true">Loading tasks…</p>
      ) : tasks.length === 0 ? (
        <p data-testid="empty">No tasks yet.</p>
      ) : (
        <ul className="tasks" aria-label="Tasks">
          {tasks.map((task) => (
            <li key={task.id} className={task.completed ? "done" : undefined}>
              <input
                type="checkbox"
                checked={task.completed}
                aria-label={`Done: ${task.title}`}
                onChange={() => void run(() => api.toggle(task.id))}
              />
              <span>{task.title}</span>
              <button
                type="button"
                aria-label={`Delete ${task.title}`}
                onClick={() => void run(() => api.remove(task.id))}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      <p className="muted">Task API: {apiUrl}</p>
    </>
  );
}

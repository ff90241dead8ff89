"use client";
import { useState } from "react";
import { authClient } from "@/lib/auth-client";

/** The sign-up and sign-in form: Better Auth's email + password routes. */
export function CredentialsForm({ mode }: { mode: "sign-up" | "sign-in" }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);

  async function submit(event: React.FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    setBusy(true);
    setError(undefined);
    const { error } =
      mode === "sign-up"
        ? await authClient.signUp.email({ email, password, name: String(form.get("name") || email) })
        : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) {
      setError(error.message ?? error.statusText ?? "something went wrong");
      return;
    }
    // A full page load, not router.push: the session store of this page
    // still says "signed out", and the tasks page would act on that before
    // it refetched.
    window.location.assign("/tasks");
  }

  return (
    <form onSubmit={submit}>
      {mode === "sign-up" && (
        <label>
          Name
          <input name="name" autoComplete="name" />
        </label>
      )}
      <label>
        Email
        <input name="email" type="email" autoComplete="email" required />
      </label>
      <label>
        Password
        <input
          name="password"
          type="password"
          autoComplete={mode === "sign-up" ? "new-password" : "current-password"}
          minLength={8}
          required
        />
      </label>
      <button type="submit" disabled={busy}>
        {mode === "sign-up" ? "Sign up" : "Sign in"}
      </button>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </form>
  );
}

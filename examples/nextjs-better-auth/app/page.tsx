import Link from "next/link";

export default function Home() {
  return (
    <>
      <h1>Tasks</h1>
      <p>
        Better Auth signs you in here; your tasks live in the Rust task API, which this page calls
        directly with Better Auth&apos;s JWT. The API checks that token against this app&apos;s{" "}
        <code>/api/auth/jwks</code>: there is no shared secret.
      </p>
      <p>
        <Link href="/sign-up">Create an account</Link> or <Link href="/sign-in">sign in</Link>.
      </p>
    </>
  );
}

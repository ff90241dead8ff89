import { CredentialsForm } from "../credentials-form";

export default function SignIn() {
  return (
    <>
      <h1>Sign in</h1>
      <CredentialsForm mode="sign-in" />
    </>
  );
}

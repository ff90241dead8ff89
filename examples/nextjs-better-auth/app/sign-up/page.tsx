import { CredentialsForm } from "../credentials-form";

export default function SignUp() {
  return (
    <>
      <h1>Sign up</h1>
      <CredentialsForm mode="sign-up" />
    </>
  );
}

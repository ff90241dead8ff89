import { getAuth } from "@/lib/auth";

// Better Auth's own handler serves every /api/auth/* route (sign-up, sign-in,
// sign-out, get-session, token, jwks, ...).
async function handle(request: Request) {
  return (await getAuth()).handler(request);
}

export { handle as GET, handle as POST };

"use client";
import { createAuthClient } from "better-auth/react";
import { jwtClient } from "better-auth/client/plugins";

// Same origin as the page: the session cookie stays on this app.
export const authClient = createAuthClient({ plugins: [jwtClient()] });

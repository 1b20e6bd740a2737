// A tunnel's token is in the API's answer to create and to regenerate only: the server keeps its hash, never
// the token. The dashboard creates a tunnel and then opens its page, so it leaves the token here for that page
// to show once. Memory only: a reload forgets it, as the server has.

const tokens = new Map<string, string>();

export function keepFreshToken(tunnelId: string, token: string): void {
  tokens.set(tunnelId, token);
}

/** The token left for this tunnel, if any; it stays until forgotten so a re-render finds it again. */
export function peekFreshToken(tunnelId: string): string | null {
  return tokens.get(tunnelId) ?? null;
}

export function forgetFreshToken(tunnelId: string): void {
  tokens.delete(tunnelId);
}

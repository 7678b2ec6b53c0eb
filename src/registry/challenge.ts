/**
 * `WWW-Authenticate` parsing (RFC 7235), enough for what registries send:
 *
 *   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"
 *   Basic realm="Registry Realm"
 *
 * A header may hold several challenges, and fetch joins repeated headers with ", ",
 * so commas separate both parameters and challenges: a bare token followed by
 * something other than "=" starts a new challenge.
 */

export interface AuthChallenge {
  /** Lowercased: `bearer`, `basic`, … */
  scheme: string;
  /** Parameter names lowercased; values unquoted. */
  params: Record<string, string>;
}

const TOKEN_CHARS = /[!#$%&'*+\-.^_`|~0-9A-Za-z]/;

export function parseWwwAuthenticate(header: string): AuthChallenge[] {
  const challenges: AuthChallenge[] = [];
  let current: AuthChallenge | undefined;
  let pos = 0;

  const skip = (chars: string) => {
    while (pos < header.length && chars.includes(header[pos]!)) pos++;
  };
  const readToken = (): string => {
    const start = pos;
    while (pos < header.length && TOKEN_CHARS.test(header[pos]!)) pos++;
    return header.slice(start, pos);
  };
  const readQuoted = (): string => {
    pos++; // opening quote
    let value = '';
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === '\\' && pos + 1 < header.length) pos++;
      value += header[pos];
      pos++;
    }
    pos++; // closing quote (or past the end of a truncated header)
    return value;
  };

  while (pos < header.length) {
    skip(' \t,');
    if (pos >= header.length) break;
    const token = readToken();
    if (token === '') {
      // Not something this grammar knows; skip one character rather than loop forever.
      pos++;
      continue;
    }
    skip(' \t');
    if (header[pos] === '=' && current) {
      pos++;
      skip(' \t');
      if (header[pos] === '=') {
        // token68 padding (`Negotiate abc==`): nothing a registry client uses.
        skip('=');
        continue;
      }
      const value = header[pos] === '"' ? readQuoted() : readToken();
      const name = token.toLowerCase();
      // A hostile registry must not be able to reach the object's prototype.
      if (name !== '__proto__') current.params[name] = value;
      continue;
    }
    current = { scheme: token.toLowerCase(), params: {} };
    challenges.push(current);
  }
  return challenges;
}

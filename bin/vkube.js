#!/usr/bin/env node
// The `vkube` command. It runs the TypeScript sources through tsx, so `npx vkube …`
// works from a checkout without a build step. Everything else is in src/cli/.
import { register } from 'tsx/esm/api';

register();
const { main } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
const code = await main(process.argv.slice(2));
// Exit once stdout and stderr are flushed, whatever sockets or timers may linger.
process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));

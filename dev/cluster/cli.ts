/** Entry point of the `cluster:*` npm scripts. */
import { build } from './build.js';
import { down } from './down.js';
import { status } from './status.js';
import { up } from './up.js';
import { ClusterError } from './util.js';

async function main(cmd: string | undefined, args: string[]): Promise<void> {
  switch (cmd) {
    case 'build':
      return build();
    case 'up':
      await up();
      return;
    case 'down':
      return down({ keep: args.includes('--keep') });
    case 'status':
      if (!(await status())) process.exitCode = 1;
      return;
    default:
      throw new ClusterError(`unknown command ${cmd ?? '(none)'}`, 'use one of: build, up, down [--keep], status');
  }
}

main(process.argv[2], process.argv.slice(3)).catch((err: unknown) => {
  if (err instanceof ClusterError) {
    console.error(`error: ${err.message}\nfix: ${err.fix}`);
  } else {
    console.error(err);
  }
  process.exit(1);
});

/** `vkube login` and `vkube logout`: the saved login (see config-store.ts). */
import type { Command } from 'commander';
import { connect } from '../api.js';
import { type CommonOptions, examples, withCommonOptions } from '../command-kit.js';
import { configPath, readLogin, removeLogin, saveLogin } from '../config-store.js';
import { decodeClientToken, interpretSecret, normalizeServer, promptSecret } from '../credentials.js';
import { CliError, ExitCode, usageError } from '../errors.js';
import type { Output } from '../output.js';

interface LoginOptions extends CommonOptions {
  token?: string;
}

export function registerLogin(program: Command, out: Output): void {
  const login = program
    .command('login')
    .description("save an order's secret (or the clients' token) for the following commands, after checking it with V-Kube")
    .option('--token <token>', 'the original clients\' token (base58 of "<api host>:<secret>"); it names the server too');
  withCommonOptions(login);
  examples(login, [
    'vkube login --server https://vkube.example.com --secret 4xT9…',
    'vkube login --token 3yZe…            # the server is taken from the token',
    'vkube login --server https://vkube.example.com   # asks for the secret',
    'echo "$SECRET" | vkube login --server https://vkube.example.com',
  ]);
  login.addHelpText(
    'after',
    '\nThe login is saved in $VKUBE_CONFIG_DIR, else $XDG_CONFIG_HOME/vkube, else ~/.config/vkube\n(config.json, readable by you only). The secret is never printed.\n',
  );
  login.action(async (opts: LoginOptions, cmd: Command) => {
    const secretFromFlag = cmd.getOptionValueSource('secret') === 'cli';
    if (opts.token && secretFromFlag) throw usageError('give either --secret or --token, not both');
    let value: string;
    if (opts.token) {
      if (!decodeClientToken(opts.token)) throw usageError('--token: this is not a V-Kube token (base58 of "<api host>:<secret>"); pass a plain secret with --secret');
      value = opts.token;
    } else if (opts.secret) {
      value = opts.secret;
    } else {
      value = await promptSecret('Order secret or token: ');
    }
    const { secret, server: tokenServer } = interpretSecret(value);
    if (!secret) throw usageError('the secret is empty');
    // Only for the server it names: an unreadable saved login is replaced by this one.
    const previous = await readLogin().catch(() => undefined);
    const server = opts.server ? normalizeServer(opts.server) : (tokenServer ?? previous?.server);
    if (!server) throw usageError('which V-Kube? Pass --server URL (or set VKUBE_SERVER), or log in with the token, which names the server');

    const api = connect(server, { secret });
    const order = await api.call(api.client.GET('/api/v1/k8s/order')).catch((err: unknown) => {
      if (err instanceof CliError && err.httpStatus === 401) throw new CliError(`V-Kube at ${server} did not accept this secret; nothing was saved`, ExitCode.auth, 401);
      throw err;
    });
    const path = await saveLogin({ server, secret, orderId: order.id, savedAt: new Date().toISOString() });
    const options = order.serviceOptions;
    out.result({ server, orderId: order.id, serviceOptions: options, configPath: path }, () => {
      const about = [options.resourceUnit, options.region ? `region ${options.region}` : undefined].filter(Boolean).join(', ');
      out.print(`Logged in to ${server} as order ${order.id}${about ? ` (${about})` : ''}.`);
      out.print(`The login is saved in ${path}.`);
    });
  });

  const logout = program.command('logout').description('forget the saved login').option('--json', 'print exactly one JSON document on stdout');
  examples(logout, ['vkube logout']);
  logout.action(async () => {
    const path = configPath();
    const removed = await removeLogin();
    out.result({ loggedOut: removed, configPath: path }, () => out.print(removed ? `Logged out: removed ${path}.` : `Not logged in (there is no ${path}).`));
  });
}

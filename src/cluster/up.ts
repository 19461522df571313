// `npm run cluster`: the whole cluster on this machine against the local NATS, PostgreSQL
// and Redis, nginx on PORT (default 8080). Prints the URL and the demo credentials; Ctrl-C
// (or SIGTERM) stops every process it started, by PID, in reverse order.
import { LocalCluster } from './cluster.ts';
import { clusterSettingsTable } from './settings.ts';
import { configHelp } from '../config.ts';

function usage(): string {
  const width = Math.max(...clusterSettingsTable.map((entry) => entry.name.length));
  return [
    'usage: npm run cluster [-- --gateways N] [-- --help]',
    '',
    'Starts nginx, N gateways (default 2), engine leader + hot standby, ledger, market data and',
    'notifier as separate processes against the local NATS JetStream, PostgreSQL and Redis.',
    'nginx listens on PORT (default 8080). Role logs go to the printed directory.',
    '',
    'Cluster settings:',
    ...clusterSettingsTable.map((entry) => `  ${entry.name.padEnd(width)}  ${entry.defaultValue}  ${entry.description}`),
    '',
    'Settings shared with the embedded mode (passed to every role):',
    configHelp(),
    '',
    'The database defaults to postgres://postgres@127.0.0.1:5432/bourse here (created if missing).',
  ].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args.includes('--help') || args.includes('-h')) {
    console.log(usage());
    return;
  }
  const gatewaysIndex = args.indexOf('--gateways');
  const gateways = gatewaysIndex >= 0 ? Number(args[gatewaysIndex + 1]) : 2;
  if (!Number.isInteger(gateways) || gateways < 1 || gateways > 16) {
    console.error('--gateways must be a whole number from 1 to 16');
    process.exit(2);
  }
  const env: NodeJS.ProcessEnv = { BOURSE_DATABASE_URL: process.env.BOURSE_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/bourse' };
  const cluster = new LocalCluster({ gateways, env, keepWorkDirectory: true });
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping the cluster...`);
    await cluster.stop();
    console.log('cluster stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  console.log(`starting cluster "${cluster.settings.cluster}" (logs: ${cluster.workDirectory}/logs)...`);
  try {
    await cluster.start();
  } catch (error) {
    console.error(`cluster failed to start: ${(error as Error).message}\nsee the role logs in ${cluster.workDirectory}/logs`);
    process.exit(1);
  }
  const lines = [
    '',
    `Bourse cluster is running at ${cluster.url}  (REST ${cluster.url}/api/v3, WebSocket ${cluster.url.replace('http', 'ws')}/ws)`,
    `nginx pid ${cluster.nginx?.pid}; gateways ${cluster.gateways.map((gateway) => `${gateway.options.name}=pid ${gateway.pid} port ${cluster.gatewayPort(gateway)}`).join(', ')}`,
    `engines ${cluster.engines.map((engine) => `${engine.options.name}=pid ${engine.pid}`).join(', ')}; ledger, market-data, notifier running`,
    `admin token:  ${cluster.adminToken}`,
    ...cluster.demo.flatMap((credentials, index) => [`demo user ${index + 1} API key:    ${credentials.apiKey}`, `demo user ${index + 1} API secret: ${credentials.secret}`]),
    'Ctrl-C stops everything.',
  ];
  console.log(lines.join('\n'));
}

await main();

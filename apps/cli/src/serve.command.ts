import { getPriority, setPriority } from 'node:os';
import type { INestApplicationContext } from '@nestjs/common';
import { Command, CommandRunner, Option } from 'nest-commander';
import type { AirlockApi } from '../../api/src/main';
import { processLogger } from '@airlock/common';
import { lazy } from './lazy';
import { configPath, CONFIG_OPTION } from './config-path';
import { requireKeysAndSecrets } from './keys-and-secrets';

/** Runs until SIGINT/SIGTERM, then closes what it started. */
async function untilSignal(close: () => Promise<void>): Promise<void> {
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await close();
}

/** Sets this process's nice value (only ever lowering its priority); a system that refuses is named on standard error. */
function lowerPriority(nice: number): void {
  try {
    if (nice > getPriority()) setPriority(nice);
  } catch (e) {
    process.stderr.write(`airlock: worker priority stays ${getPriority()} (nice ${nice} refused: ${(e as Error).message})\n`);
  }
}

/** Starts the API and/or a worker for a configuration; returns a closer. */
export async function startProcesses(
  path: string,
  parts: { api: boolean; worker: boolean; quiet?: boolean },
): Promise<{ api?: AirlockApi; worker?: INestApplicationContext; url?: string; close(): Promise<void> }> {
  const loaded = lazy.config().loadConfig(path);
  await requireKeysAndSecrets(loaded, '; nothing started');
  // one root logger for the process, shared by the API and the worker
  const logger = parts.quiet ? false : processLogger();
  const api = parts.api ? await lazy.api().createApi(loaded, { logger }) : undefined;
  const { host, port } = loaded.config.server;
  if (api) await api.listen(port, host);
  // a worker alone yields the CPU to whatever shares its machine (the API, above all): its work is queued, answers are waited for
  if (parts.worker && !parts.api) lowerPriority(loaded.config.worker.nice);
  const worker = parts.worker ? await lazy.worker().createWorker(loaded, { logger }) : undefined;
  return {
    api,
    worker,
    url: api ? `http://${host}:${port}` : undefined,
    async close() {
      await worker?.close();
      await api?.close();
    },
  };
}

abstract class ProcessCommand extends CommandRunner {
  protected abstract parts: { api: boolean; worker: boolean };
  async run(_p: string[], o: { config?: string }): Promise<void> {
    const started = await startProcesses(configPath(o.config), this.parts);
    process.stderr.write(
      `airlock: ${[this.parts.api && `API on ${started.url} (docs at ${started.url}/docs)`, this.parts.worker && 'worker running'].filter(Boolean).join(', ')}\n`,
    );
    await untilSignal(() => started.close());
  }
  @Option(CONFIG_OPTION)
  parseConfig(v: string): string {
    return v;
  }
}

@Command({ name: 'serve', description: 'Run the API and a worker in one process (the default deployment)' })
export class ServeCommand extends ProcessCommand {
  protected parts = { api: true, worker: true };
}

@Command({ name: 'api', description: 'Run the API alone (workers run elsewhere against the same Redis)' })
export class ApiCommand extends ProcessCommand {
  protected parts = { api: true, worker: false };
}

@Command({ name: 'worker', description: 'Run a worker alone (it never opens the database; many may run against one Redis)' })
export class WorkerCommand extends ProcessCommand {
  protected parts = { api: false, worker: true };
}

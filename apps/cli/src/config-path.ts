/** The configuration file a command uses: --config, else $AIRLOCK_CONFIG, else ./airlock.yaml. */
export function configPath(flag?: string): string {
  return flag ?? process.env.AIRLOCK_CONFIG ?? './airlock.yaml';
}

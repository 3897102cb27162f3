import { RegistryClient, RegistryOptions } from './registry-client';

/** Decides how to reach each registry host (insecure flag, credentials, retries). */
export type RegistryOptionsResolver = (registry: string) => RegistryOptions;

/** One pooled client per registry host, shared by every copy in a process. */
export class Registries {
  private readonly clients = new Map<string, RegistryClient>();

  constructor(private readonly resolve: RegistryOptionsResolver = () => ({})) {}

  /** The client for `registry`, created on first use. */
  client(registry: string): RegistryClient {
    let c = this.clients.get(registry);
    if (!c) {
      c = new RegistryClient(registry, this.resolve(registry));
      this.clients.set(registry, c);
    }
    return c;
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((c) => c.close()));
    this.clients.clear();
  }
}

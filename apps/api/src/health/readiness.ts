import { HealthIndicatorService } from '@nestjs/terminus';
import { checkDatabase } from '@airlock/database';
import { withTimeout } from '@airlock/common';
import { stagesAcrossTheGap } from '@airlock/promotion';
import { ApiRuntime } from '../api-runtime';

/**
 * What readiness checks: what this instance must reach itself (Redis, the
 * database, the registries of the stages on its side of the air gap) and the
 * keys it signs with. A stage across the gap is reported, not asked: its
 * registry is never reachable from here in a real deployment.
 */
export class Readiness {
  constructor(
    private readonly rt: ApiRuntime,
    private readonly health: HealthIndicatorService,
  ) {}

  async redis() {
    const s = this.health.check('redis');
    try {
      await withTimeout(this.rt.queue.connection.ping(), 2000);
      return s.up();
    } catch (e) {
      return s.down({ message: (e as Error).message });
    }
  }

  database() {
    const s = this.health.check('database');
    try {
      checkDatabase(this.rt.db);
      return s.up();
    } catch (e) {
      return s.down({ message: (e as Error).message });
    }
  }

  async registries() {
    const out = [];
    const across = stagesAcrossTheGap(this.rt.catalog);
    for (const st of this.rt.catalog.list()) {
      const s = this.health.check(`registry:${st.name}`);
      const channel = across.get(st.name);
      if (channel) {
        out.push(s.up({ host: st.registry, checked: false, reason: `across the air gap (channel ${channel})` }));
        continue;
      }
      try {
        await withTimeout(this.rt.registries.client(st.registry).hasBlob('airlock/health', 'sha256:' + '0'.repeat(64)), 3000);
        out.push(s.up({ host: st.registry }));
      } catch (e) {
        out.push(s.down({ host: st.registry, message: (e as Error).message.slice(0, 200) }));
      }
    }
    return out;
  }

  keys() {
    const s = this.health.check('keys');
    const missing = this.rt.catalog
      .list()
      .filter((st) => st.config.signing && !st.publicKeyFingerprint)
      .map((st) => st.name);
    const loaded = Object.fromEntries(
      this.rt.catalog
        .list()
        .filter((st) => st.publicKeyFingerprint)
        .map((st) => [st.name, st.publicKeyFingerprint]),
    );
    return missing.length ? s.down({ missing }) : s.up({ loaded });
  }
}

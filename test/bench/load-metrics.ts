/** The API's histogram of answers to `method` over every route, as cumulative counts by upper bound (s). */
function serverBuckets(metrics: string, method: string): Map<number, number> {
  const byLe = new Map<number, number>();
  for (const m of metrics.matchAll(/^airlock_http_request_duration_seconds_bucket\{le="([^"]+)",method="([A-Z]+)",[^}]*\} (\d+)$/gm)) {
    if (m[2] !== method) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    byLe.set(le, (byLe.get(le) ?? 0) + Number(m[3]));
  }
  return byLe;
}

/** The upper bound (ms) of the bucket that holds quantile `q` of the answers counted in `after` and not in `before`. */
function serverQuantile(after: Map<number, number>, before: Map<number, number>, q: number): number {
  const les = [...after.keys()].sort((a, b) => a - b);
  const count = (le: number) => (after.get(le) ?? 0) - (before.get(le) ?? 0);
  const total = count(Infinity);
  const le = les.find((l) => count(l) >= q * total) ?? Infinity;
  return le * 1000;
}

/** p50 / p99 of the API's own time on `method` answers between two scrapes of /metrics, as bucket bounds ("<= 5 / <= 25"). */
export function apiQuantiles(after: string, before: string, method: string): string {
  const [a, b] = [serverBuckets(after, method), serverBuckets(before, method)];
  return `<= ${serverQuantile(a, b, 0.5)} / <= ${serverQuantile(a, b, 0.99)}`;
}

/** Injection token of the Prometheus registry. */
export const METRICS = Symbol('METRICS');

/**
 * Crash injection for the fault tests: when AIRLOCK_FAULT_AT names `point`,
 * the process kills itself with SIGKILL right there, as a power cut or
 * kill -9 would. Does nothing unless that variable is set.
 */
export function faultPoint(point: string): void {
  const at = process.env.AIRLOCK_FAULT_AT;
  if (at && at.split(',').includes(point)) process.kill(process.pid, 'SIGKILL');
}

import { createServer, IncomingMessage, request as httpRequest, Server, ServerResponse } from 'node:http';
import { AddressInfo, Socket } from 'node:net';

/** What the proxy does to a matching exchange. */
export type Fault =
  | { type: 'status'; status: number; headers?: Record<string, string>; body?: string }
  | { type: 'reset' }
  | { type: 'corrupt' }
  | { type: 'cut-after'; bytes: number }
  | { type: 'stall-after'; bytes: number }
  | { type: 'delay'; ms: number };

export interface FaultRule {
  method?: string;
  /** Matched against the request path (with query). */
  path: RegExp;
  fault: Fault;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  /** Matching requests to let through before it applies (default 0). */
  skip?: number;
}

export interface ExchangeLog {
  method: string;
  path: string;
  status: number;
  fault?: string;
  at: number;
}

/**
 * A small HTTP proxy in front of a real registry that can answer with an
 * error status, reset the connection, flip a byte, cut or stall a body, or
 * delay, for requests matching a rule. Everything else passes through.
 */
export class FaultProxy {
  private server?: Server;
  private readonly rules: (FaultRule & { hits: number; seen: number })[] = [];
  readonly log: ExchangeLog[] = [];
  private readonly sockets = new Set<Socket>();
  host = '';
  url = '';

  /** Optional gate in front of every request (an auth emulation); returning a response answers it. */
  gate?: (req: IncomingMessage, res: ServerResponse) => boolean;

  constructor(private readonly upstream: string) {}

  /** Adds a rule; rules are tried in order. */
  add(rule: FaultRule): this {
    this.rules.push({ ...rule, hits: 0, seen: 0 });
    return this;
  }

  /** Removes every rule and forgets the log. */
  reset(): void {
    this.rules.length = 0;
    this.log.length = 0;
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    const port = (this.server.address() as AddressInfo).port;
    this.host = `127.0.0.1:${port}`;
    this.url = `http://${this.host}`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  private pick(req: IncomingMessage): Fault | undefined {
    for (const r of this.rules) {
      if (r.method && r.method !== req.method) continue;
      if (!r.path.test(req.url ?? '')) continue;
      r.seen++;
      if (r.seen <= (r.skip ?? 0)) continue;
      if (r.hits >= (r.times ?? 1)) continue;
      r.hits++;
      return r.fault;
    }
    return undefined;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    if (this.gate?.(req, res)) {
      req.resume();
      this.log.push({ method: req.method ?? '', path: req.url ?? '', status: res.statusCode, fault: 'gate', at: Date.now() });
      return;
    }
    const fault = this.pick(req);
    const entry: ExchangeLog = { method: req.method ?? '', path: req.url ?? '', status: 0, fault: fault?.type, at: Date.now() };
    this.log.push(entry);
    if (fault?.type === 'status') {
      req.resume();
      entry.status = fault.status;
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
      res.end(fault.body ?? JSON.stringify({ errors: [{ code: 'UNAVAILABLE', message: 'injected by fault proxy' }] }));
      return;
    }
    if (fault?.type === 'reset') {
      req.socket.destroy();
      return;
    }
    const go = () => this.forward(req, res, fault, entry);
    if (fault?.type === 'delay') setTimeout(go, fault.ms);
    else go();
  }

  private forward(req: IncomingMessage, res: ServerResponse, fault: Fault | undefined, entry: ExchangeLog): void {
    const up = new URL(this.upstream);
    const preq = httpRequest({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers: req.headers }, (pres) => {
      entry.status = pres.statusCode ?? 0;
      res.writeHead(pres.statusCode ?? 502, pres.headers);
      let sent = 0;
      let flipped = false;
      pres.on('data', (chunk: Buffer) => {
        if (fault?.type === 'corrupt' && !flipped && chunk.length > 0) {
          chunk = Buffer.from(chunk);
          chunk[Math.floor(chunk.length / 2)] ^= 0xff;
          flipped = true;
        }
        if ((fault?.type === 'cut-after' || fault?.type === 'stall-after') && sent + chunk.length > fault.bytes) {
          const part = chunk.subarray(0, Math.max(0, fault.bytes - sent));
          if (part.length) res.write(part);
          sent = fault.bytes;
          pres.destroy();
          if (fault.type === 'cut-after') res.socket?.destroy();
          // stall: keep the socket open and silent; the client's body timeout must fire.
          return;
        }
        sent += chunk.length;
        res.write(chunk);
      });
      pres.on('end', () => res.end());
      pres.on('error', () => res.socket?.destroy());
    });
    preq.on('error', () => res.socket?.destroy());
    req.pipe(preq);
  }
}

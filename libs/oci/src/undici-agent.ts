import type * as Undici from 'undici';

/*
 * undici's Agent without undici's index, which also loads fetch, WebSocket,
 * the caches and the mocks, at every start of a command: more than the copy
 * itself takes when every blob is already there. This is what the
 * index does for Agent (the request API mixed into Dispatcher); the version
 * is pinned exactly in package.json, undici-agent.spec.ts checks this is
 * the index's Agent with its request API, and every registry test runs
 * through it.
 */
/* eslint-disable @typescript-eslint/no-require-imports */
const Dispatcher = require('undici/lib/dispatcher/dispatcher') as { prototype: object };
Object.assign(Dispatcher.prototype, require('undici/lib/api/index.js') as object);

export const Agent = require('undici/lib/dispatcher/agent') as typeof Undici.Agent;
export type Agent = Undici.Agent;

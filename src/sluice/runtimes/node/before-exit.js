/**
 * The one `beforeExit` listener of the runtime (BeforeExitListener.js of AWS's client).
 *
 * Node emits `beforeExit` when the event loop has nothing left to do. The runtime uses it
 * for `callbackWaitsForEmptyEventLoop`: the response (or the next poll) waits until the
 * function's own timers, sockets and promises are done. The runtime's idle keep-alive
 * socket is unreferenced, so only user work keeps the loop busy. bootstrap.js registers
 * `invoke` once; the runtime swaps the function it calls.
 */

'use strict';

const LISTENER = Symbol.for('aws.lambda.beforeExit');
const NO_OP = () => {};

module.exports = {
  /** Call the current listener (registered with `process.on('beforeExit')`). */
  invoke: () => globalThis[LISTENER](),
  /** Forget the current listener. */
  reset: () => {
    globalThis[LISTENER] = NO_OP;
  },
  /** Run `listener` the next time the event loop empties. */
  set: (listener) => {
    globalThis[LISTENER] = listener;
  },
};

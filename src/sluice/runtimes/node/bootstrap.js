#!/usr/bin/env node
/**
 * sluice's Node.js runtime client: the entry point (index.mjs of AWS's 3.x client).
 *
 *   node bootstrap.js [module.handler]
 *
 * Reads AWS_LAMBDA_RUNTIME_API, _HANDLER (or the first argument) and LAMBDA_TASK_ROOT (else
 * the working directory), patches `console`, loads the handler and serves invocations until
 * the process is stopped. Node built-ins only; nothing here is specific to sluice, so the
 * same folder runs on AWS Lambda as a custom runtime (`exec node bootstrap.js`).
 *
 * Process policy, as AWS's client has it:
 * - an init failure (the handler cannot be loaded, or the module throws) is logged as
 *   "Uncaught Exception", posted to `/init/error`, and the process exits with status 129;
 * - an uncaught exception or unhandled rejection is logged, posted to `/init/error` during
 *   init or to the current invocation's `/error` after, then the process exits (129 for an
 *   exception, 128 for a rejection);
 * - `beforeExit` drives callbackWaitsForEmptyEventLoop (see before-exit.js).
 *
 * Files: errors.js (error types, error documents), log-patch.js (console), rapid-client.js
 * (Runtime API), response-stream.js (streaming responses, HttpResponseStream),
 * user-function.js (handler loading, `awslambda`), context.js (the context object and
 * callbacks), runtime.js (the invocation loop), before-exit.js.
 */

'use strict';

const BeforeExitListener = require('./before-exit.js');
const { UnhandledPromiseRejection } = require('./errors.js');
const LogPatch = require('./log-patch.js');
const { RAPIDClient } = require('./rapid-client.js');
const { Runtime } = require('./runtime.js');
const UserFunction = require('./user-function.js');

const EXIT_UNCAUGHT_EXCEPTION = 129;
const EXIT_UNHANDLED_REJECTION = 128;

/**
 * Run the runtime.
 *
 * @param appRootOrHandler the task root, or the handler function itself
 * @param handler `module.export` relative to the task root (when the first is a root)
 */
async function run(appRootOrHandler, handler = '') {
  LogPatch.patchConsole();
  const { structuredConsole } = LogPatch;
  const client = new RAPIDClient(process.env.AWS_LAMBDA_RUNTIME_API);

  // Until the first invocation, errors are init errors; runtime.js swaps these per invoke.
  const errorCallbacks = {
    uncaughtException: (error) => {
      client.postInitError(error, () => process.exit(EXIT_UNCAUGHT_EXCEPTION));
    },
    unhandledRejection: (error) => {
      client.postInitError(error, () => process.exit(EXIT_UNHANDLED_REJECTION));
    },
  };

  process.on('uncaughtException', (error) => {
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason, promise);
    structuredConsole.logError('Unhandled Promise Rejection', error);
    errorCallbacks.unhandledRejection(error);
  });

  BeforeExitListener.reset();
  process.on('beforeExit', BeforeExitListener.invoke);

  let handlerFunc;
  let metadata;
  try {
    handlerFunc =
      typeof appRootOrHandler === 'function'
        ? appRootOrHandler
        : await UserFunction.load(appRootOrHandler, handler);
    metadata = UserFunction.getHandlerMetadata(handlerFunc);
  } catch (error) {
    // AWS's runtime lets this escape its top-level await, where it is an uncaught exception.
    structuredConsole.logError('Uncaught Exception', error);
    errorCallbacks.uncaughtException(error);
    return;
  }
  new Runtime(client, handlerFunc, metadata, errorCallbacks).scheduleIteration();
}

function main() {
  if (!process.env.AWS_LAMBDA_RUNTIME_API) {
    process.stderr.write('bootstrap.js: AWS_LAMBDA_RUNTIME_API is not set\n');
    process.exit(1);
  }
  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  const handler = process.argv[2] || process.env._HANDLER || '';
  run(appRoot, handler);
}

if (require.main === module) {
  main();
}

module.exports = { run };

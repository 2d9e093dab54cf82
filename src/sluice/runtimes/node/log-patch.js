/**
 * `console` as AWS's Node.js runtime patches it (LogPatch.js of the 3.x client).
 *
 * Text format (the default): one line per call on stdout,
 * `<ISO timestamp>\t<request id>\t<LEVEL>\t<util.format(...)>`, with every newline inside
 * the record replaced by `\r` so a stack trace stays one log event. The request id is that
 * of the current invocation, the last one after it ends, and `undefined` before the first.
 * `AWS_LAMBDA_LOG_FORMAT=JSON` writes `{timestamp, level, requestId, message, ...}` instead;
 * `AWS_LAMBDA_LOG_LEVEL` drops the levels below it. console.log is INFO, console.trace only
 * logs its message at TRACE, and console.fatal is added.
 *
 * Output goes through `process.stdout.write`, which is synchronous for pipes and files on
 * Linux, so a line is in the pipe before the post that follows it.
 */

'use strict';

const util = require('node:util');
const { intoError, toFormatted } = require('./errors.js');

const REQUEST_ID = Symbol.for('aws.lambda.runtime.requestId');
const TENANT_ID = Symbol.for('aws.lambda.runtime.tenantId');

const LEVELS = Object.freeze({
  TRACE: { name: 'TRACE', priority: 1 },
  DEBUG: { name: 'DEBUG', priority: 2 },
  INFO: { name: 'INFO', priority: 3 },
  WARN: { name: 'WARN', priority: 4 },
  ERROR: { name: 'ERROR', priority: 5 },
  FATAL: { name: 'FATAL', priority: 6 },
});

/** `console.error(...)` for a failure the runtime reports: set by `patchConsole`. */
const structuredConsole = {
  logError: (message, err) => console.error(message, toFormatted(intoError(err))),
};

function setCurrentRequestId(id) {
  globalThis[REQUEST_ID] = id;
}

function setCurrentTenantId(id) {
  globalThis[TENANT_ID] = id;
}

function errorAsJson(value) {
  return Object.assign(
    {
      errorType: value?.constructor?.name ?? 'UnknownError',
      errorMessage: value.message,
      stackTrace: typeof value.stack === 'string' ? value.stack.split('\n') : value.stack,
    },
    value,
  );
}

function jsonErrorReplacer(_key, value) {
  return value instanceof Error ? errorAsJson(value) : value;
}

function formatJsonMessage(timestamp, level, message, params) {
  const record = { timestamp, level: level.name, requestId: globalThis[REQUEST_ID] };
  if (globalThis[TENANT_ID] !== undefined) {
    record.tenantId = globalThis[TENANT_ID];
  }
  if (params.length === 0) {
    record.message = message;
    try {
      return JSON.stringify(record, jsonErrorReplacer);
    } catch {
      record.message = util.format(message);
      return JSON.stringify(record);
    }
  }
  record.message = util.format(message, ...params);
  const error = [message, ...params].find((param) => param instanceof Error);
  if (error !== undefined) {
    record.errorType = error?.constructor?.name ?? 'UnknownError';
    record.errorMessage = error.message;
    record.stackTrace = typeof error.stack === 'string' ? error.stack.split('\n') : [];
  }
  return JSON.stringify(record);
}

function logText(level, message, ...params) {
  const time = new Date().toISOString();
  const requestId = globalThis[REQUEST_ID];
  const line = `${time}\t${requestId}\t${level.name}\t${util.format(message, ...params)}`;
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

function logJson(level, message, ...params) {
  const line = formatJsonMessage(new Date().toISOString(), level, message, params);
  process.stdout.write(line.replace(/\n/g, '\r') + '\n');
}

function patchConsoleWith(log, threshold) {
  const levelLogger = (level) =>
    level.priority >= threshold.priority
      ? (message, ...params) => log(level, message, ...params)
      : () => {};
  console.trace = levelLogger(LEVELS.TRACE);
  console.debug = levelLogger(LEVELS.DEBUG);
  console.info = levelLogger(LEVELS.INFO);
  console.log = console.info;
  console.warn = levelLogger(LEVELS.WARN);
  console.error = levelLogger(LEVELS.ERROR);
  console.fatal = (message, ...params) => log(LEVELS.FATAL, message, ...params);
}

/** Replace the console functions; call once, before any user code is loaded. */
function patchConsole(env = process.env) {
  const json = env.AWS_LAMBDA_LOG_FORMAT?.toUpperCase() === 'JSON';
  const threshold = LEVELS[env.AWS_LAMBDA_LOG_LEVEL?.toUpperCase()] ?? LEVELS.TRACE;
  patchConsoleWith(json ? logJson : logText, threshold);
  structuredConsole.logError = json
    ? (_message, err) => console.error(intoError(err))
    : (message, err) => console.error(message, toFormatted(intoError(err)));
}

module.exports = {
  patchConsole,
  setCurrentRequestId,
  setCurrentTenantId,
  structuredConsole,
};

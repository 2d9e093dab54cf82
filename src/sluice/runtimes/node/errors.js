/**
 * The runtime's own error types and the two ways an error is rendered.
 *
 * Mirrors Errors.js of AWS's Node.js runtime interface client (3.x):
 *
 * - `toRapidResponse` is the document posted to the Runtime API and sent, base64-encoded, in
 *   the `Lambda-Runtime-Function-Error-Body` trailer: `{errorType, errorMessage, trace}`.
 *   An Error reports its name, message and stack lines; anything else reports `typeof` and
 *   its string form (a thrown 42 is `{"errorType": "number", "errorMessage": "42"}`).
 * - `toFormatted` is what the log line after "Invoke Error" or "Uncaught Exception" shows:
 *   a tab, then the error as JSON with its enumerable properties and the stack as a list.
 *
 * Every class below is named `Runtime.<ClassName>`, as AWS names them.
 */

'use strict';

const util = require('node:util');

const HANDLED_FAILURE =
  'callback called with Error argument, but there was a problem while retrieving one or ' +
  'more of its message, name, and stack';

function isErrorLike(value) {
  return Boolean(
    value &&
      typeof value.name === 'string' &&
      typeof value.message === 'string' &&
      typeof value.stack === 'string' &&
      value.name &&
      value.message &&
      value.stack,
  );
}

/** RAPID rejects DEL in error documents; 4.x escapes it, and so do we. */
function escapeDel(text) {
  return typeof text === 'string' ? text.replace(/\x7F/g, '%7F') : text;
}

/** The error document for the Runtime API (and the error trailer). */
function toRapidResponse(error) {
  try {
    if (util.types.isNativeError(error) || isErrorLike(error)) {
      return {
        errorType: escapeDel(error.name),
        errorMessage: escapeDel(error.message),
        trace: typeof error.stack === 'string' ? escapeDel(error.stack).split('\n') : [],
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch {
    return { errorType: 'handled', errorMessage: HANDLED_FAILURE, trace: [] };
  }
}

/** An Error for anything thrown or passed to a callback. */
function intoError(err) {
  return err instanceof Error ? err : new Error(err);
}

/** Name, message, code and stack are not enumerable; the log shows them anyway. */
function withEnumerableProperties(value) {
  if (!(value instanceof Error)) {
    return value;
  }
  const shown = Object.assign(
    { errorType: value.name, errorMessage: value.message, code: value.code },
    value,
  );
  if (typeof value.stack === 'string') {
    shown.stack = value.stack.split('\n');
  }
  return shown;
}

/** The log form of an error; it always starts with a tab, for compatibility. */
function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_key, value) => withEnumerableProperties(value));
  } catch {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

class ImportModuleError extends Error {}
class HandlerNotFound extends Error {}
class MalformedHandlerName extends Error {}
class UserCodeSyntaxError extends Error {}
class MalformedStreamingHandler extends Error {}
class InvalidStreamingOperation extends Error {}
class UnhandledPromiseRejection extends Error {
  constructor(reason, promise) {
    super(reason);
    this.reason = reason;
    this.promise = promise;
  }
}
class NodeJsExit extends Error {
  constructor() {
    super(
      'The Lambda runtime client detected an unexpected Node.js exit code. This is most ' +
        'commonly caused by a Promise that was never settled. For more information, see ' +
        'https://nodejs.org/docs/latest/api/process.html#exit-codes',
    );
  }
}

const errorClasses = {
  ImportModuleError,
  HandlerNotFound,
  MalformedHandlerName,
  UserCodeSyntaxError,
  MalformedStreamingHandler,
  InvalidStreamingOperation,
  UnhandledPromiseRejection,
  NodeJsExit,
};
for (const [name, errorClass] of Object.entries(errorClasses)) {
  errorClass.prototype.name = `Runtime.${name}`;
}

module.exports = {
  ...errorClasses,
  intoError,
  toFormatted,
  toRapidResponse,
};

/**
 * The handler's `context` object (InvokeContext.js, CallbackContext.js and
 * StreamingContext.js of AWS's 3.x client).
 *
 * From the `GET /next` headers: awsRequestId, invokedFunctionArn, getRemainingTimeInMillis()
 * (from Lambda-Runtime-Deadline-Ms), clientContext and identity (parsed JSON, undefined when
 * absent), tenantId. From the environment: functionName, functionVersion, memoryLimitInMB (a
 * string, as on AWS), logGroupName, logStreamName. The trace id goes to
 * `process.env._X_AMZN_TRACE_ID` for the invocation.
 *
 * A buffered handler's context also has `done`, `succeed` and `fail`, and the third
 * argument `callback(err, result)`; only the first of these calls counts. With
 * `callbackWaitsForEmptyEventLoop` true (the default) a callback's result is posted only
 * once the event loop is empty; `done`/`succeed`/`fail` post at once.
 */

'use strict';

const assert = require('node:assert').strict;
const BeforeExitListener = require('./before-exit.js');
const { InvalidStreamingOperation } = require('./errors.js');
const { setCurrentRequestId, setCurrentTenantId, structuredConsole } = require('./log-patch.js');
const { tryCallFail } = require('./response-stream.js');

const INVOKE_HEADER = {
  ClientContext: 'lambda-runtime-client-context',
  CognitoIdentity: 'lambda-runtime-cognito-identity',
  ARN: 'lambda-runtime-invoked-function-arn',
  AWSRequestId: 'lambda-runtime-aws-request-id',
  DeadlineMs: 'lambda-runtime-deadline-ms',
  XRayTrace: 'lambda-runtime-trace-id',
  TenantId: 'lambda-runtime-aws-tenant-id',
};

function parseJson(jsonString, name) {
  if (jsonString === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(jsonString);
  } catch (err) {
    throw new Error(`Cannot parse ${name} as json: ${err.toString()}`);
  }
}

function lowerCaseKeys(original) {
  return Object.fromEntries(Object.entries(original).map(([k, v]) => [k.toLowerCase(), v]));
}

class InvokeContext {
  constructor(headers) {
    this.headers = lowerCaseKeys(headers);
  }

  get invokeId() {
    const id = this.headers[INVOKE_HEADER.AWSRequestId];
    assert.ok(id, 'invocation id is missing or invalid');
    return id;
  }

  get tenantId() {
    return this.headers[INVOKE_HEADER.TenantId];
  }

  /** Stamp later log lines with this invocation's ids. */
  updateLoggingContext() {
    setCurrentRequestId(this.invokeId);
    setCurrentTenantId(this.tenantId);
  }

  /**
   * Add the invocation's data to `callbackContext` and return it.
   * @throws if the client context or identity header is not JSON.
   */
  attachEnvironmentData(callbackContext) {
    this.forwardXRay();
    return Object.assign(callbackContext, this.environmentalData(), this.headerData());
  }

  environmentalData(env = process.env) {
    return {
      functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
      functionName: env.AWS_LAMBDA_FUNCTION_NAME,
      memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    };
  }

  headerData() {
    const deadline = Number(this.headers[INVOKE_HEADER.DeadlineMs]);
    return {
      clientContext: parseJson(this.headers[INVOKE_HEADER.ClientContext], 'ClientContext'),
      identity: parseJson(this.headers[INVOKE_HEADER.CognitoIdentity], 'CognitoIdentity'),
      invokedFunctionArn: this.headers[INVOKE_HEADER.ARN],
      awsRequestId: this.headers[INVOKE_HEADER.AWSRequestId],
      tenantId: this.headers[INVOKE_HEADER.TenantId],
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
  }

  forwardXRay() {
    const trace = this.headers[INVOKE_HEADER.XRayTrace];
    if (trace) {
      process.env._X_AMZN_TRACE_ID = trace;
    } else {
      delete process.env._X_AMZN_TRACE_ID;
    }
  }
}

function rawCallbackContext(client, id, scheduleNext) {
  const postError = (err, callback) => {
    structuredConsole.logError('Invoke Error', err);
    client.postInvocationError(err, id, callback);
  };

  let isCompleteInvoked = false;
  const complete = (result, callback) => {
    if (isCompleteInvoked) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once ' +
          'per invocation.',
      );
      return;
    }
    isCompleteInvoked = true;
    client.postInvocationResponse(result, id, callback);
  };

  let waitForEmptyEventLoop = true;

  const callback = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else if (!waitForEmptyEventLoop) {
      complete(result, scheduleNext);
    } else {
      BeforeExitListener.set(() => setImmediate(() => complete(result, scheduleNext)));
    }
  };

  const done = (err, result) => {
    BeforeExitListener.reset();
    if (err !== undefined && err !== null) {
      postError(err, scheduleNext);
    } else {
      complete(result, scheduleNext);
    }
  };

  const callbackContext = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => (err === undefined || err === null ? done('handled') : done(err, null)),
    done,
  };

  const markCompleted = () => {
    isCompleteInvoked = true;
  };
  return [callback, callbackContext, markCompleted];
}

/**
 * The callback and the context's `done`/`succeed`/`fail` for one buffered invocation.
 *
 * @return [callback, context, markCompleted]: only the first call of any of the four
 *   functions does something; `markCompleted` makes later completions no-ops.
 */
function buildCallbackContext(client, id, scheduleNext) {
  const [callback, callbackContext, markCompleted] = rawCallbackContext(client, id, scheduleNext);
  let finished = false;
  const onlyAllowFirstCall =
    (toWrap) =>
    (...args) => {
      if (!finished) {
        toWrap(...args);
        finished = true;
      }
    };
  callbackContext.succeed = onlyAllowFirstCall(callbackContext.succeed);
  callbackContext.fail = onlyAllowFirstCall(callbackContext.fail);
  callbackContext.done = onlyAllowFirstCall(callbackContext.done);
  return [onlyAllowFirstCall(callback), callbackContext, markCompleted];
}

/**
 * The context of one streaming invocation and the means to create its response stream.
 *
 * `createStream()` returns `{responseStream, rapidResponse, scheduleNext, fail}`:
 * `fail(err, cb)` logs "Invoke Error" and ends the stream with the error trailers;
 * `scheduleNext()` polls for the next event, after the event loop empties when
 * `callbackWaitsForEmptyEventLoop` is true.
 */
function buildStreamingContext(client, id, scheduleNext, options) {
  let waitForEmptyEventLoop = true;
  const scheduleNextNow = () => {
    if (!waitForEmptyEventLoop) {
      scheduleNext();
    } else {
      BeforeExitListener.set(() => setImmediate(() => scheduleNext()));
    }
  };

  let isStreamCreated = false;
  return {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    createStream: (callback) => {
      if (isStreamCreated) {
        throw new InvalidStreamingOperation(
          'Cannot create stream for the same StreamingContext more than once.',
        );
      }
      const { request: responseStream, responseDone: rapidResponse } =
        client.getStreamForInvocationResponse(id, callback, options);
      isStreamCreated = true;
      return {
        fail: (err, cb) => {
          structuredConsole.logError('Invoke Error', err);
          tryCallFail(responseStream, err, cb);
        },
        responseStream,
        rapidResponse,
        scheduleNext: () => {
          BeforeExitListener.reset();
          scheduleNextNow();
        },
      };
    },
  };
}

module.exports = { InvokeContext, buildCallbackContext, buildStreamingContext };

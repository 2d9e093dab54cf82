/**
 * The invocation loop (Runtime.js of AWS's 3.x client).
 *
 * One iteration: `GET /next`, build the context, call the handler, report its outcome,
 * schedule the next iteration. Buffered handlers may return a promise (its value is posted,
 * a rejection goes to `/error`) or use the callback/`context.done` (CallbackContext rules);
 * a handler that neither settles nor calls back is completed when the event loop empties:
 * `null` for a plain function, `Runtime.NodeJsExit` for an async one.
 *
 * Streaming handlers (`awslambda.streamifyResponse`) must return a promise. A rejection or
 * throw is logged as "Invoke Error" and ends the stream with the error trailers, written
 * or not; `/error` is never used for them. A resolved promise whose stream was never ended
 * fails with "Response stream is not finished." once nothing is left that could end it
 * (the 4.x wording, as an Error); a returned value only logs a warning.
 *
 * While an invocation runs, an uncaught exception or unhandled rejection is posted to
 * `/error` for it and the process exits (129 and 128, as AWS's client does).
 */

'use strict';

const BeforeExitListener = require('./before-exit.js');
const { InvokeContext, buildCallbackContext, buildStreamingContext } = require('./context.js');
const { NodeJsExit } = require('./errors.js');
const { structuredConsole } = require('./log-patch.js');
const { whenEnded } = require('./response-stream.js');
const { STREAM_RESPONSE } = require('./user-function.js');

const EXIT_UNCAUGHT_EXCEPTION = 129;
const EXIT_UNHANDLED_REJECTION = 128;

function isPromise(value) {
  return Boolean(value) && typeof value.then === 'function';
}

class Runtime {
  constructor(client, handler, handlerMetadata, errorCallbacks) {
    this.client = client;
    this.handler = handler;
    this.handlerMetadata = handlerMetadata;
    this.errorCallbacks = errorCallbacks;
    this.handleOnce =
      handlerMetadata.streaming === STREAM_RESPONSE
        ? this.handleOnceStreaming
        : this.handleOnceNonStreaming;
  }

  /** Start the next iteration at the next turn of the event loop. */
  scheduleIteration() {
    setImmediate(() => {
      this.handleOnce().then(
        // Success needs nothing here: the outcome's callback schedules the next iteration.
        () => {},
        // A failure here is the runtime's, not the handler's (e.g. `GET /next` failed).
        (err) => {
          console.log(`Unexpected Top Level Error: ${String(err)}`);
          this.errorCallbacks.uncaughtException(err);
        },
      );
    });
  }

  async handleOnceNonStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();

    const [callback, callbackContext, markCompleted] = buildCallbackContext(
      this.client,
      invokeContext.invokeId,
      this.scheduleIteration.bind(this),
    );

    try {
      this.setErrorCallbacks(invokeContext.invokeId);
      this.setDefaultExitListener(invokeContext.invokeId, markCompleted);
      const result = this.handler(
        JSON.parse(bodyJson),
        invokeContext.attachEnvironmentData(callbackContext),
        callback,
      );
      if (isPromise(result)) {
        result.then(callbackContext.succeed, callbackContext.fail).catch(callbackContext.fail);
      }
    } catch (err) {
      callback(err);
    }
  }

  async handleOnceStreaming() {
    const { bodyJson, headers } = await this.client.nextInvocation();
    const invokeContext = new InvokeContext(headers);
    invokeContext.updateLoggingContext();

    const { highWaterMark } = this.handlerMetadata;
    const streamingContext = buildStreamingContext(
      this.client,
      invokeContext.invokeId,
      this.scheduleIteration.bind(this),
      highWaterMark ? { highWaterMark } : undefined,
    );
    const { responseStream, rapidResponse, scheduleNext, fail } = streamingContext.createStream();
    delete streamingContext.createStream;

    try {
      this.setErrorCallbacks(invokeContext.invokeId);
      this.setStreamingExitListener();
      const context = invokeContext.attachEnvironmentData(streamingContext);
      const handlerResult = this.handler(JSON.parse(bodyJson), responseStream, context);
      if (!isPromise(handlerResult)) {
        fail(new Error('Streaming does not support non-async handlers.'), scheduleNext);
        return;
      }
      const result = await handlerResult;
      if (result !== undefined) {
        console.warn('Streaming handlers ignore return values.');
      }
      if (!(await whenEnded(responseStream))) {
        fail(new Error('Response stream is not finished.'), scheduleNext);
        return;
      }
      await rapidResponse;
      if (!responseStream.writableFinished) {
        fail(new Error('Response stream is not finished.'), scheduleNext);
        return;
      }
      scheduleNext();
    } catch (err) {
      fail(err, scheduleNext);
    }
  }

  /** Errors outside the handler's own flow now belong to invocation `invokeId`. */
  setErrorCallbacks(invokeId) {
    this.errorCallbacks.uncaughtException = (error) => {
      this.client.postInvocationError(error, invokeId, () =>
        process.exit(EXIT_UNCAUGHT_EXCEPTION),
      );
    };
    this.errorCallbacks.unhandledRejection = (error) => {
      this.client.postInvocationError(error, invokeId, () =>
        process.exit(EXIT_UNHANDLED_REJECTION),
      );
    };
  }

  /** If the loop empties before a buffered handler completes (see the module docstring). */
  setDefaultExitListener(invokeId, markCompleted) {
    BeforeExitListener.set(() => {
      markCompleted();
      if (this.handlerMetadata.isAsync) {
        const error = new NodeJsExit();
        structuredConsole.logError('Invoke Error', error);
        this.client.postInvocationError(error, invokeId, () => this.scheduleIteration());
      } else {
        this.client.postInvocationResponse(null, invokeId, () => this.scheduleIteration());
      }
    });
  }

  setStreamingExitListener() {
    BeforeExitListener.set(() => this.scheduleIteration());
  }
}

module.exports = { Runtime };

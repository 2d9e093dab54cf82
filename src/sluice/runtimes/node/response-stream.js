/**
 * The `responseStream` a streaming handler writes to, and `awslambda.HttpResponseStream`
 * (ResponseStream.js and HttpResponseStream.js of AWS's client; spec sections 4.4, 4.5).
 *
 * The stream is a facade over one `http.ClientRequest`: `POST .../response` with
 * `Lambda-Runtime-Function-Response-Mode: streaming`, `Transfer-Encoding: chunked` and the
 * two trailer names announced in `Trailer` (Node sends an array header as two lines), on a
 * connection of its own with Nagle's algorithm off, kept alive for the next invocation's
 * stream: AWS's client streams through one `http.Agent` with `keepAlive` and `maxSockets: 1`,
 * apart from the connection that polls `next` (RAPIDClient.js, ResponseStream.js), so a
 * function's `highWaterMark` applies to the socket when the agent makes it. The request
 * gets its socket at once, but its head leaves only with the first `write()` or `end()`, so
 * `setContentType()` works until then (afterwards: `Runtime.InvalidStreamingOperation`).
 * Each `write()` is one HTTP chunk on the wire right away; writes in one tick share a TCP
 * segment but keep their own chunk framing. Anything but a string, Buffer or Uint8Array is
 * written as JSON.
 *
 * A failure ends the request with the two error trailers (type = the error's name, body =
 * base64 of `{errorType, errorMessage, trace}`); the runtime never posts `/error` for a
 * streaming handler.
 *
 * Where this departs from AWS's client, on purpose: `end(chunk)` goes through `write()`
 * (so the chunk is JSON-encoded when needed and the HTTP prelude comes first), and an
 * `end()` with nothing written still sends the prelude `HttpResponseStream.from` set up,
 * instead of leaving a function URL client waiting for status and headers.
 */

'use strict';

const http = require('node:http');
const net = require('node:net');
const BeforeExitListener = require('./before-exit.js');
const { InvalidStreamingOperation, toRapidResponse } = require('./errors.js');

const HEADER_RESPONSE_MODE = 'Lambda-Runtime-Function-Response-Mode';
const VALUE_STREAMING = 'streaming';
const TRAILER_NAME_ERROR_TYPE = 'Lambda-Runtime-Function-Error-Type';
const TRAILER_NAME_ERROR_BODY = 'Lambda-Runtime-Function-Error-Body';
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const METADATA_PRELUDE_CONTENT_TYPE = 'application/vnd.awslambda.http-integration-response';
const DELIMITER_LEN = 8;

const WRITABLE_METHODS = [
  'cork',
  'destroy',
  'end',
  'uncork',
  'write',
  'addListener',
  'emit',
  'eventNames',
  'getMaxListeners',
  'listenerCount',
  'listeners',
  'off',
  'on',
  'once',
  'prependListener',
  'prependOnceListener',
  'rawListeners',
  'removeAllListeners',
  'removeListener',
  'setMaxListeners',
  'setContentType',
];
const PROPS_READ_WRITE = ['destroyed', '_onBeforeFirstWrite'];
const PROPS_READ_ONLY = [
  'writable',
  'writableFinished',
  'writableObjectMode',
  'writableEnded',
  'writableNeedDrain',
  'writableHighWaterMark',
  'writableCorked',
  'writableLength',
];

/** Facade → the ClientRequest behind it and its `fail` function. */
const internals = new WeakMap();

/** A header value Node accepts: characters outside visible ASCII are percent-escaped. */
function headerSafe(value) {
  return String(value).replace(/[^\t\x20-\x7E]/gu, (c) => {
    try {
      return encodeURIComponent(c);
    } catch {
      return '%EF%BF%BD'; // a lone surrogate
    }
  });
}

function toChunk(chunk) {
  return typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : JSON.stringify(chunk);
}

function deferred() {
  let resolve;
  let reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Only the writable side and the AWS additions of the request are visible to handlers. */
function writableStreamOnly(inner) {
  const stream = Object.fromEntries(
    WRITABLE_METHODS.map((name) => [name, inner[name].bind(inner)]),
  );
  for (const prop of PROPS_READ_WRITE) {
    Object.defineProperty(stream, prop, {
      get: () => inner[prop],
      set: (value) => {
        inner[prop] = value;
      },
    });
  }
  for (const prop of PROPS_READ_ONLY) {
    Object.defineProperty(stream, prop, { get: () => inner[prop] });
  }
  return stream;
}

function openRequest(options, responseDone) {
  const highWaterMark = options.highWaterMark;
  // As AWS's client does: a socket the agent makes from now on has this stream's
  // highWaterMark; one it kept alive from an earlier stream is reused as it is.
  options.agent.createConnection = (opts, connectionListener) => {
    const socket = net.createConnection({ ...opts, highWaterMark }, connectionListener);
    socket.setNoDelay(true);
    return socket;
  };
  const req = http.request(
    {
      method: 'POST',
      hostname: options.hostname,
      port: options.port,
      path: options.path,
      highWaterMark,
      agent: options.agent,
      headers: {
        [HEADER_RESPONSE_MODE]: VALUE_STREAMING,
        Trailer: [TRAILER_NAME_ERROR_TYPE, TRAILER_NAME_ERROR_BODY],
        'Content-Type': options.contentType ?? DEFAULT_CONTENT_TYPE,
        'Transfer-Encoding': 'chunked',
        ...options.headers,
      },
    },
    (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', (err) => responseDone.reject(err));
      res.on('end', () =>
        responseDone.resolve({ statusCode: res.statusCode, body: Buffer.concat(chunks) }),
      );
    },
  );
  req.on('error', (err) => {
    responseDone.reject(err);
    req.destroy(err);
  });
  return req;
}

/**
 * Prepare the streaming response of one invocation.
 *
 * @param options {agent, hostname, port, path, headers, highWaterMark, contentType}
 * @return {request, responseDone}: the handler's stream, and a promise of the Runtime API's
 *   answer `{statusCode, body}` (it rejects if the connection fails).
 */
function createResponseStream(options) {
  const responseDone = deferred();
  const req = openRequest(options, responseDone);
  let started = false;

  const origWrite = req.write.bind(req);
  const origEnd = req.end.bind(req);

  const runFirstWriteHook = () => {
    if (!started && typeof req._onBeforeFirstWrite === 'function') {
      req._onBeforeFirstWrite((chunk) => origWrite(chunk));
    }
    started = true;
  };

  req.setContentType = (contentType) => {
    if (started) {
      throw new InvalidStreamingOperation('Cannot set content-type, too late.');
    }
    req.setHeader('Content-Type', contentType);
  };

  req.write = (chunk, encoding, callback) => {
    const data = toChunk(chunk);
    runFirstWriteHook();
    return origWrite(data, encoding, callback);
  };

  req.end = (chunk, encoding, callback) => {
    if (typeof chunk === 'function') {
      [chunk, encoding, callback] = [undefined, undefined, chunk];
    } else if (typeof encoding === 'function') {
      [encoding, callback] = [undefined, encoding];
    }
    if (chunk !== undefined && chunk !== null) {
      req.write(chunk, encoding);
    } else if (!req.writableEnded) {
      runFirstWriteHook();
    }
    return origEnd(callback);
  };

  const request = writableStreamOnly(req);
  internals.set(request, {
    req,
    // End the response with the error trailers; `callback` runs once it is sent.
    fail: (err, callback) => {
      const error = toRapidResponse(err);
      started = true;
      if (req.destroyed || req.writableEnded) {
        process.nextTick(() => callback?.());
        return;
      }
      req.addTrailers({
        [TRAILER_NAME_ERROR_TYPE]: headerSafe(error.errorType),
        [TRAILER_NAME_ERROR_BODY]: Buffer.from(JSON.stringify(error)).toString('base64'),
      });
      origEnd(() => callback?.());
    },
  });
  return { request, responseDone: responseDone.promise };
}

/** End `stream` with error trailers (StreamingContext's `fail`). */
function tryCallFail(stream, err, callback) {
  const inner = internals.get(stream);
  if (inner === undefined) {
    return false;
  }
  inner.fail(err, callback);
  return true;
}

/**
 * Wait until the handler ends `stream`, or until nothing could end it any more.
 *
 * AWS's client waits for the end however long it takes (a handler may `pipe()` into the
 * stream without awaiting it). While waiting, the stream's socket is unreferenced: if the
 * event loop empties, no code is left that could end the stream, and this resolves false
 * (the runtime then fails with "Response stream is not finished.") instead of hanging
 * until the function times out.
 *
 * @return Promise<boolean>: true once the stream ended or broke, false if abandoned.
 */
function whenEnded(stream) {
  const { req } = internals.get(stream);
  if (req.writableEnded || req.destroyed) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const referenced = (ref) => {
      const socket = req.socket;
      if (socket) {
        ref ? socket.ref() : socket.unref();
      }
    };
    const onSocket = () => referenced(false);
    const settle = (ended) => {
      req.off('finish', onEnded);
      req.off('close', onEnded);
      req.off('socket', onSocket);
      BeforeExitListener.reset();
      referenced(true);
      resolve(ended);
    };
    const onEnded = () => settle(true);
    req.once('finish', onEnded);
    req.once('close', onEnded);
    req.once('socket', onSocket);
    referenced(false);
    BeforeExitListener.set(() => settle(false));
  });
}

/** `awslambda.HttpResponseStream`: the function-URL metadata prelude before the body. */
class HttpResponseStream {
  static from(underlyingStream, prelude) {
    underlyingStream.setContentType(METADATA_PRELUDE_CONTENT_TYPE);
    // JSON.stringify is required: a NUL byte is not allowed in the prelude.
    const metadataPrelude = JSON.stringify(prelude);
    underlyingStream._onBeforeFirstWrite = (write) => {
      write(metadataPrelude);
      write(new Uint8Array(DELIMITER_LEN));
    };
    return underlyingStream;
  }
}

module.exports = {
  HttpResponseStream,
  createResponseStream,
  headerSafe,
  tryCallFail,
  whenEnded,
};

/**
 * The Runtime API client (RAPIDClient.js of AWS's 3.x client, without its native addon).
 *
 * `next`, buffered `response`, `error` and `init/error` share one keep-alive connection
 * (an `http.Agent` with one socket, kept unreferenced while idle so it never holds the
 * event loop open). Streaming `response`s share a keep-alive connection of their own
 * (`streamAgent`, likewise unreferenced while idle), see response-stream.js. Every socket
 * has Nagle's algorithm off: small posts and chunks must leave at once.
 *
 * Posts always call their callback, once the Runtime API answered or the attempt failed;
 * a refused or failed post is reported on stderr, as AWS's native client does, and the
 * runtime carries on. The only error a post throws is AWS's "Unable to stringify response
 * body", synchronously, for a result JSON cannot encode. `nextInvocation` rejects when it
 * gets no event: then there is nothing left to do.
 */

'use strict';

const http = require('node:http');
const { toRapidResponse } = require('./errors.js');
const { createResponseStream, headerSafe } = require('./response-stream.js');

const API = '/2018-06-01/runtime';
const ERROR_TYPE_HEADER = 'Lambda-Runtime-Function-Error-Type';
const INVOCATION_ID_HEADER = 'Lambda-Runtime-Invocation-Id';

/** Serialise a result or error document; the one error it throws is AWS's. */
function trySerializeResponse(body) {
  try {
    return JSON.stringify(body === undefined ? null : body);
  } catch {
    throw new Error('Unable to stringify response body');
  }
}

/** `host:port`, IPv6 literals (`[::1]:9001`) included. */
function splitAddress(hostnamePort) {
  const colon = hostnamePort.lastIndexOf(':');
  const hostname = hostnamePort.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
  return [hostname, parseInt(hostnamePort.slice(colon + 1), 10)];
}

function warn(message) {
  process.stderr.write(`LAMBDA_RUNTIME ${message}\n`);
}

class RAPIDClient {
  constructor(hostnamePort) {
    [this.hostname, this.port] = splitAddress(hostnamePort);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    // Streamed responses have a keep-alive connection of their own (response-stream.js).
    this.streamAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    this.invocationIds = new Map();
  }

  /** Long-poll for the next event: `{bodyJson, headers}` with lower-case header names. */
  async nextInvocation() {
    const answer = await this._request('GET', `${API}/invocation/next`);
    if (answer.statusCode !== 200) {
      throw new Error(
        `Failed to get next invocation, HTTP ${answer.statusCode}: ${answer.body.slice(0, 300)}`,
      );
    }
    const id = answer.headers['lambda-runtime-aws-request-id'];
    const invocationId = answer.headers[INVOCATION_ID_HEADER.toLowerCase()];
    this.invocationIds.clear();
    if (id && invocationId) {
      this.invocationIds.set(id, invocationId);
    }
    return { bodyJson: answer.body.toString('utf8'), headers: answer.headers };
  }

  /** Post a buffered result (JSON). Throws only if the result cannot be serialised. */
  postInvocationResponse(response, id, callback) {
    const body = trySerializeResponse(response);
    const path = `${API}/invocation/${encodeURIComponent(id)}/response`;
    this._post(path, body, this._echo(id), 'success response', callback);
  }

  /** Post an invocation error, before any byte of a streamed response was sent. */
  postInvocationError(error, id, callback) {
    const document = toRapidResponse(error);
    const headers = { [ERROR_TYPE_HEADER]: headerSafe(document.errorType), ...this._echo(id) };
    const path = `${API}/invocation/${encodeURIComponent(id)}/error`;
    this._post(path, trySerializeResponse(document), headers, 'error response', callback);
  }

  /** Report an initialisation error; the runtime exits after the callback. */
  postInitError(error, callback) {
    const document = toRapidResponse(error);
    const headers = { [ERROR_TYPE_HEADER]: headerSafe(document.errorType) };
    this._post(`${API}/init/error`, trySerializeResponse(document), headers, 'init error', callback);
  }

  /** Open a streaming `/response`: `{request, responseDone}`, nothing sent yet. */
  getStreamForInvocationResponse(id, callback, options) {
    const { request, responseDone } = createResponseStream({
      agent: this.streamAgent,
      hostname: this.hostname,
      port: this.port,
      path: `${API}/invocation/${encodeURIComponent(id)}/response`,
      headers: this._echo(id),
      highWaterMark: options?.highWaterMark,
    });
    return {
      request,
      responseDone: responseDone.then((answer) => {
        callback?.();
        return answer;
      }),
    };
  }

  _echo(id) {
    const invocationId = this.invocationIds.get(id);
    return invocationId ? { [INVOCATION_ID_HEADER]: invocationId } : {};
  }

  _post(path, body, headers, what, callback) {
    const allHeaders = {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...headers,
    };
    this._request('POST', path, body, allHeaders).then(
      (answer) => {
        if (answer.statusCode < 200 || answer.statusCode > 299) {
          warn(`Failed to post handler ${what}. Http response code: ${answer.statusCode}.`);
        }
        callback?.();
      },
      (err) => {
        warn(`Failed to post handler ${what}: ${err.message}`);
        callback?.();
      },
    );
  }

  /**
   * One request on the keep-alive connection, its whole answer buffered. A reused socket
   * the server closed meanwhile fails with ECONNRESET before anything was processed; that
   * request is sent once more on a fresh connection.
   */
  _request(method, path, body, headers = {}, retry = true) {
    return new Promise((resolve, reject) => {
      const options = { method, path, headers, hostname: this.hostname, port: this.port };
      const req = http.request({ ...options, agent: this.agent }, (res) => {
        const chunks = [];
        res.on('data', (chunk) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () =>
          resolve({ statusCode: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }),
        );
      });
      req.on('socket', (socket) => socket.setNoDelay(true));
      req.on('error', (err) => {
        if (retry && req.reusedSocket && err.code === 'ECONNRESET') {
          resolve(this._request(method, path, body, headers, false));
        } else {
          reject(err);
        }
      });
      req.end(body);
    });
  }
}

module.exports = { RAPIDClient };

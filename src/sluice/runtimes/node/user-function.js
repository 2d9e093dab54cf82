/**
 * Loading the handler `_HANDLER` names (UserFunction.js of AWS's 3.x client).
 *
 * `[dir/]module.export[.nested...]`, resolved against the task root. The module is found
 * as AWS finds it: an extensionless file (CommonJS); `module.js` as CommonJS unless the
 * nearest package.json says `"type": "module"`, then as an ES module; `module.mjs` (ES
 * module); `module.cjs`; finally Node's own resolution from the task root
 * (`node_modules`, folders with package.json `main`). Errors keep AWS's types and
 * messages: `Runtime.MalformedHandlerName`, `Runtime.ImportModuleError` ("Error: Cannot
 * find module 'x'..."), `Runtime.UserCodeSyntaxError`, `Runtime.HandlerNotFound` ("index.foo
 * is undefined or not exported"), `Runtime.MalformedStreamingHandler`; anything else the
 * module throws while loading propagates unchanged. Only CommonJS's MODULE_NOT_FOUND is an
 * ImportModuleError: an ES module importing a missing package fails with Node's own error
 * ("Cannot find package 'x' imported from ..."), as with AWS's 3.x client.
 *
 * `_HANDLER` is not trusted: any `..` in it is refused before a file is touched, as AWS
 * refuses it (absolute paths are AWS's way to name a root directory and stay allowed).
 *
 * The `awslambda` global (`streamifyResponse`, `HttpResponseStream`) is installed before
 * the user's module runs, unless AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA is `1` or `true`.
 */

'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const {
  HandlerNotFound,
  ImportModuleError,
  MalformedHandlerName,
  MalformedStreamingHandler,
  UserCodeSyntaxError,
} = require('./errors.js');
const { HttpResponseStream } = require('./response-stream.js');

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const RELATIVE_PATH_SUBSTRING = '..';
const HANDLER_STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HANDLER_HIGHWATERMARK = Symbol.for('aws.lambda.runtime.handler.streaming.highWaterMark');
const STREAM_RESPONSE = 'response';

/** `./dir/module.nested.handler` → [`./dir/`, `module.nested.handler`]. */
function moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

/** `module.nested.handler` → [`module`, `nested.handler`]. */
function splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length !== 3) {
    throw new MalformedHandlerName('Bad handler');
  }
  return [match[1], match[2]];
}

function resolveHandler(object, nestedProperty) {
  return nestedProperty.split('.').reduce((nested, key) => nested && nested[key], object);
}

function tryRequireFile(file, extension = '') {
  const candidate = file + extension;
  return fs.existsSync(candidate) ? require(candidate) : undefined;
}

async function tryAwaitImport(file, extension = '') {
  const candidate = file + extension;
  return fs.existsSync(candidate) ? await import(pathToFileURL(candidate).href) : undefined;
}

/** Whether `.js` files in `folder` are ES modules: the nearest package.json decides. */
function hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) {
    return false;
  }
  const packageJson = path.join(folder, 'package.json');
  if (fs.existsSync(packageJson)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(packageJson, 'utf8'));
      if (pkg) {
        return pkg.type === 'module';
      }
    } catch (e) {
      console.warn(
        `${packageJson} cannot be read, it will be ignored for ES module detection purposes.`,
        e,
      );
      return false;
    }
  }
  const parent = path.resolve(folder, '..');
  return parent === folder ? false : hasFolderPackageJsonTypeModule(parent);
}

async function tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);

  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) {
    return extensionless;
  }

  const pjHasModule = hasFolderPackageJsonTypeModule(path.dirname(lambdaStylePath));
  if (!pjHasModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) {
      return loaded;
    }
  }

  const loaded =
    (pjHasModule && (await tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await tryAwaitImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) {
    return loaded;
  }

  // require() resolves relative to this file, not the task root: name the paths.
  const nodeStylePath = require.resolve(module, { paths: [appRoot, moduleRoot] });
  return require(nodeStylePath);
}

function streamifyResponse(handler, options) {
  handler[HANDLER_STREAMING] = STREAM_RESPONSE;
  if (typeof options?.highWaterMark === 'number') {
    handler[HANDLER_HIGHWATERMARK] = parseInt(options.highWaterMark, 10);
  }
  return handler;
}

function installGlobal(env) {
  const value = env.AWS_LAMBDA_NODEJS_NO_GLOBAL_AWSLAMBDA;
  if (value !== '1' && value !== 'true') {
    globalThis.awslambda = { streamifyResponse, HttpResponseStream };
  }
}

async function loadUserApp(appRoot, moduleRoot, module, env) {
  installGlobal(env);
  try {
    return await tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) {
      const error = new UserCodeSyntaxError(e);
      error.stack = e.stack; // where the syntax error is, not where the loader was
      throw error;
    }
    if (e?.code === 'MODULE_NOT_FOUND') {
      throw new ImportModuleError(e);
    }
    throw e;
  }
}

function throwIfInvalidHandler(fullHandlerString) {
  if (fullHandlerString.includes(RELATIVE_PATH_SUBSTRING)) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when ` +
        'specifying root directories in handler names.',
    );
  }
}

/**
 * Load the handler function `fullHandlerString` names, relative to `appRoot`.
 *
 * @throws the Runtime.* errors of the module docstring, or what the module threw.
 */
async function load(appRoot, fullHandlerString, env = process.env) {
  throwIfInvalidHandler(fullHandlerString);
  const [moduleRoot, moduleAndHandler] = moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = splitHandlerString(moduleAndHandler);
  const userApp = await loadUserApp(appRoot, moduleRoot, module, env);
  const handlerFunc = resolveHandler(userApp, handlerPath);
  if (!handlerFunc) {
    throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  }
  if (typeof handlerFunc !== 'function') {
    throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  }
  return handlerFunc;
}

function isHandlerStreaming(handler) {
  const mark = handler[HANDLER_STREAMING];
  if (mark === undefined || mark === null || mark === false) {
    return false;
  }
  if (mark === STREAM_RESPONSE) {
    return STREAM_RESPONSE;
  }
  throw new MalformedStreamingHandler('Only response streaming is supported.');
}

function highWaterMark(handler) {
  const value = handler[HANDLER_HIGHWATERMARK];
  if (value === undefined || value === null || value === false) {
    return undefined;
  }
  const parsed = parseInt(value, 10);
  return isNaN(parsed) ? undefined : parsed;
}

function isAsync(handler) {
  try {
    return handler?.constructor?.name === 'AsyncFunction';
  } catch {
    return false;
  }
}

/** How the runtime calls `handler`: streaming or not, highWaterMark, async or not. */
function getHandlerMetadata(handler) {
  return {
    streaming: isHandlerStreaming(handler),
    highWaterMark: highWaterMark(handler),
    isAsync: isAsync(handler),
    argsNum: handler.length,
  };
}

module.exports = { STREAM_RESPONSE, getHandlerMetadata, load };

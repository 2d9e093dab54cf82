// Drives InvokeWithResponseStream through the AWS SDK for JavaScript v3.
//
//   node stream-client.mjs <function-name-prefix> <json-payload>
//       find the first function (ListFunctions, paginated) whose name starts with the
//       prefix and invoke it by ARN
//   node stream-client.mjs --name <function-name> <json-payload>
//       invoke that name directly, without looking it up
//
// The endpoint comes from AWS_ENDPOINT_URL (the SDK reads it itself), the credentials from
// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Output is one JSON object per line:
//   {"contentType": ..., "status": ...}                  the response head
//   {"t": <ms since invoke>, "chunk": "<utf-8 text>"}     each PayloadChunk
//   {"t": ..., "complete": {ErrorCode, ErrorDetails, LogResult}}   the InvokeComplete
// A failure prints {"error": {name, message, status}} and exits with status 1.

import {
  InvokeWithResponseStreamCommand,
  LambdaClient,
  paginateListFunctions,
} from "@aws-sdk/client-lambda";

const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);

async function findFunctionArn(client, prefix) {
  for await (const page of paginateListFunctions({ client }, {})) {
    for (const fn of page.Functions ?? []) {
      if (fn.FunctionName.startsWith(prefix)) {
        return fn.FunctionArn;
      }
    }
  }
  const error = new Error(`no function name starts with ${JSON.stringify(prefix)}`);
  error.name = "NoMatchingFunction";
  throw error;
}

async function main(argv) {
  const direct = argv[0] === "--name";
  const [target, payload = "{}"] = direct ? argv.slice(1) : argv;
  if (!target) {
    throw new Error("usage: stream-client.mjs [--name] <prefix-or-name> [json-payload]");
  }
  const client = new LambdaClient({
    region: "eu-west-1",
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
    maxAttempts: 1,
  });
  const functionName = direct ? target : await findFunctionArn(client, target);
  const decoder = new TextDecoder("utf-8");

  const started = performance.now();
  const elapsed = () => Math.round((performance.now() - started) * 10) / 10;
  const response = await client.send(
    new InvokeWithResponseStreamCommand({
      FunctionName: functionName,
      LogType: "Tail",
      Payload: new TextEncoder().encode(payload),
    }),
  );
  print({
    contentType: response.ResponseStreamContentType,
    status: response.$metadata.httpStatusCode,
  });
  for await (const event of response.EventStream) {
    if (event.PayloadChunk) {
      print({ t: elapsed(), chunk: decoder.decode(event.PayloadChunk.Payload ?? new Uint8Array()) });
    } else if (event.InvokeComplete) {
      const { ErrorCode, ErrorDetails, LogResult } = event.InvokeComplete;
      print({
        t: elapsed(),
        complete: {
          ErrorCode,
          ErrorDetails,
          LogResult: LogResult === undefined ? undefined : Buffer.from(LogResult, "base64").toString("utf-8"),
        },
      });
    }
  }
}

try {
  await main(process.argv.slice(2));
} catch (error) {
  print({
    error: {
      name: error.name,
      message: error.message,
      status: error.$metadata?.httpStatusCode,
    },
  });
  process.exitCode = 1;
}

// The pattern's SDK client: finds each function with ListFunctions and invokes it with
// InvokeWithResponseStream, printing every event as it arrives.
//
// Against AWS:    node index.mjs
// Against sluice: AWS_ENDPOINT_URL=http://127.0.0.1:3001 node index.mjs
// Nothing else changes: the SDK reads AWS_ENDPOINT_URL itself.

import {
  InvokeWithResponseStreamCommand,
  LambdaClient,
  paginateListFunctions,
} from "@aws-sdk/client-lambda";

const REGION = "eu-west-1";
const STACK = "lambda-streaming-sdk-sam";

const lambda = new LambdaClient({ region: REGION });
const text = new TextDecoder("utf-8");

// Like the pattern: look at the first page only, take the first name with the prefix.
async function findFunctionArn(name) {
  const prefix = `${STACK}-${name}`;
  for await (const page of paginateListFunctions({ client: lambda, pageSize: 50 }, {})) {
    const match = (page.Functions ?? []).find((fn) => fn.FunctionName.startsWith(prefix));
    return match?.FunctionArn;
  }
  return undefined;
}

async function run(name) {
  const arn = await findFunctionArn(name);
  if (!arn) {
    console.log(`Could not find ${STACK}-${name}. Have you deployed the stack yet?`);
    return false;
  }
  const response = await lambda.send(
    new InvokeWithResponseStreamCommand({ FunctionName: arn, LogType: "Tail" }),
  );
  for await (const event of response.EventStream) {
    console.log(event);
    if (event.PayloadChunk) {
      console.log(text.decode(event.PayloadChunk.Payload));
    }
    if (event.InvokeComplete) {
      const { ErrorCode, ErrorDetails, LogResult } = event.InvokeComplete;
      if (ErrorCode) {
        console.log("Error Code:", ErrorCode);
        console.log("Details:", ErrorDetails);
      }
      if (LogResult) {
        console.log("Logs:", Buffer.from(LogResult, "base64").toString("utf-8"));
      }
    }
  }
  return true;
}

let found = true;
for (const [title, name] of [
  ["Happy path streaming example", "HappyPath"],
  ["Midstream error example", "MidstreamError"],
  ["Timeout example", "Timeout"],
]) {
  console.log(title);
  found = (await run(name)) && found;
}
process.exitCode = found ? 0 : 1;

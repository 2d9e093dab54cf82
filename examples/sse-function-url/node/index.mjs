// Eight Server-Sent Events, 400 ms apart, then an `event: done`, through a function URL whose
// InvokeMode is RESPONSE_STREAM. Each event carries its number and the time it was written
// (ms since the epoch), so a client can see how long it took to arrive.
//
// `awslambda` is a global of the Node.js runtime: `streamifyResponse` gives the handler a
// writable `responseStream`, and `HttpResponseStream.from` puts the status and headers in
// front of the body (the function URL turns them into the HTTP response head).

const EVENTS = 8;
const INTERVAL_MS = 400;

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sse = (data, event) => `${event ? `event: ${event}\n` : ""}data: ${JSON.stringify(data)}\n\n`;

export const handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  const stream = awslambda.HttpResponseStream.from(responseStream, {
    statusCode: 200,
    headers: { "Content-Type": "text/event-stream", "Cache-Control": "no-cache" },
  });
  for (let n = 0; n < EVENTS; n++) {
    if (n > 0) await pause(INTERVAL_MS);
    stream.write(sse({ n, at: Date.now() }));
  }
  await pause(INTERVAL_MS);
  stream.write(sse({ n: EVENTS, at: Date.now() }, "done"));
  stream.end();
});

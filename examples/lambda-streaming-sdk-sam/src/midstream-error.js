// MidstreamError: four words, one every 500 ms, then an error thrown before the fifth.
//
// The bytes already written stay with the caller; the runtime ends the stream with error
// trailers, which the caller sees as the InvokeComplete event's ErrorCode and ErrorDetails.

const WORDS = ["This", "function", "is", "streaming"];

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType("text/plain");
  for (const word of WORDS) {
    responseStream.write(word);
    await pause(500);
  }
  throw new Error("This is a custom error mid-stream!");
});

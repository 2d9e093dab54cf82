// HappyPath (and Timeout): twelve words, one every 500 ms, then the end of the stream.
//
// `awslambda` is a global of the Node.js runtime; `streamifyResponse` marks the handler as
// a response-streaming one, so it receives a writable `responseStream`.

const WORDS = [
  "This", "function", "is", "streaming", "its", "response",
  "word", "by", "word", "and", "is", "finished!",
];

const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

exports.handler = awslambda.streamifyResponse(async (event, responseStream, context) => {
  responseStream.setContentType("text/plain");
  for (const word of WORDS) {
    responseStream.write(word);
    await pause(500);
  }
  responseStream.end();
});

// OpenAI's official Node library pointed at Sluice as a user would set it up: only baseURL and apiKey change, and
// the library keeps its defaults (two retries on 429 and 5xx). Prints one JSON object with what the library reported.
// Usage: node sdk.mjs <baseURL> <key> chat|stream|embeddings|calls <count>
import OpenAI from 'openai';

const [baseURL, apiKey, scenario, count] = process.argv.slice(2);
const model = 'gpt-4o-mini';
const messages = [{ role: 'user', content: 'Say hello' }];

// Counts the HTTP requests the library sends, so that its retries can be seen.
let requests = 0;
const client = new OpenAI({
  baseURL,
  apiKey,
  fetch: (url, init) => {
    requests++;
    return fetch(url, init);
  },
});

async function chat() {
  const { data, response } = await client.chat.completions.create({ model, messages }).withResponse();
  return {
    text: data.choices[0].message.content,
    finish: data.choices[0].finish_reason,
    usage: data.usage,
    remaining: response.headers.get('x-ratelimit-remaining-requests'),
    requestId: response.headers.get('x-sluice-request-id'),
  };
}

async function stream() {
  const { data, response } = await client.chat.completions
    .create({ model, messages, stream: true, stream_options: { include_usage: true } })
    .withResponse();
  let chunks = 0;
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of data) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
    finish = chunk.choices[0]?.finish_reason ?? finish;
    usage = chunk.usage ?? usage;
  }
  return { chunks, text, finish, usage, requestId: response.headers.get('x-sluice-request-id') };
}

async function embeddings() {
  const embedded = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a b', 'c'] });
  const models = [];
  for await (const m of client.models.list()) {
    models.push(m.id);
  }
  return { embeddings: embedded.data.length, dimensions: embedded.data[0].embedding.length, models };
}

// One chat call after another; for each, whether the library returned an answer or threw, and how many HTTP
// requests it sent for it (1 = no retry).
async function calls(n) {
  const results = [];
  for (let i = 0; i < n; i++) {
    const before = requests;
    const started = Date.now();
    try {
      await client.chat.completions.create({ model, messages });
      results.push({ ok: true, requests: requests - before, ms: Date.now() - started });
    } catch (error) {
      if (!(error instanceof OpenAI.APIError)) {
        throw error;
      }
      results.push({
        ok: false,
        requests: requests - before,
        ms: Date.now() - started,
        status: error.status,
        code: error.code,
        type: error.type,
        message: error.message,
        retryAfter: error.headers?.get('retry-after') ?? null,
        shouldRetry: error.headers?.get('x-should-retry') ?? null,
        requestID: error.requestID ?? null,
        sluiceRequestId: error.headers?.get('x-sluice-request-id') ?? null,
        rateLimitError: error instanceof OpenAI.RateLimitError,
      });
    }
  }
  return { calls: results };
}

const run = { chat, stream, embeddings, calls: () => calls(Number(count)) }[scenario];
if (!run) {
  console.error(`unknown scenario '${scenario}'`);
  process.exit(2);
}
console.log(JSON.stringify(await run()));

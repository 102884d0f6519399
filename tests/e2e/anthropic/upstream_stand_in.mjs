// A fault-injecting stand-in for an OpenAI-compatible upstream (what vLLM or SGLang would be),
// run inside the test process: it answers chat completions the way `mode` says — well, busy,
// by resetting the connection before answering, by cutting a stream after its first chunk, or
// not at all — and reports a queue in vLLM's metric names when told to. It counts what it got.
import http from 'node:http';

export const STAND_IN_TEXT = 'stand-in answer';

function chunk(id, delta, finish = null, extra = {}) {
  return `data: ${JSON.stringify({
    id, object: 'chat.completion.chunk', created: 0, model: 'stand-in',
    choices: [{ index: 0, delta, finish_reason: finish }], ...extra,
  })}\n\n`;
}

// `tokens`: how many one-word chunks a long answer streams (0: the two-chunk STAND_IN_TEXT).
// `port`: where to listen (0: any free port).
export async function startStandIn({ mode = 'answer', waiting = 0, tokens = 0, port = 0 } = {}) {
  const state = { mode, waiting, tokens, chats: 0, bodies: [] };
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      if (req.url === '/health') return res.end('{"status":"ok"}');
      if (req.url === '/metrics') {
        res.setHeader('content-type', 'text/plain; version=0.0.4');
        return res.end(
          '# TYPE vllm:num_requests_waiting gauge\n' +
            `vllm:num_requests_waiting{model_name="stand-in"} ${state.waiting}\n` +
            `vllm:num_requests_running{model_name="stand-in"} 1\n` +
            `vllm:kv_cache_usage_perc{model_name="stand-in"} 0.5\n`,
        );
      }
      if (req.url === '/v1/models') return res.end('{"object":"list","data":[{"id":"stand-in","object":"model"}]}');
      if (req.url !== '/v1/chat/completions') {
        res.statusCode = 404;
        return res.end('{"error":{"message":"not found"}}');
      }
      state.chats += 1;
      state.bodies.push(body);
      switch (state.mode) {
        case 'reset':
          return req.socket.destroy();
        case 'busy':
          res.statusCode = 503;
          return res.end('{"error":{"message":"queue full","type":"server_error"}}');
        case 'hang':
          return;  // the socket stays open, unanswered, until the test or the client closes it
        default: {
          res.setHeader('content-type', 'text/event-stream');
          res.write(chunk('c1', { role: 'assistant', content: '' }));
          // Answered, then gone before any content: nothing reached the client yet.
          if (state.mode === 'early_cut') return setTimeout(() => req.socket.destroy(), 50);
          if (state.tokens > 0) {
            let all = '';
            for (let i = 0; i < state.tokens; i += 1) all += chunk('c1', { content: 'word ' });
            res.write(all + chunk('c1', {}, 'stop'));
            return res.end('data: [DONE]\n\n');
          }
          res.write(chunk('c1', { content: 'stand-in ' }));
          if (state.mode === 'cut') return setTimeout(() => req.socket.destroy(), 50);
          res.write(chunk('c1', { content: 'answer' }));
          res.write(chunk('c1', {}, 'stop'));
          res.write(`data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 0, model: 'stand-in', choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } })}\n\n`);
          // A proxy that keeps the body open after [DONE]: the answer is complete all the same.
          if (state.mode === 'linger') return res.write('data: [DONE]\n\n');
          return res.end('data: [DONE]\n\n');
        }
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address().port;
  return {
    state,
    port: bound,
    url: `http://127.0.0.1:${bound}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

// Upstream mode under faults: a front before fault-injecting stand-ins and real `pensieve serve`
// upstreams. An overloaded upstream gives a 529 at once; a connection that fails before the
// first byte goes to the next upstream; a stream cut after output began ends in an error, never
// a silent retry; killing an upstream under load loses no request that had not begun streaming.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer, startFront, smallModel, freePort, logLine, sseEvents, postMessages, MODEL, user,
} from './harness.mjs';
import { startStandIn, STAND_IN_TEXT } from './upstream_stand_in.mjs';

const cleanup = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});
async function front(urls, args = []) {
  const f = await startFront(urls, ['--upstream-model', 'stand-in', ...args]);
  cleanup.push(() => f.stop());
  return f;
}
async function standIn(options) {
  const s = await startStandIn(options);
  cleanup.push(() => s.close());
  return s;
}
const ask = (f, extra = {}) => postMessages(f.baseURL, { model: MODEL, max_tokens: 8, messages: user('hi'), ...extra });
// Waits until the front's /health shows what `ready` looks for (its monitor has read the upstreams).
async function healthUntil(f, ready) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const h = await (await fetch(`${f.baseURL}/health`)).json();
    if (ready(h)) return h;
    if (Date.now() > deadline) throw new Error(`health never became ready: ${JSON.stringify(h)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('an upstream whose metrics show a full queue: 529 with retry-after, nothing forwarded', async () => {
  const busy = await standIn({ waiting: 50 });
  const f = await front([busy.url], ['--upstream-max-waiting', '4']);
  // The monitor reads metrics right away; until then the upstream counts as having room.
  const deadline = Date.now() + 10_000;
  let r;
  for (;;) {
    const before = busy.state.chats;
    const t0 = Date.now();
    r = await ask(f);
    if (r.status === 529) {
      assert.equal(busy.state.chats, before, 'the refused request never reached the upstream');
      assert.ok(Date.now() - t0 < 2000, 'refused at once, not after a timeout');
      break;
    }
    await r.text();
    assert.ok(Date.now() < deadline, 'never refused');
  }
  assert.equal(r.headers.get('retry-after'), '5');
  const body = await r.json();
  assert.equal(body.type, 'error');
  assert.equal(body.error.type, 'overloaded_error');
  assert.match(body.error.message, /waiting|queue/);
  // Once its queue drains, it takes work again.
  busy.state.waiting = 0;
  const deadline2 = Date.now() + 10_000;
  for (;;) {
    const ok = await ask(f);
    if (ok.status === 200) {
      assert.equal((await ok.json()).content[0].text, STAND_IN_TEXT);
      break;
    }
    await ok.text();
    assert.ok(Date.now() < deadline2, 'the upstream never came back');
    await new Promise((res) => setTimeout(res, 100));
  }
});

test('an upstream without metrics: 529 past its outstanding limit, not a wait', async () => {
  const slow = await standIn({ mode: 'hang' });
  const f = await front([slow.url], ['--upstream-max-outstanding', '2']);
  const controller = new AbortController();
  const hanging = [ask(f, { stream: true }), ask(f, { stream: true })].map((p) =>
    p.then((r) => r.body?.cancel()).catch(() => {}),
  );
  const deadline = Date.now() + 5000;
  while (slow.state.chats < 2) {
    assert.ok(Date.now() < deadline, 'the two requests never reached the upstream');
    await new Promise((r) => setTimeout(r, 20));
  }
  const t0 = Date.now();
  const r = await ask(f);
  assert.equal(r.status, 529);
  assert.ok(Date.now() - t0 < 2000);
  assert.match((await r.json()).error.message, /2/);
  controller.abort();
  await slow.close();
  await Promise.all(hanging);
});

test('a connection reset or a busy answer before the first byte goes to the next upstream', async () => {
  const reset = await standIn({ mode: 'reset' });
  const busy = await standIn({ mode: 'busy' });
  const good = await standIn({ mode: 'answer' });
  const f = await front([reset.url, busy.url, good.url]);
  // Different prompts hash to different first choices: every one must be answered.
  for (let i = 0; i < 12; i += 1) {
    const r = await postMessages(f.baseURL, { model: MODEL, max_tokens: 8, messages: user(`question ${i}`) });
    assert.equal(r.status, 200, await r.clone().text());
    assert.equal((await r.json()).content[0].text, STAND_IN_TEXT);
  }
  assert.ok(reset.state.chats + busy.state.chats > 0, 'the faulty upstreams were tried first at least once');
  assert.equal(good.state.chats, 12);
});

test('a stream cut after output began ends in an error event, never retried elsewhere', async () => {
  const cut = await standIn({ mode: 'cut' });
  const good = await standIn({ mode: 'answer' });
  const f = await front([cut.url, good.url]);
  let seen = 0;
  for (let i = 0; i < 16 && seen < 3; i += 1) {
    const before = { cut: cut.state.chats, good: good.state.chats };
    const r = await postMessages(f.baseURL, { model: MODEL, max_tokens: 8, stream: true, messages: user(`q${i}`) });
    assert.equal(r.status, 200);
    const events = [];
    for await (const e of sseEvents(r)) if (e.event !== 'ping') events.push(e);
    if (cut.state.chats === before.cut) continue;  // it went to the good one
    seen += 1;
    assert.equal(good.state.chats, before.good, 'no silent retry on the other upstream');
    assert.equal(events[0].event, 'message_start');
    assert.ok(events.some((e) => e.data?.delta?.text === 'stand-in '), JSON.stringify(events));
    assert.equal(events.at(-1).event, 'error', JSON.stringify(events.at(-1)));
    assert.match(events.at(-1).data.error.message, /failed mid-answer/);
  }
  assert.ok(seen > 0, 'no request landed on the cutting upstream');
});

test('an upstream that answers and breaks off before any output: the next one answers, it stays up', async () => {
  const early = await standIn({ mode: 'early_cut' });
  const good = await standIn({ mode: 'answer' });
  const f = await front([early.url, good.url]);
  let seen = 0;
  for (let i = 0; i < 16 && seen < 3; i += 1) {
    const before = early.state.chats;
    for (const stream of [false, true]) {
      const r = await postMessages(f.baseURL, { model: MODEL, max_tokens: 8, stream, messages: user(`e${i}`) });
      assert.equal(r.status, 200);
      if (stream) {
        let text = '';
        for await (const e of sseEvents(r)) {
          assert.notEqual(e.event, 'error', JSON.stringify(e.data));
          if (e.data?.delta?.text) text += e.data.delta.text;
        }
        assert.equal(text, STAND_IN_TEXT);
      } else {
        assert.equal((await r.json()).content[0].text, STAND_IN_TEXT);
      }
    }
    if (early.state.chats > before) seen += 1;
  }
  assert.ok(seen > 0, 'no request went to the upstream that breaks off');
  // It answered: it is not taken out as unreachable.
  const health = await (await fetch(`${f.baseURL}/health`)).json();
  const entry = health.upstreams.find((u) => u.url === early.url);
  assert.equal(entry?.up, true, JSON.stringify(health));
});

test("an upstream that keeps the body open after [DONE]: the answer ends at [DONE]", async () => {
  const linger = await standIn({ mode: 'linger' });
  const f = await front([linger.url]);
  const t0 = Date.now();
  const r = await ask(f);
  assert.equal(r.status, 200);
  assert.equal((await r.json()).content[0].text, STAND_IN_TEXT);
  assert.ok(Date.now() - t0 < 5000, 'not held until the idle timeout');
});

test('every upstream down: 503 naming them, then recovery', async () => {
  // A port outside the ephemeral range: nothing else takes it while the upstream is down.
  const gone = await standIn({ mode: 'answer', port: await freePort() });
  const { port, url } = gone;
  await gone.close();
  const f = await front([url]);
  const r = await ask(f);
  assert.equal(r.status, 503);
  assert.ok(r.headers.get('retry-after'));
  assert.match((await r.json()).error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  // Back on the same address: the health check finds it, and requests flow again.
  await standIn({ mode: 'answer', port });
  const deadline = Date.now() + 10_000;
  for (;;) {
    const ok = await ask(f);
    if (ok.status === 200) break;
    await ok.text();
    assert.ok(Date.now() < deadline, 'the upstream never came back');
    await new Promise((res) => setTimeout(res, 100));
  }
});

test('killing one real upstream under load loses no request that had not begun streaming', async () => {
  const args = ['--parallel', '4', '--ctx-size', '2048'];
  const [a, b] = await Promise.all([startServer(smallModel(), args), startServer(smallModel(), args)]);
  cleanup.push(() => a.stop(), () => b.stop());
  const f = await front([a.baseURL, b.baseURL]);
  const results = [];
  let stop = false;
  // Four clients in a loop, each request a new conversation so both upstreams get work.
  const clients = Array.from({ length: 4 }, async (_, c) => {
    for (let i = 0; !stop; i += 1) {
      const outcome = { began: false, ok: false, error: null };
      try {
        const r = await postMessages(f.baseURL, { model: MODEL, max_tokens: 24, stream: true, messages: user(`client ${c} request ${i}`) });
        if (r.status !== 200) {
          outcome.error = `status ${r.status}: ${await r.text()}`;
        } else {
          for await (const e of sseEvents(r)) {
            if (e.event === 'content_block_delta') outcome.began = true;
            if (e.event === 'error') outcome.error = JSON.stringify(e.data);
            if (e.event === 'message_stop') outcome.ok = true;
          }
        }
      } catch (e) {
        outcome.error = String(e);
      }
      results.push(outcome);
    }
  });
  await new Promise((r) => setTimeout(r, 1500));
  a.signal('SIGKILL');
  await new Promise((r) => setTimeout(r, 3000));
  stop = true;
  await Promise.all(clients);
  const lost = results.filter((o) => !o.ok && !o.began);
  assert.deepEqual(lost, [], `requests lost before they began streaming (of ${results.length})`);
  assert.ok(results.filter((o) => o.ok).length > 8, `few requests completed: ${results.length}`);
  await logLine(f, /down|failed/);
});

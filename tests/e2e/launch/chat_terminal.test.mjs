// `pensieve chat` in a real terminal: tmux runs it in a pane, send-keys types as a user does and
// capture-pane reads the screen. The model is scripted to answer "tick tock tick tock …" without
// end, so an answer is always still streaming when Ctrl-C comes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { userDirs, scriptedModel, waitFor } from './launch_harness.mjs';

const tmuxBin = process.env.TMUX_BIN;

function tmux(socket, ...args) {
  return execFileSync(tmuxBin, ['-L', socket, ...args], { encoding: 'utf8' });
}

// The whole pane, history included, as plain text.
function screen(socket) {
  return tmux(socket, 'capture-pane', '-p', '-J', '-S', '-', '-t', 'chat');
}

function count(text, re) {
  return (text.match(re) ?? []).length;
}

test('pensieve chat: a question, a streamed answer, Ctrl-C stops it, /clear, /stats, exit', { timeout: 300_000 }, async () => {
  assert.ok(tmuxBin, 'tmux not found: scripts/install-deps.sh installs it; then reconfigure');
  if (!process.env.PENSIEVE_BIN) throw new Error('PENSIEVE_BIN is not set (run through ctest)');
  const model = scriptedModel('loop-tick-tock', 'loop', [' tick', ' tock']);
  const dirs = userDirs('chat');
  const socket = `pensieve-chat-${process.pid}`;
  const serverLog = path.join(dirs.root, 'serve.log');
  const exitFile = path.join(dirs.root, 'exit-status');
  // The pane runs a shell line that records chat's exit status once it returns.
  const command =
    `env HOME='${dirs.home}' XDG_STATE_HOME='${dirs.state}' XDG_CACHE_HOME='${dirs.cache}' TERM=xterm-256color ` +
    `'${process.env.PENSIEVE_BIN}' chat '${model}' --server-log '${serverLog}'; echo $? > '${exitFile}'; sleep 600`;
  tmux(socket, 'new-session', '-d', '-s', 'chat', '-x', '120', '-y', '40', command);
  try {
    await waitFor(() => /^>>>\s*$/m.test(screen(socket)), 'the first prompt', 120_000);
    assert.match(screen(socket), /pensieve chat with pensieve-e2e-scripted/);

    tmux(socket, 'send-keys', '-t', 'chat', '-l', 'Say something');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    // The answer streams: it appears, then grows.
    const first = await waitFor(() => count(screen(socket), /tick tock/g) >= 3 && screen(socket), 'an answer to start');
    await waitFor(() => screen(socket).length > first.length + 200, 'the answer to grow');
    assert.doesNotMatch(screen(socket).split('Say something')[1], /^>>>/m, 'the prompt came back before the answer ended');

    tmux(socket, 'send-keys', '-t', 'chat', 'C-c');
    await waitFor(() => /\[stopped\]\n>>>$/.test(screen(socket).trimEnd()), 'the answer to stop and the prompt to return');
    // Stopped means stopped: the screen holds still.
    const stoppedAt = screen(socket);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(screen(socket), stoppedAt);
    // The server saw the client leave and ended the generation.
    await waitFor(() => /generation \S+ cancelled: .*\(client disconnected\)/.test(readFileSync(serverLog, 'utf8')),
      'the server to log the cancelled generation');

    tmux(socket, 'send-keys', '-t', 'chat', '-l', '/stats');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    await waitFor(() => /last answer \(stopped\): \d+ prompt tokens \(\d+ from the cache\)/.test(screen(socket)), '/stats');
    assert.match(screen(socket), /conversation: 2 messages/);

    tmux(socket, 'send-keys', '-t', 'chat', '-l', '/clear');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    await waitFor(() => /conversation cleared/.test(screen(socket)), '/clear');

    // One Ctrl-C at the prompt only explains; Ctrl-D leaves.
    tmux(socket, 'send-keys', '-t', 'chat', 'C-c');
    await waitFor(() => /Ctrl-C again, Ctrl-D or \/exit to leave/.test(screen(socket)), 'the exit hint');
    tmux(socket, 'send-keys', '-t', 'chat', 'C-d');
    await waitFor(() => existsSync(exitFile) && readFileSync(exitFile, 'utf8').trim() !== '', 'chat to exit');
    assert.equal(readFileSync(exitFile, 'utf8').trim(), '0');

    // The server child stopped with it, and the question is in the history file.
    await waitFor(() => /stopped$/m.test(readFileSync(serverLog, 'utf8')), 'the server to stop');
    const history = path.join(dirs.state, 'pensieve', 'chat_history');
    assert.ok(existsSync(history), 'no history file');
    assert.match(readFileSync(history, 'utf8'), /Say\\040something|Say something/);
  } finally {
    try {
      tmux(socket, 'kill-server');
    } catch {}
    rmSync(dirs.root, { recursive: true, force: true });
  }
});

test('pensieve chat --thinking: the thinking is dimmed, the answer is not, /stats counts it, /system', { timeout: 300_000 }, async () => {
  assert.ok(tmuxBin, 'tmux not found: scripts/install-deps.sh installs it; then reconfigure');
  const model = scriptedModel('reply-thinking', 'reply', ['<think>', '\nPondering the question.', '</think>', '\n\nThe answer is here.']);
  const dirs = userDirs('chat-thinking');
  const socket = `pensieve-chat-think-${process.pid}`;
  const command =
    `env HOME='${dirs.home}' XDG_STATE_HOME='${dirs.state}' XDG_CACHE_HOME='${dirs.cache}' TERM=xterm-256color ` +
    `'${process.env.PENSIEVE_BIN}' chat '${model}' --thinking; sleep 600`;
  tmux(socket, 'new-session', '-d', '-s', 'chat', '-x', '120', '-y', '40', command);
  // With escape sequences: what is dim shows as such.
  const styled = () => tmux(socket, 'capture-pane', '-p', '-e', '-J', '-S', '-', '-t', 'chat');
  try {
    await waitFor(() => /^>>>\s*$/m.test(screen(socket)), 'the first prompt', 120_000);
    tmux(socket, 'send-keys', '-t', 'chat', '-l', 'Why?');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    await waitFor(() => /The answer is here\.\n>>>/.test(screen(socket).trimEnd()), 'the whole answer and the prompt');
    const answer = styled().split('Why?')[1];
    // Dim (SGR 2) from the thinking's first word, reset before the answer.
    assert.match(answer, /\x1b\[2m\s*Pondering the question\.[^]*?\x1b\[0m[^]*The answer is here\./, JSON.stringify(answer));
    assert.doesNotMatch(answer.slice(answer.indexOf('The answer')), /^[^\n]*\x1b\[2m/, 'the answer itself is dim');

    tmux(socket, 'send-keys', '-t', 'chat', '-l', '/stats');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    await waitFor(() => /conversation: 2 messages/.test(screen(socket)), '/stats');
    assert.match(screen(socket), /last answer: \d+ prompt tokens \(\d+ from the cache\), [1-9]\d* output tokens/);
    assert.match(screen(socket), /output +[\d.]+ tokens\/s/);

    tmux(socket, 'send-keys', '-t', 'chat', '-l', '/system Answer in French.');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    // Lines that come together are one pasted message: wait for the answer before the next.
    await waitFor(() => /system prompt set/.test(screen(socket)), '/system to be taken');
    tmux(socket, 'send-keys', '-t', 'chat', '-l', '/system');
    tmux(socket, 'send-keys', '-t', 'chat', 'Enter');
    await waitFor(() => /system prompt: Answer in French\./.test(screen(socket)), '/system to show the new prompt');
  } finally {
    try {
      tmux(socket, 'kill-server');
    } catch {}
    rmSync(dirs.root, { recursive: true, force: true });
  }
});

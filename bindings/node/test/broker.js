// broker.js: start a real batond for a test file, on a socket and state
// directory in a fresh temporary directory (as tests/client-lib.sh does).
// BATOND names the binary (tests/node.sh sets it from the build tree).

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';

import { BatonClient } from '../src/index.js';

export const BATOND = process.env.BATOND;

export async function startBroker() {
  if (!BATOND || !fs.existsSync(BATOND))
    throw new Error(`BATOND is not set to a batond binary (${BATOND}); run through tests/node.sh`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-node-'));
  fs.chmodSync(dir, 0o700);
  const state = path.join(dir, 'state');
  fs.mkdirSync(state, { mode: 0o700 });
  const socket = path.join(dir, 'batond.sock');
  const log = fs.openSync(path.join(dir, 'batond.log'), 'w');
  const child = spawn(BATOND, ['-f', '--socket', socket, '--state-dir', state],
    { stdio: ['ignore', log, log] });
  let exited = false;
  child.on('exit', () => { exited = true; });
  for (let i = 0; i < 200; i++) {
    if (exited)
      throw new Error('batond exited early: ' + fs.readFileSync(path.join(dir, 'batond.log'), 'utf8'));
    if (fs.existsSync(socket)) {
      const c = new BatonClient({ socket, timeoutMs: 1000 });
      try {
        await c.status();
        c.close();
        break;
      } catch {
        c.close();
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir, socket, child,
    client(o = {}) {
      return new BatonClient({ socket, ...o });
    },
    async stop() {
      if (!exited) {
        const done = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await done;
      }
    },
    async cleanup() {
      await this.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A fake broker on a temp socket: handler(conn, frames) is called with
 * each connection; the test writes whatever bytes it wants.
 */
export async function fakeBroker(onConn) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'baton-fake-'));
  const socket = path.join(dir, 'fake.sock');
  const conns = [];
  const server = net.createServer((s) => {
    conns.push(s);
    s.on('error', () => {});
    onConn(s, conns.length);
  });
  await new Promise((r) => server.listen(socket, r));
  return {
    socket, conns,
    async close() {
      for (const s of conns)
        s.destroy();
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

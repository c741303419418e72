// guard-http.test.js: the official MCP TypeScript SDK's Client over its
// StreamableHTTPClientTransport, to baton-mcp-guard --listen in front of
// @modelcontextprotocol/server-everything's Streamable HTTP mode, against
// the real batond that tests/e2e.sh started.  Everything listens on
// 127.0.0.1 only (loopback.js keeps server-everything there).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import net from "node:net";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
	StreamableHTTPClientTransport,
	StreamableHTTPError,
} from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const here = dirname(fileURLToPath(import.meta.url));
const GUARD = process.env.GUARD;
const BATON = process.env.BATON;
const SOCKET = process.env.BATON_SOCKET;
const EVERYTHING = join(here, "..", "node_modules", "@modelcontextprotocol",
    "server-everything", "dist", "index.js");
const AUD = "everything";

function baton(args) {
	return execFileSync(BATON, args, { encoding: "utf8",
	    env: { ...process.env, BATON_SOCKET: SOCKET } }).trim();
}
const mint = (...args) => baton(["mint", "--as", "orchestrator", ...args]);

// A port nobody uses now on 127.0.0.1.
function freePort() {
	return new Promise((resolve, reject) => {
		const s = net.createServer();
		s.on("error", reject);
		s.listen(0, "127.0.0.1", () => {
			const { port } = s.address();
			s.close(() => resolve(port));
		});
	});
}

async function waitPort(port, proc, what) {
	for (let i = 0; i < 200; i++) {
		if (proc.exitCode !== null)
			throw new Error(`${what} exited: ${proc.exitCode}`);
		const up = await new Promise((resolve) => {
			const c = net.connect(port, "127.0.0.1");
			c.on("connect", () => { c.destroy(); resolve(true); });
			c.on("error", () => resolve(false));
		});
		if (up)
			return;
		await sleep(50);
	}
	throw new Error(`${what} did not listen on ${port}`);
}

function exited(proc) {
	return proc.exitCode !== null ? Promise.resolve(proc.exitCode) :
	    new Promise((resolve) => proc.on("exit", (code, sig) =>
		resolve(code ?? sig)));
}

let server, guard, url, guardErr = "";
before(async () => {
	const up = await freePort();
	const port = await freePort();
	server = spawn(process.execPath, ["--import", join(here, "loopback.js"),
	    EVERYTHING, "streamableHttp"], {
		env: { ...process.env, PORT: String(up) },
		stdio: ["ignore", "ignore", "ignore"],
	});
	await waitPort(up, server, "server-everything");
	guard = spawn(GUARD, ["--socket", SOCKET, "--aud", AUD,
	    "--listen", `127.0.0.1:${port}`,
	    "--upstream", `http://127.0.0.1:${up}/mcp`],
	    { stdio: ["ignore", "ignore", "pipe"] });
	guard.stderr.on("data", (d) => { guardErr += d; });
	await waitPort(port, guard, "baton-mcp-guard");
	url = new URL(`http://127.0.0.1:${port}/mcp`);
});

after(async () => {
	server?.kill("SIGKILL");
	if (guard && guard.exitCode === null)
		guard.kill("SIGKILL");
});

async function connect(token) {
	const headers = token === undefined ? {} :
	    { Authorization: `Bearer ${token}` };
	const client = new Client({ name: "baton-e2e", version: "0.0.0" });
	await client.connect(new StreamableHTTPClientTransport(url,
	    { requestInit: { headers } }));
	return client;
}

async function refused(token, status, pattern) {
	await assert.rejects(connect(token), (e) => {
		assert.ok(e instanceof StreamableHTTPError, String(e));
		assert.equal(e.code, status);
		if (pattern)
			assert.match(e.message, pattern);
		return true;
	});
}

test("allowed and denied calls over Streamable HTTP", async () => {
	const tok = mint("--tool", "echo", "--tool",
	    "trigger-long-running-operation", "--aud", AUD);
	const client = await connect(tok);
	try {
		const { tools } = await client.listTools();
		assert.ok(tools.some((t) => t.name === "echo"));
		const r = await client.callTool({ name: "echo",
		    arguments: { message: "over http" } });
		assert.equal(r.content[0].text, "Echo: over http");
		await assert.rejects(client.callTool({ name: "get-sum",
		    arguments: { a: 1, b: 2 } }), (e) => {
			assert.ok(e instanceof StreamableHTTPError, String(e));
			assert.equal(e.code, 403);
			assert.match(e.message, /-31403/);
			assert.match(e.message, /"reason":"tool_not_granted"/);
			return true;
		});
		// progress notifications stream back through the guard
		const progress = [];
		const p = await client.callTool({
			name: "trigger-long-running-operation",
			arguments: { duration: 0.3, steps: 3 },
		}, undefined, { onprogress: (x) => progress.push(x.progress) });
		assert.match(p.content[0].text, /completed/);
		assert.ok(progress.length >= 2 && progress[0] === 1, progress);
	} finally {
		await client.close();
	}
});

test("a revoked bearer token: the call is denied", async () => {
	const tok = mint("--tool", "echo", "--aud", AUD);
	const client = await connect(tok);
	try {
		baton(["revoke", tok]);
		await assert.rejects(client.callTool({ name: "echo",
		    arguments: { message: "x" } }),
		    (e) => e.code === 403 && /"reason":"revoked"/.test(e.message));
	} finally {
		await client.close();
	}
});

test("no token, a malformed one, another audience, no audience: 401",
    async () => {
	await refused(undefined, 401);
	await refused("bt1_notatoken", 401);
	await refused(mint("--tool", "echo", "--aud", "elsewhere"), 401);
	await refused(mint("--tool", "echo"), 401);
});

test("the guard ends with status 0 on SIGTERM", async () => {
	guard.kill("SIGTERM");
	assert.equal(await exited(guard), 0, guardErr);
	server.kill("SIGINT");
	await exited(server);
});

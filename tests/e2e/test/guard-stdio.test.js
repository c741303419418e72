// guard-stdio.test.js: the official MCP TypeScript SDK's Client, over its
// own StdioClientTransport, talking to @modelcontextprotocol/server-everything
// through baton-mcp-guard, against the real batond that tests/e2e.sh
// started; tokens come from the baton CLI.  tap.js sits between the guard
// and the server and records what reaches the server.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import {
	StdioClientTransport,
	getDefaultEnvironment,
} from "@modelcontextprotocol/sdk/client/stdio.js";
import {
	McpError,
	CreateMessageRequestSchema,
	ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

const here = dirname(fileURLToPath(import.meta.url));
const GUARD = process.env.GUARD;
const BATON = process.env.BATON;
const SOCKET = process.env.BATON_SOCKET;
const EVERYTHING = join(here, "..", "node_modules", "@modelcontextprotocol",
    "server-everything", "dist", "index.js");
const TAP = join(here, "tap.js");
const AUD = "everything";
const DENIED = -31403;
const CANARY = "guard-side-only-" + process.pid;
const dir = mkdtempSync(join(process.env.T || tmpdir(), "e2e-"));
let nguards = 0;

function baton(args, input) {
	return execFileSync(BATON, args, {
		input, encoding: "utf8",
		env: { ...process.env, BATON_SOCKET: SOCKET },
	}).trim();
}
const mint = (...args) => baton(["mint", "--as", "orchestrator", ...args]);

// One guard in front of one server-everything, with an SDK client on it.
async function connect({ aud = AUD, opts = [], capabilities = {} } = {}) {
	const n = ++nguards;
	const wire = join(dir, `wire.${n}`);
	const status = join(dir, `status.${n}`);
	// sh records the guard's exit status for the shutdown case
	const transport = new StdioClientTransport({
		command: "/bin/sh",
		args: ["-c", 's=$1; shift; "$@"; echo $? >"$s"', "sh", status,
		    GUARD, "--socket", SOCKET, "--aud", aud, ...opts, "--",
		    process.execPath, TAP, wire, process.execPath, EVERYTHING,
		    "stdio"],
		env: { ...getDefaultEnvironment(), BATON_SOCKET: SOCKET,
		    BATON_E2E_CANARY: CANARY },
		stderr: "pipe",
	});
	let err = "";
	transport.stderr.on("data", (d) => { err += d; });
	const client = new Client({ name: "baton-e2e", version: "0.0.0" },
	    { capabilities });
	await client.connect(transport);
	// every message the client receives, in the order it arrives
	const seen = [];
	const onmessage = transport.onmessage;
	transport.onmessage = (m, extra) => {
		seen.push(m);
		onmessage(m, extra);
	};
	return {
		client, transport, seen,
		wire: () => readFileSync(wire, "utf8"),
		status: () => existsSync(status) ?
		    readFileSync(status, "utf8").trim() : null,
		err: () => err,
	};
}

const call = (g, name, args, token) => g.client.callTool({
	name, arguments: args,
	...(token === undefined ? {} : { _meta: { "io.baton/token": token } }),
});

async function denied(g, name, args, token, reason) {
	const before = g.wire().length;
	await assert.rejects(call(g, name, args, token), (e) => {
		assert.ok(e instanceof McpError, String(e));
		assert.equal(e.code, DENIED);
		assert.deepEqual(e.data, { reason });
		assert.match(e.message, new RegExp(reason));
		return true;
	});
	// a denial never reaches the server
	assert.doesNotMatch(g.wire().slice(before), /tools\/call/);
}

let g;
let short, shortAt;
before(async () => {
	short = mint("--tool", "echo", "--aud", AUD, "--ttl", "1");
	shortAt = Date.now();
	g = await connect();
});
after(async () => { await g?.client.close(); });

test("listTools passes through", async () => {
	const { tools } = await g.client.listTools();
	const names = tools.map((t) => t.name);
	assert.ok(names.includes("echo"), names.join(","));
	assert.ok(names.includes("get-env"), names.join(","));
});

test("an allowed call; the token never reaches the server", async () => {
	const tok = mint("--tool", "echo", "--aud", AUD, "--ttl", "600");
	const r = await call(g, "echo", { message: "hello baton" }, tok);
	assert.deepEqual(r.content, [{ type: "text", text: "Echo: hello baton" }]);
	const w = g.wire();
	assert.match(w, /"tools\/call".*hello baton/);
	assert.ok(!w.includes(tok), "token on the wire to the server");
	assert.ok(!w.includes("io.baton/token"), "token key on the wire");
	assert.ok(!w.includes("bt1_"), "a token on the wire");
});

test("a tool not granted", async () => {
	const tok = mint("--tool", "echo", "--aud", AUD);
	await denied(g, "get-sum", { a: 1, b: 2 }, tok, "tool_not_granted");
});

test("an argument outside the grant", async () => {
	const tok = mint("--tool", "echo", "--aud", AUD,
	    "--where", "echo.message=prefix:safe ");
	const r = await call(g, "echo", { message: "safe words" }, tok);
	assert.equal(r.content[0].text, "Echo: safe words");
	await denied(g, "echo", { message: "rm -rf /" }, tok,
	    "argument_rejected");
});

test("a missing token", async () => {
	await denied(g, "echo", { message: "x" }, undefined, "token_missing");
});

test("a malformed token", async () => {
	await denied(g, "echo", { message: "x" }, 42, "malformed");
	await assert.rejects(call(g, "echo", { message: "x" }, "bt1_notatoken"),
	    (e) => e.code === DENIED && typeof e.data?.reason === "string");
});

test("an expired token", async () => {
	const wait = shortAt + 2100 - Date.now();
	if (wait > 0)
		await sleep(wait);
	await denied(g, "echo", { message: "x" }, short, "expired");
});

test("a revoked token", async () => {
	const tok = mint("--tool", "echo", "--aud", AUD);
	baton(["revoke", tok]);
	await denied(g, "echo", { message: "x" }, tok, "revoked");
});

test("a token whose parent is revoked (cascade)", async () => {
	const parent = mint("--tool", "echo", "--tool", "get-sum", "--aud", AUD);
	const child = baton(["attenuate", "-", "--tool", "echo"], parent);
	const r = await call(g, "echo", { message: "child" }, child);
	assert.equal(r.content[0].text, "Echo: child");
	baton(["revoke", parent]);
	await denied(g, "echo", { message: "x" }, child, "revoked");
});

test("a token for another audience, or for none", async () => {
	await denied(g, "echo", { message: "x" },
	    mint("--tool", "echo", "--aud", "elsewhere"), "audience_mismatch");
	await denied(g, "echo", { message: "x" }, mint("--tool", "echo"),
	    "audience_mismatch");
});

test("actions: a presented single-use token, replayed; an action not " +
    "granted", async () => {
	const ga = await connect({ opts: ["--action", "echo=read"] });
	try {
		const single = baton(["present", "--tool", "echo", "--action",
		    "read", "--aud", AUD, mint("--tool", "echo:read", "--aud",
		    AUD)]);
		const r = await call(ga, "echo", { message: "once" }, single);
		assert.equal(r.content[0].text, "Echo: once");
		await denied(ga, "echo", { message: "twice" }, single,
		    "replayed");
		await denied(ga, "echo", { message: "x" },
		    mint("--tool", "echo:write", "--aud", AUD),
		    "action_not_granted");
		// without --action, a tool granted for some actions only is
		// refused: MCP calls carry none
		await denied(g, "echo", { message: "x" },
		    mint("--tool", "echo:read", "--aud", AUD),
		    "action_not_granted");
	} finally {
		await ga.client.close();
	}
});

test("the server's environment lacks the guard's variables", async () => {
	const r = await call(g, "get-env", {},
	    mint("--tool", "get-env", "--aud", AUD));
	const env = JSON.parse(r.content[0].text);
	assert.ok(env.PATH, "PATH passes");
	assert.equal(env.BATON_SOCKET, undefined);
	assert.equal(env.BATON_E2E_CANARY, undefined);
	assert.ok(!r.content[0].text.includes(SOCKET), "socket path leaked");
});

test("progress notifications and a server's request pass both ways",
    async () => {
	const g2 = await connect({ capabilities: { sampling: {} } });
	try {
		let asked = null;
		g2.client.setRequestHandler(CreateMessageRequestSchema,
		    async (req) => {
			asked = req.params.messages[0].content.text;
			return { model: "e2e", role: "assistant",
			    content: { type: "text", text: "sampled-by-e2e" } };
		});
		const tok = mint("--tool", "trigger-long-running-operation",
		    "--tool", "trigger-sampling-request", "--aud", AUD);
		const progress = [];
		const r = await g2.client.callTool({
			name: "trigger-long-running-operation",
			arguments: { duration: 0.3, steps: 3 },
			_meta: { "io.baton/token": tok },
		}, undefined, { onprogress: (p) => progress.push(p.progress) });
		assert.match(r.content[0].text, /completed/);
		// all three, before the result, as the server sent them; the
		// SDK's client handles notifications a tick later than
		// responses, so the last may miss its onprogress when it
		// arrives in the same read as the result
		const order = g2.seen.filter((m) =>
		    m.method === "notifications/progress" || m.result)
		    .map((m) => m.params?.progress ?? "result");
		assert.deepEqual(order.slice(-4), [1, 2, 3, "result"]);
		assert.ok(progress.length >= 2 && progress[0] === 1, progress);
		const s = await call(g2, "trigger-sampling-request",
		    { prompt: "ping from server" }, tok);
		assert.match(asked, /ping from server/);
		assert.match(s.content[0].text, /sampled-by-e2e/);
		// the client's answer to the server's request crossed the guard
		assert.match(g2.wire(), /sampled-by-e2e/);
	} finally {
		await g2.client.close();
	}
});

test("roots: a client's notification, the server's request and its log " +
    "messages pass", async () => {
	const g2 = await connect({ capabilities: { roots: { listChanged: true } } });
	try {
		let roots = [{ uri: "file:///e2e/one", name: "one" }];
		let asked = 0;
		g2.client.setRequestHandler(ListRootsRequestSchema, async () => {
			asked++;
			return { roots };
		});
		// server-everything asks for the roots after initialization
		for (let i = 0; i < 100 && asked < 1; i++)
			await sleep(20);
		assert.equal(asked, 1);
		roots = [{ uri: "file:///e2e/two", name: "two" }];
		await g2.client.sendRootsListChanged();
		for (let i = 0; i < 100 && asked < 2; i++)
			await sleep(20);
		assert.equal(asked, 2, "roots/list_changed did not reach it");
		assert.match(g2.wire(), /notifications\/roots\/list_changed/);
		const r = await call(g2, "get-roots-list", {},
		    mint("--tool", "get-roots-list", "--aud", AUD));
		assert.match(r.content[0].text, /file:\/\/\/e2e\/two/);
		assert.ok(g2.seen.some((m) => m.method ===
		    "notifications/message" && /Roots updated/.test(m.params.data)),
		    "no log message from the server");
	} finally {
		await g2.client.close();
	}
});

test("clean shutdown: the guard exits with the server's status", async () => {
	const g3 = await connect();
	const t0 = Date.now();
	await g3.client.close();
	for (let i = 0; i < 100 && g3.status() === null; i++)
		await sleep(50);
	assert.equal(g3.status(), "0", g3.err());
	// closed by EOF, not by the SDK's SIGTERM after 2 s
	assert.ok(Date.now() - t0 < 1900, `took ${Date.now() - t0} ms`);
});

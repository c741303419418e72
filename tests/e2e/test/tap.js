// tap.js: the wire between baton-mcp-guard and the server under test.
// `node tap.js WIRE CMD [ARGS...]` runs CMD with its standard input on a
// pipe, appends every byte the guard sends it to the file WIRE before
// passing it on, passes signals on, and exits with CMD's status.  The
// server's output and standard error go straight through.
import { spawn } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { constants } from "node:os";

const [wire, cmd, ...args] = process.argv.slice(2);
writeFileSync(wire, "");
const child = spawn(cmd, args, { stdio: ["pipe", "inherit", "inherit"] });
process.stdin.on("data", (chunk) => {
	appendFileSync(wire, chunk);
	child.stdin.write(chunk);
});
process.stdin.on("end", () => child.stdin.end());
child.stdin.on("error", () => {});
for (const sig of ["SIGTERM", "SIGINT", "SIGHUP"])
	process.on(sig, () => child.kill(sig));
child.on("exit", (code, sig) =>
	process.exit(code ?? 128 + constants.signals[sig]));

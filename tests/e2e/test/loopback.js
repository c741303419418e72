// loopback.js: preloaded (node --import) into server-everything's Streamable
// HTTP mode, which listens on every interface: a listen() given a port
// and no host gets 127.0.0.1, so the test server is never reachable from
// outside this machine.
import net from "node:net";

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
	const port = args[0];
	if ((typeof port === "number" || /^[0-9]+$/.test(port)) &&
	    typeof args[1] !== "string")
		args.splice(1, 0, "127.0.0.1");
	return listen.apply(this, args);
};

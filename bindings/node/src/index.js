// index.js: the package's entry: the broker client, its errors, and the
// MCP integrations.

export * from './client.js';
export * from './errors.js';
export { REASONS, reasonName, reasonText } from './reasons.js';
export * from './mcp.js';
export { FrameReader, encodeFrame, MAX_FRAME } from './frame.js';

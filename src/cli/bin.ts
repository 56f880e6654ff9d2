import { main } from './main.js';

// Exit explicitly: idle keep-alive sockets to the engine must not hold a finished command open. No top-level
// await: the bundle (scripts/bundle-cli.mjs) is CommonJS, so that its compiled code can be cached.
void main(process.argv.slice(2)).then((code) => process.exit(code));

#!/usr/bin/env node
import { main } from './main.js';

// Exit explicitly: idle keep-alive sockets to the engine must not hold a finished command open.
process.exit(await main(process.argv.slice(2)));

import type { Command } from 'commander';
import { operations } from '../api/generated/model.js';
import { kebabName } from './names.js';
import { TRAIN_EXAMPLE } from './help-examples.js';

/**
 * How `crml --help` groups its commands, in this order. A new command joins a group with one line here; a command
 * named here but not (yet) defined is simply not listed. An example given here is added to the command's own help
 * (the API commands make theirs from the model).
 */
const GETTING_STARTED = 'Getting started:';
const API = 'API commands (as `aws cleanroomsml …`; --output, --query, --cli-input-json/yaml, --generate-cli-skeleton):';
const SERVER = 'The server:';

const COMMANDS: Record<string, { group: string; example?: string }> = {
  train: { group: GETTING_STARTED, example: TRAIN_EXAMPLE },
  report: { group: GETTING_STARTED },
  compare: { group: GETTING_STARTED },
  logs: { group: GETTING_STARTED, example: 'crml logs my-model --follow' },
  metrics: { group: GETTING_STARTED, example: 'crml metrics my-model --output json' },
  artifacts: { group: GETTING_STARTED, example: 'crml artifacts my-model --to ./out' },
  check: { group: GETTING_STARTED, example: 'crml check examples/ci/check.yaml --junit reports/crml-check.xml --parallel 2' },
  serve: { group: SERVER, example: 'crml serve --port 8080 &  aws cleanroomsml list-trained-models --endpoint-url http://127.0.0.1:8080 --membership-identifier …' },
  reconcile: { group: SERVER, example: 'crml reconcile' },
  ...Object.fromEntries(Object.keys(operations).map((o) => [kebabName(o), { group: API }])),
};

const ORDER = [GETTING_STARTED, API, SERVER];

export function groupCommandsInHelp(program: Command): void {
  for (const cmd of program.commands) {
    const entry = COMMANDS[cmd.name()];
    if (!entry) continue;
    cmd.helpGroup(entry.group);
    if (entry.example) cmd.addHelpText('after', `\nExample:\n  $ ${entry.example}\n`);
  }
  // commander lists groups, and commands in them, in the order the commands were defined: this table's order.
  const names = Object.keys(COMMANDS);
  const rank = (c: Command) => {
    const i = ORDER.indexOf(COMMANDS[c.name()]?.group ?? '');
    return (i < 0 ? ORDER.length : i) * 10_000 + (names.includes(c.name()) ? names.indexOf(c.name()) : 0);
  };
  (program.commands as Command[]).sort((a, b) => rank(a) - rank(b));
}

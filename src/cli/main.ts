import { Command, CommanderError } from 'commander';
import pino, { type Logger } from 'pino';
import { LOG_LEVELS, SettingsError, settingsFromEnv, type LogLevel, type Settings } from '../settings.js';
import { CleanRoomsMLLocal } from '../api/service.js';
import { CleanRoomsMLServiceException } from '../api/generated/errors.js';
import { addOperationCommands } from './operation-commands.js';
import { UsageError } from './errors.js';
import { operations } from '../api/generated/model.js';
import { kebabName } from './names.js';
import { pullProgressRenderer } from './pull-progress.js';
import { copyArtifacts } from './commands/artifacts.js';
import { printLogs, printMetrics } from './commands/logs.js';
import { printReport, REPORT_EXAMPLE } from './commands/report.js';
import { COMPARE_EXAMPLE, printComparison } from './commands/compare.js';
import { LineOutput, OutputClosedError } from './output.js';
import { groupCommandsInHelp } from './help-groups.js';
import type { TrainFlags } from './train-job.js';

/** The AWS CLI's exit codes: 252 for a usage error, 254 for an error the service answered, 255 otherwise. */
const EXIT_USAGE = 252;
const EXIT_SERVICE = 254;
const EXIT_INTERNAL = 255;

/** A repeatable option's values, in order. */
const collect = (value: string, previous: string[]) => [...previous, value];

// With backpressure; main() returns only once both have reached their reader. Made by main() from the process's
// streams as they are then: a resident worker (src/cli/daemon) loads this module before it knows its command's.
let stdout: LineOutput;
let stderr: LineOutput;
const print = (s: string) => stdout.line(s);
const printErr = (s: string) => void stderr.line(s)?.catch(() => undefined);

let service: CleanRoomsMLLocal | undefined;
let currentOperation = '';
/** An exit code a command decided itself (crml train: 1 when the model is not ACTIVE, 130 on Ctrl-C). */
let commandExit: number | undefined;
let logger: Logger | undefined;

/**
 * The runner's own log on stderr: JSON lines, or pino-pretty's readable lines when stderr is a terminal (loaded
 * only then: a pipe's reader gets JSON and the start pays nothing for it). `--log-level` wins over CRML_LOG_LEVEL.
 */
async function makeLogger(program: Command): Promise<void> {
  const flag = program.opts<{ logLevel?: string }>().logLevel;
  if (flag !== undefined && !(LOG_LEVELS as readonly string[]).includes(flag)) {
    throw new UsageError(`--log-level: expected one of ${LOG_LEVELS.join(', ')}, got '${flag}'`);
  }
  const level = (flag as LogLevel | undefined) ?? envSettings().logLevel;
  if (process.stderr.isTTY) {
    const { default: pretty } = await import('pino-pretty');
    logger = pino({ level }, pretty({ destination: process.stderr, sync: true, colorize: true }));
  } else {
    logger = pino({ level }, process.stderr);
  }
}

let fromEnv: Settings | undefined;
/** The environment's settings, read once per process (a bad variable throws SettingsError: exit 252). */
const envSettings = (): Settings => (fromEnv ??= settingsFromEnv());

function getService(program: Command): CleanRoomsMLLocal {
  if (!service) {
    const dataDir = program.opts<{ dataDir?: string }>().dataDir;
    const settings = envSettings();
    // Only the commands that stay to supervise runs take over the runs of dead processes.
    const reconcile = ['serve', 'create-trained-model', 'reconcile'].includes(currentOperation);
    service = new CleanRoomsMLLocal({
      settings: dataDir ? { ...settings, dataDir } : settings,
      logger: logger ?? pino({ level: settings.logLevel }, process.stderr),
      reconcile,
      // crml train draws pull progress in its own live view.
      onPullProgress: currentOperation === 'train' ? undefined : pullProgressRenderer(process.stderr),
    });
    // The commands that run a job find the engine while their request is checked and stored.
    if (['train', 'create-trained-model'].includes(currentOperation)) service.prepareRunner();
  }
  return service;
}

/** The run lives in this process: keep it until it ends, and let Ctrl-C cancel it rather than orphan it. */
async function followRun(run: { trainedModelArn: string; versionIdentifier?: string }): Promise<void> {
  const svc = service!;
  // An incremental training run makes a new version of the trained model: that version is the one to follow.
  const { trainedModelArn: arn, versionIdentifier } = run;
  printErr(`Training ${arn}${versionIdentifier ? ` version ${versionIdentifier}` : ''} in this process; Ctrl-C cancels it.`);
  const onInt = () => {
    printErr('Cancelling…');
    const membershipIdentifier = svc.trainedModels.get(arn, versionIdentifier)?.body.membershipIdentifier ?? svc.settings.defaultMembershipId;
    void svc.cancelTrainedModel({ membershipIdentifier, trainedModelArn: arn, versionIdentifier }).catch(() => undefined);
  };
  process.on('SIGINT', onInt);
  await svc.waitForRuns(arn, versionIdentifier);
  process.off('SIGINT', onInt);
  const r = svc.trainedModels.get(arn, versionIdentifier);
  printErr(`Trained model ${r?.body.status ?? 'unknown'}${r?.body.statusDetails ? `: ${r.body.statusDetails.statusCode} ${r.body.statusDetails.message ?? ''}` : ''}`);
}

/** An inference job lives in this process as a run does: kept until it ends, Ctrl-C cancels it. */
async function followInferenceJob({ trainedModelInferenceJobArn: arn }: { trainedModelInferenceJobArn: string }): Promise<void> {
  const svc = service!;
  printErr(`Running inference job ${arn} in this process; Ctrl-C cancels it.`);
  const onInt = () => {
    printErr('Cancelling…');
    const membershipIdentifier = svc.inference.get(arn)?.membershipIdentifier ?? svc.settings.defaultMembershipId;
    void svc.cancelTrainedModelInferenceJob({ membershipIdentifier, trainedModelInferenceJobArn: arn }).catch(() => undefined);
  };
  process.on('SIGINT', onInt);
  await svc.waitForInferenceJobs(arn);
  process.off('SIGINT', onInt);
  const job = svc.inference.get(arn);
  printErr(`Inference job ${job?.status ?? 'unknown'}${job?.statusDetails ? `: ${job.statusDetails.statusCode} ${job.statusDetails.message ?? ''}` : ''}`);
}

export async function main(argv: string[]): Promise<number> {
  // One command per process, but a resident worker runs a rehearsal first (bundle-entry.ts): nothing carries over.
  fromEnv = undefined;
  commandExit = undefined;
  service = undefined;
  logger = undefined;
  currentOperation = '';
  stdout = new LineOutput(process.stdout);
  stderr = new LineOutput(process.stderr);
  const program = new Command('crml')
    .description('cleanrooms-ml-local: AWS Clean Rooms ML custom-model training on this machine')
    .option('--data-dir <dir>', 'where the store and artifacts live (default ~/.cleanrooms-ml-local, or $CRML_DATA_DIR)')
    .option('--log-level <level>', `the runner's own log on stderr: ${LOG_LEVELS.join(', ')} (default $CRML_LOG_LEVEL, else warn)`)
    .exitOverride()
    .configureOutput({ writeOut: (s) => void stdout.write(s)?.catch(() => undefined), writeErr: (s) => void stderr.write(s)?.catch(() => undefined) });
  program.hook('preAction', async (_p, action) => {
    currentOperation = action.name();
    await makeLogger(program);
  });

  addOperationCommands(program, {
    service: () => getService(program),
    print,
    afterCreateTrainedModel: followRun,
    afterStartInferenceJob: followInferenceJob,
    defaultOutput: () => envSettings().cliOutput,
    terminalWidth: () => (process.stdout.isTTY ? process.stdout.columns : 80),
  }, (command) => argv.includes(command)); // the command run (or asked for help: `crml help get-trained-model`)

  program
    .command('train')
    .description('build (or take) an image, train it on local channels and follow the run live, ending with a summary')
    .option('-f, --file <job.yaml>', 'a job file (YAML or JSON) with the same fields; flags override it')
    .option('--image <uri>', 'the training image')
    .option('--build <dir>', 'build the image from this folder (its Dockerfile) through the engine, offline')
    .option('--build-arg <K=V>', 'a build argument (repeatable)', collect, [])
    .option('--dockerfile <path>', "the Dockerfile's path inside the build folder (default Dockerfile)")
    .option('--channel <name=path>', 'a channel: a folder, a single file, or sql:SELECT … over the workspace (repeatable)', collect, [])
    .option('--name <name>', "the trained model's name (default train-<timestamp>)")
    .option('--hyperparameters <K=V,…>', 'hyperparameters as K=V,K2=V2 or a JSON object')
    .option('--environment <K=V,…>', 'environment variables as K=V,K2=V2 or a JSON object')
    .option('--instance-type <type>', 'the instance type (default ml.m5.large)')
    .option('--instance-count <n>', 'how many instances (default 1)')
    .option('--input-mode <mode>', 'File, FastFile or Pipe')
    .option('--max-runtime <seconds>', 'the stopping condition')
    .option('--volume-size <GB>', 'volumeSizeInGB (default 10)')
    .option('--metric <name=regex>', "a metric definition, e.g. 'loss=loss: ([0-9.]+)' (repeatable)", collect, [])
    .option('--entrypoint <words>', 'the entrypoint, as a JSON array or words separated by spaces')
    .option('--watch', 're-build and re-train when the --build folder changes (the run going on is cancelled)')
    .action(async (o: TrainFlags) => {
      const { trainCommand } = await import('./commands/train.js');
      commandExit = await trainCommand(
        { service: () => getService(program), stdout, printErr, isTTY: Boolean(process.stdout.isTTY), columns: () => process.stdout.columns || 80 },
        o,
      );
    });

  program
    .command('serve')
    .description('serve the REST-JSON API for the AWS CLI and boto3 (--endpoint-url)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--port <port>', 'port (0 picks a free one)', '8080')
    .option('--access-key-id <id>', 'require SigV4 signatures made with this key (or $CRML_ACCESS_KEY_ID)')
    .option('--secret-access-key <secret>', 'its secret (or $CRML_SECRET_ACCESS_KEY)')
    .option('--local-data-root <dir>', 'a folder localDataSource may name over HTTP (repeatable; none: refused)', collect, [])
    .option('--allow-origin <origin>', 'a browser Origin to answer, e.g. https://app.example (repeatable; * for any)', collect, [])
    .option('--allow-host <name>', 'a Host name to answer besides loopback addresses and localhost (repeatable)', collect, [])
    .action(async (o: { host: string; port: string; accessKeyId?: string; secretAccessKey?: string; localDataRoot: string[]; allowOrigin: string[]; allowHost: string[] }) => {
      const port = Number(o.port);
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port: '${o.port}' is not a port number`);
      // Loaded on demand: the HTTP layer is not needed by the other commands.
      const { serve } = await import('./commands/serve.js');
      // The credentials come from the environment without creating the service: it takes over dead runs.
      const sigv4 = envSettings().sigv4;
      await serve(
        () => getService(program),
        {
          host: o.host,
          port,
          accessKeyId: o.accessKeyId ?? sigv4.accessKeyId,
          secretAccessKey: o.secretAccessKey ?? sigv4.secretAccessKey,
          localDataRoots: o.localDataRoot,
          allowOrigins: o.allowOrigin,
          allowHosts: o.allowHost,
        },
        (s) => void print(s)?.catch(() => undefined),
        printErr,
      );
    });

  program
    .command('reconcile')
    .description('take over runs whose process died: re-attach, finish or fail them, and wait until they end')
    .action(async () => {
      const svc = getService(program);
      await svc.reconciled;
      await svc.waitForRuns();
    });

  program
    .command('artifacts <trainedModel>')
    .description("copy a trained model's model.tar.gz, output.tar.gz and manifest.json (an inference job's output.tar.gz) to a folder")
    .requiredOption('--to <dir>', 'destination folder')
    .option('--version-identifier <id>', 'a version of the trained model')
    .action(async (trainedModel: string, o: { to: string; versionIdentifier?: string }) => {
      for (const f of await copyArtifacts(getService(program), trainedModel, o)) await print(f);
    });

  program
    .command('logs <trainedModel>')
    .description("print a trained model's or an inference job's container log lines (an ARN, id or name)")
    .option('--follow', 'keep printing until the run ends')
    .option('--as-account <id>', "what this account sees under the association's privacy policy")
    .option('--host <host>', 'only this host (algo-1, …)')
    .option('--version-identifier <id>', 'a version of the trained model')
    .action(async (trainedModel: string, o: { follow?: boolean; asAccount?: string; host?: string; versionIdentifier?: string }) => {
      await printLogs(getService(program), trainedModel, o, print, (page) => stdout.bytes(page));
    });

  program
    .command('metrics <trainedModel>')
    .description("print a trained model's metric data points")
    .option('--output <format>', 'table or json', 'table')
    .option('--as-account <id>', "what this account sees under the association's privacy policy")
    .option('--version-identifier <id>', 'a version of the trained model')
    .action(async (trainedModel: string, o: { output?: string; asAccount?: string; versionIdentifier?: string }) => {
      await printMetrics(getService(program), trainedModel, o, print);
    });

  // Colour only on a terminal; charts as wide as the terminal, else 80 columns.
  const terminalStyle = () => ({ color: Boolean(process.stdout.isTTY), width: process.stdout.isTTY ? process.stdout.columns : 80 });

  program
    .command('report <trainedModel>')
    .description("a trained model's run: its facts and a chart per metric, in the terminal or as one HTML file")
    .option('--version-identifier <id>', 'a version of the trained model')
    .option('--html <file>', 'write a self-contained HTML page (opens offline) instead')
    .addHelpText('after', `\nExample:\n  $ ${REPORT_EXAMPLE}\n`)
    .action(async (trainedModel: string, o: { versionIdentifier?: string; html?: string }) => {
      await printReport(getService(program), trainedModel, o, terminalStyle(), print);
    });

  program
    .command('compare <trainedModels...>')
    .description('trained models side by side: differing hyperparameters, final metrics, durations, overlaid charts')
    .option('--html <file>', 'write a self-contained HTML page (opens offline) instead')
    .addHelpText('after', `\nExample:\n  $ ${COMPARE_EXAMPLE}\n`)
    .action(async (trainedModels: string[], o: { html?: string }) => {
      await printComparison(getService(program), trainedModels, o, terminalStyle(), print);
    });

  program
    .command('check <spec...>')
    .description('run the training cases of a spec (YAML or JSON) and check how they end; JUnit XML for CI')
    .option('--junit <file>', 'write a JUnit XML report here')
    .option('--parallel <n>', 'how many cases run at once', '1')
    .action(async (specs: string[], o: { junit?: string; parallel?: string }) => {
      // Loaded on demand: the check's modules (YAML, the JUnit writer) are not needed by the other commands.
      const { check } = await import('./commands/check.js');
      const settings = envSettings();
      commandExit = await check(specs, o, {
        settings,
        dataDir: program.opts<{ dataDir?: string }>().dataDir,
        logger: logger ?? pino({ level: settings.logLevel }, process.stderr),
        print,
        printErr,
      });
    });

  groupCommandsInHelp(program);

  let code: number;
  try {
    await program.parseAsync(argv, { from: 'user' });
    code = commandExit ?? 0;
  } catch (e) {
    code = report(e);
  } finally {
    // Set by the command's actions (getService), which the compiler does not follow from here.
    await (service as CleanRoomsMLLocal | undefined)?.close().catch(() => undefined);
  }
  // The caller exits the process, which drops whatever stdout and stderr still hold.
  await Promise.all([stdout.flushed(), stderr.flushed()]);
  return code;
}

/** The one place that maps errors to messages and exit codes. */
function report(e: unknown): number {
  if (e instanceof CommanderError) {
    return e.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (e instanceof CleanRoomsMLServiceException) {
    const op = (Object.keys(operations) as string[]).find((o) => kebabName(o) === currentOperation) ?? currentOperation;
    printErr(`\nAn error occurred (${e.name}) when calling the ${op} operation: ${e.message}`);
    return EXIT_SERVICE;
  }
  // The reader of stdout went away (`crml logs … | head`): it has what it wanted.
  if (e instanceof OutputClosedError) return 0;
  if (e instanceof UsageError || e instanceof SettingsError) {
    printErr(`crml: ${e.message}`);
    return EXIT_USAGE;
  }
  printErr(`crml: internal error: ${(e as Error)?.stack ?? String(e)}`);
  return EXIT_INTERNAL;
}

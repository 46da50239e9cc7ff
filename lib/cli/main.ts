/** The `specfuse` command line. */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { demoHelp, evalHelp, infnEvalHelp, infnTrainHelp, inferHelp, infoHelp, metricsHelp, trainHelp, wantsInfn } from './help.js';

type Run = (argv: string[]) => Promise<void | number>;

// Each command's code is imported only when it runs: the addon and libtorch load with the first one, and
// `specfuse info` does not pay for the readers, writers and trainers of the others.
// run() resolves to the exit code when it is not 0 (e.g. 130/143: training stopped by a signal).
// printsOnly: the command writes nothing but its output, so the process may end without libtorch's
// exit-time teardown (about 0.15 s; native exitNow).
const commands: Record<string, { run: Run; help: string; printsOnly?: boolean }> = {
  demo: { run: async (argv) => (await import('./demo-command.js')).demo(argv), help: demoHelp },
  info: { run: async (argv) => (await import('./info.js')).info(argv), help: infoHelp, printsOnly: true },
  train: { run: async (argv) => (await import('./train.js')).trainCommand(argv), help: trainHelp },
  infer: { run: async (argv) => (await import('./infer.js')).inferCommand(argv), help: inferHelp },
  eval: { run: async (argv) => (await import('./eval.js')).evaluate(argv), help: evalHelp },
  metrics: { run: async (argv) => (await import('./metrics.js')).metrics(argv), help: metricsHelp },
};

/** The first sentence of a command's description (the paragraph after its usage line). */
function summary(help: string): string {
  const text = help.split('\n\n')[1]?.replace(/\s+/g, ' ') ?? '';
  const end = text.search(/[.:](\s|$)/);
  return end > 0 ? text.slice(0, end) : text;
}

const usage = `specfuse <command> [options]

Commands:
${Object.entries(commands)
  .map(([name, c]) => `  ${name.padEnd(8)} ${summary(c.help)}`)
  .join('\n')}

Run 'specfuse <command> --help' for the options of a command; 'specfuse --version' for the version.`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-v') {
    console.log(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage);
    return name ? 0 : 1;
  }
  const cmd = commands[name];
  if (!cmd) {
    console.error(`specfuse: unknown command '${name}'\n\n${usage}`);
    return 2;
  }
  try {
    return (await cmd.run(rest)) ?? 0;
  } catch (e) {
    if (e instanceof UsageError) {
      // `train|eval --model infn` take other options: show the help of what was run
      const infn = wantsInfn(rest) && { train: infnTrainHelp, eval: infnEvalHelp }[name];
      console.error(`specfuse ${name}: ${e.message}\n\n${infn || cmd.help}`);
      return 2;
    }
    console.error(`specfuse ${name}: ${(e as Error).message}`);
    return 1;
  }
}

const argv = process.argv.slice(2);
process.exitCode = await main(argv);
if (commands[argv[0] ?? '']?.printsOnly) {
  // the addon may be what failed to load: then exit as usual
  const loaded = await import('../native.js').catch(() => undefined);
  loaded?.native.exitNow(process.exitCode);
}

/** The `specfuse` command line. */
import { readFileSync } from 'node:fs';
import { UsageError } from './args.js';
import { info, infoHelp } from './info.js';
import { demo, demoHelp } from './demo-command.js';
import { trainCommand, trainHelp } from './train.js';
import { inferCommand, inferHelp } from './infer.js';
import { evaluate, evalHelp } from './eval.js';
import { metrics, metricsHelp } from './metrics.js';
import { infnEvalHelp, infnTrainHelp, wantsInfn } from './infn-commands.js';

// run() resolves to the exit code when it is not 0 (e.g. 130/143: training stopped by a signal)
const commands: Record<string, { run: (argv: string[]) => Promise<void | number>; help: string }> = {
  demo: { run: demo, help: demoHelp },
  info: { run: info, help: infoHelp },
  train: { run: trainCommand, help: trainHelp },
  infer: { run: inferCommand, help: inferHelp },
  eval: { run: evaluate, help: evalHelp },
  metrics: { run: metrics, help: metricsHelp },
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

process.exitCode = await main(process.argv.slice(2));

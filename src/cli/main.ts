import { Command, CommanderError } from 'commander';
import { TrainyardError } from '../core/errors.js';
import { registerBackfillCommand, registerDagCommands } from './commands/dags.js';
import { registerApiServerCommand } from './commands/api-server.js';
import { registerModelCommands } from './commands/models.js';
import { registerDbCommands } from './commands/db.js';
import { registerRunCommands } from './commands/runs.js';
import { registerServeCommands } from './commands/standalone.js';
import { registerTaskCommands } from './commands/tasks.js';
import type { GlobalOptions } from './context.js';
import { UsageError } from './format.js';
import { VERSION } from '../version.js';

const program = new Command('trainyard')
  .description('Trainyard: ML training pipelines as TypeScript DAGs')
  .option('--home <dir>', 'state directory (env TRAINYARD_HOME, default ./.trainyard)')
  .option('--dags <dir>', 'DAG folder (env TRAINYARD_DAGS_FOLDER, default ./dags)')
  .option('--server <url>', 'act on a remote server through its API (env TRAINYARD_SERVER): trigger, pause, clear, mark')
  .option('--token <token>', 'API token for --server (env TRAINYARD_TOKEN)')
  .showHelpAfterError()
  .exitOverride();

const globals = (): GlobalOptions => program.opts<GlobalOptions>();
registerServeCommands(program, globals);
registerDagCommands(program, globals);
registerBackfillCommand(program, globals);
registerApiServerCommand(program, globals);
registerModelCommands(program, globals);
registerRunCommands(program, globals);
registerTaskCommands(program, globals);
registerDbCommands(program, globals);
program
  .command('version')
  .description('print the version')
  .action(() => {
    process.stdout.write(`trainyard ${VERSION}\n`);
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : 2;
  } else if (e instanceof TrainyardError || e instanceof UsageError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  } else {
    process.stderr.write(`error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = 1;
  }
}
